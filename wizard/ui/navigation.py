"""Where the wizard can go, in one place: the steps, the main path, the side routes,
which page fixes which step, and the small protocol pages use to move.

Pages never walk the wizard's history, call it through `getattr`, or import each
other to move: a page asks `self.navigator()` (wizard/ui/pages/base.py) and uses the
`Navigator` methods below. `RelayWizard` (wizard/ui/wizard.py) is the one Navigator.

A jump ("Fix in Method", the Test page's "Go to <step>") keeps the way back:
on a page entered by a jump, Next and Back both return to the page that jumped, and
that page then re-runs the check that sent the technician away
(`WizardPage.returned_from_fix`). A step already in this run's history is reached by going
back to it; Next then walks the path forward again to the page that jumped. The step
list beside the pages moves without a jump (`RelayWizard.walk_to`): back through the
history, or forward while every page on the way is complete.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum, IntEnum
from typing import Protocol, runtime_checkable

from wizard.core.i18n import tr
from wizard.core.methods import Method
from wizard.core.steps import STEP_TITLES, WizardStep


class PageId(IntEnum):
    """Every step of DESIGN.md's path, in walking order. Only registered ones show."""

    WELCOME = 0
    SITE = 1
    METHOD = 2
    SIGN_IN = 3
    TENANT = 4
    PLAN = 5
    DNS = 6
    # The local relay's own step, on the path only for that method (METHOD_ONLY). Its
    # number comes last so no other step's changes; the path follows this listing.
    RELAY = 13
    TEST = 7
    SHEETS = 8
    # The end of the path: what was done (from the session journal), the device
    # settings, and "Save profile".
    SUMMARY = 10
    # Side paths chosen on Welcome (see Route), not on the main path.
    TROUBLESHOOT = 11
    AUDIT = 12


class Route(Enum):
    """The ways through the wizard that Welcome offers."""

    MAIN = "main"
    TROUBLESHOOT = "troubleshoot"
    AUDIT = "audit"


SIDE_PAGES: frozenset[PageId] = frozenset({PageId.TROUBLESHOOT, PageId.AUDIT})
PATH: tuple[PageId, ...] = tuple(p for p in PageId if p not in SIDE_PAGES)
# Steps on the path only for one method.
METHOD_ONLY: dict[PageId, Method] = {PageId.RELAY: Method.LOCAL_RELAY}
# Steps the path leaves out for a method: the Relay step sends its own test message
# through the relay, the way the device will, instead of the Test message step.
SKIPPED_FOR: dict[PageId, frozenset[Method]] = {
    PageId.TEST: frozenset({Method.LOCAL_RELAY}),
}


def on_path(page_id: PageId, method: Method | None) -> bool:
    """Whether the step belongs to the path for this method (every step, by default)."""
    only = METHOD_ONLY.get(page_id)
    if only is not None and method is not only:
        return False
    return method is None or method not in SKIPPED_FOR.get(page_id, frozenset())


# Troubleshoot and Audit go through Sign in (optional for Troubleshoot).
ROUTES: dict[Route, tuple[PageId, ...]] = {
    Route.MAIN: PATH,
    Route.TROUBLESHOOT: (PageId.WELCOME, PageId.SIGN_IN, PageId.TROUBLESHOOT),
    Route.AUDIT: (PageId.WELCOME, PageId.SIGN_IN, PageId.AUDIT),
}

# The page that applies each fix (WizardStep.OUTSIDE has none).
STEP_PAGES: dict[WizardStep, PageId] = {
    WizardStep.SITE: PageId.SITE,
    WizardStep.METHOD: PageId.METHOD,
    WizardStep.SIGN_IN: PageId.SIGN_IN,
    WizardStep.TENANT: PageId.TENANT,
    WizardStep.PLAN: PageId.PLAN,
    WizardStep.DNS: PageId.DNS,
    WizardStep.RELAY: PageId.RELAY,
    WizardStep.TEST: PageId.TEST,
    WizardStep.SHEETS: PageId.SHEETS,
}
PAGE_STEPS: dict[PageId, WizardStep] = {page: step for step, page in STEP_PAGES.items()}


def step_name(page_id: PageId) -> str:
    """The step's short name for the step list (translated when asked, not at import)."""
    step = PAGE_STEPS.get(page_id)
    if step is not None:
        return STEP_TITLES[step]
    return {
        PageId.WELCOME: tr("Welcome"),
        PageId.SUMMARY: tr("Summary"),
        PageId.TROUBLESHOOT: tr("Troubleshoot"),
        PageId.AUDIT: tr("Relay audit"),
    }.get(page_id, page_id.name.title())


def page_for_step(step: WizardStep | None) -> PageId | None:
    return STEP_PAGES.get(step) if step is not None else None


def next_on(
    route: Iterable[PageId],
    current: PageId,
    registered: Iterable[int],
    method: Method | None = None,
) -> int:
    """The next page of `route` after `current` that exists and is on the path for
    `method`, or -1 (the last page)."""
    steps = tuple(route)
    if current not in steps:
        return -1
    have = set(registered)
    for page_id in steps[steps.index(current) + 1 :]:
        if int(page_id) in have and on_path(page_id, method):
            return int(page_id)
    return -1


def next_registered(
    current: PageId, registered: Iterable[int], method: Method | None = None
) -> int:
    """The next page on the main path (for `method`) that exists, or -1 (the last page)."""
    return next_on(PATH, current, registered, method)


@runtime_checkable
class Navigator(Protocol):
    """What a page may ask of the wizard to move."""

    @property
    def pages_pending(self) -> bool:
        """The later pages are still being added (the launcher shows the window first)."""
        ...

    @property
    def route(self) -> Route: ...

    def set_route(self, route: Route) -> None:
        """Walk `route` from Welcome (Route.MAIN: every registered page of the path)."""
        ...

    def route_next(self, page_id: PageId) -> int | None:
        """The page after `page_id` on the route or jump; None: the main path decides."""
        ...

    def can_go_to(self, target: PageId) -> bool:
        """Whether a jump to `target` would land there (registered, not current)."""
        ...

    def go_to(self, target: PageId) -> bool:
        """Jump to `target`; the way back returns here and re-runs this page's check."""
        ...

    def walk_to(self, target: PageId) -> bool:
        """Go to a step of the route without a way back (the step list, "Go to Sheets"
        after a passed test): back through the history or forward page by page."""
        ...
