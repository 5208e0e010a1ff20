"""Pure domain: no Qt, no I/O. Imports nothing else of the wizard."""
