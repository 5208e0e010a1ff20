"""Relay Wizard for Microsoft 365: launcher. Everything lives in wizard.app."""

import sys

from wizard.app import main

if __name__ == "__main__":
    sys.exit(main())
