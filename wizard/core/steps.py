"""The wizard's steps by name, so `core` can say which step fixes a finding.

The UI maps these to its pages; `core` and `services` must not know about pages.
"""

from __future__ import annotations

from enum import StrEnum

from wizard.core.i18n import tr


class WizardStep(StrEnum):
    SITE = "site"
    METHOD = "method"
    SIGN_IN = "sign-in"
    TENANT = "tenant"
    PLAN = "plan"
    DNS = "dns"
    RELAY = "relay"  # the local relay's own step (method local-relay only)
    TEST = "test"
    SHEETS = "sheets"
    OUTSIDE = "outside"  # fixed outside the wizard (device firmware, ISP, Microsoft)


STEP_TITLES: dict[WizardStep, str] = {
    WizardStep.SITE: tr("Site and devices"),
    WizardStep.METHOD: tr("Method"),
    WizardStep.SIGN_IN: tr("Sign in"),
    WizardStep.TENANT: tr("Tenant check"),
    WizardStep.PLAN: tr("Plan and apply"),
    WizardStep.DNS: tr("DNS"),
    WizardStep.RELAY: tr("Local relay"),
    WizardStep.TEST: tr("Test message"),
    WizardStep.SHEETS: tr("Sheets"),
    WizardStep.OUTSIDE: tr("Outside the wizard"),
}
