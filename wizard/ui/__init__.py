"""Qt widgets: the wizard, its pages and small widgets."""
