"""PDF sheets and reports: QtGui painting, no widgets."""
