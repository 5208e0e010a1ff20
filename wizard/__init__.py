"""Relay Wizard for Microsoft 365."""

__version__ = "0.1.0"
APP_NAME = "Relay Wizard for Microsoft 365"
APP_ID = "relay-wizard"
ORG_NAME = "Relay Wizard"
