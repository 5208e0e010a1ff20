"""The wizard's pages. Adding a page: write its module, then import it and list it here.

The order of this list does not matter: `PageId` orders the path, and the wizard
skips the steps that have no page yet.
"""

from __future__ import annotations

from wizard.ui.pages.audit import AuditPage
from wizard.ui.pages.base import WizardPage
from wizard.ui.pages.dns import DnsPage
from wizard.ui.pages.method import MethodPage
from wizard.ui.pages.plan import PlanPage
from wizard.ui.pages.relay import RelayPage
from wizard.ui.pages.sheets import SheetsPage
from wizard.ui.pages.signin import SignInPage
from wizard.ui.pages.site import SitePage
from wizard.ui.pages.summary import SummaryPage
from wizard.ui.pages.tenant import TenantPage
from wizard.ui.pages.test_message import TestMessagePage
from wizard.ui.pages.troubleshoot import TroubleshootPage
from wizard.ui.pages.welcome import WelcomePage

PAGES: tuple[type[WizardPage], ...] = (
    WelcomePage,
    SitePage,
    MethodPage,
    SignInPage,
    TenantPage,
    PlanPage,
    DnsPage,
    RelayPage,
    TestMessagePage,
    SheetsPage,
    SummaryPage,
    TroubleshootPage,
    AuditPage,
)
