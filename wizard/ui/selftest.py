"""`python main.py self-test [--out DIR]`: prove the GUI works on this machine.

Offscreen, without any dialog: starts the sandbox tenant, builds the wizard with a
sample site in it, walks every registered page, saves a screenshot of each
(`NN-page.png`) and checks it reads back; reports the keyring backend. Exit code 0
when every step passed, 1 otherwise.

The steps are a list: later parts add theirs (render a sample sheet...) with
`STEPS.insert(...)`/`append(Step("name", function))`; the function takes the
`SelfTest` context and returns a one-line result or raises. Walking the pages calls
each page's initializePage against the sandbox, so a page must not open a browser
or a modal dialog there.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.core.clouds import CloudId
from wizard.core.errors import WizardError
from wizard.core.methods import Method, Tri
from wizard.core.profile import Printer, Site, SiteProfile


def sample_profile(domain: str = "contoso.com", public_ip: str = "203.0.113.7") -> SiteProfile:
    """A realistic small office: what the screenshots and the self-test show."""
    return SiteProfile(
        site=Site(
            name="Contoso Dental – Main office",
            domain=domain,
            cloud=CloudId.WORLDWIDE,
            public_ip=public_ip,
            external_recipients=Tri.YES,
            static_ip=Tri.YES,
            port25_open=Tri.UNKNOWN,
            daily_volume=120,
        ),
        method=Method.CONNECTOR,
        printers=(
            Printer(
                name="Reception scanner",
                vendor="canon",
                model="imageRUNNER ADVANCE DX",
                location="Front desk",
                sender=f"scanner@{domain}",
                tls12=Tri.YES,
                smtp_auth=Tri.YES,
                oauth=Tri.UNKNOWN,
            ),
            Printer(
                name="Back office MFP",
                vendor="hp",
                model="LaserJet Enterprise",
                location="Back office",
                sender=f"mfp@{domain}",
                tls12=Tri.YES,
                smtp_auth=Tri.YES,
                oauth=Tri.NO,
            ),
        ),
    )


@dataclass
class SelfTest:
    """What the steps share."""

    out_dir: Path
    say: Callable[[str], None]
    screenshots: list[Path] = field(default_factory=list)
    app: Any = None
    # Starts the sandbox tenant (wizard.app.start_sandbox: the UI never imports it)...
    start_sandbox: Callable[[], Any] | None = None
    # ...and the running one (wizard.sandbox.server.Sandbox) between its steps.
    sandbox: Any = None


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[SelfTest], str]


# Pages the sample site alone must complete (the ones after wait for the user).
_COMPLETE_WITH_SAMPLE = {"WELCOME", "SITE", "METHOD"}


def _qt_platform(ctx: SelfTest) -> str:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(
            [
                sys.argv[0] if sys.argv else "relay-wizard",
                "-platform",
                os.environ["QT_QPA_PLATFORM"],
            ]
        )
    ctx.app = app
    assert isinstance(app, QApplication)
    from wizard.ui.gc_guard import install

    # The sandbox's threads run beside the pages: collect garbage on this thread only.
    install(app)
    screen = app.primaryScreen()
    ratio = screen.devicePixelRatio() if screen is not None else 1.0
    return f"{app.platformName()}, scale {ratio:g}"


def _keyring(_ctx: SelfTest) -> str:
    from wizard.services.secrets import SecretStore

    return SecretStore().describe_backend()


def _vendor_catalog(_ctx: SelfTest) -> str:
    from wizard.services.vendors import load_catalog

    return f"{len(load_catalog())} vendors"


def _wizard_pages(ctx: SelfTest) -> str:
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QApplication

    from wizard.ui.session import WizardSession
    from wizard.ui.settings import UiSettings
    from wizard.ui.wizard import PageId, RelayWizard

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    if ctx.sandbox is None:
        raise RuntimeError(
            "the sandbox tenant did not start, and pages must not reach the internet"
        )
    state = ctx.sandbox.state
    session = WizardSession(
        ctx.sandbox.cloud, sample_profile(state.default_domain, state.site_public_ip)
    )
    # The size of a first start on this (virtual) screen, no saved size: the
    # screenshots show what a user sees then.
    wizard = RelayWizard(session, settings=UiSettings(), remember_size=False)
    scrolling: list[str] = []
    try:
        wizard.show()
        wizard.restart()
        visited: list[str] = []
        seen: set[int] = set()

        def walk() -> None:
            """From the current page to the last of its path; a screenshot of each new one."""
            for _ in range(len(wizard.pageIds()) + 1):
                app.processEvents()
                page = wizard.currentPage()
                page_id = wizard.current_page_id()
                name = page_id.name.lower().replace("_", "-")
                if int(page_id) not in seen:
                    seen.add(int(page_id))
                    path = ctx.out_dir / f"{len(visited) + 1:02d}-{name}.png"
                    if not wizard.grab().save(str(path)):
                        raise RuntimeError(f"could not write {path}")
                    image = QImage(str(path))
                    if image.isNull() or image.width() < 100 or image.height() < 100:
                        raise RuntimeError(f"{path.name} does not read back as an image")
                    ctx.screenshots.append(path)
                    visited.append(name)
                    area = getattr(page, "scroll_area", None)
                    if area is not None and area.verticalScrollBar().maximum() > 0:
                        scrolling.append(name)
                if page.nextId() == -1:
                    return
                if page_id.name in _COMPLETE_WITH_SAMPLE and not page.isComplete():
                    reason = getattr(page, "incomplete_reason", lambda: None)()
                    raise RuntimeError(
                        f"the {name} page is not complete with the sample site: {reason}"
                    )
                # Later pages wait for the user (sign in, send): visit them anyway.
                wizard.next()
                if wizard.current_page_id() == page_id:
                    raise RuntimeError(f"the wizard did not move on from the {name} page")

        walk()
        # The side paths chosen on Welcome (Troubleshoot, Audit).
        from wizard.ui.navigation import METHOD_ONLY, Route
        from wizard.ui.pages.welcome import START_ROUTES, StartMode, WelcomePage

        welcome = wizard.page_for(PageId.WELCOME)
        if isinstance(welcome, WelcomePage):
            for mode in (m for m, route in START_ROUTES.items() if route is not Route.MAIN):
                wizard.restart()
                welcome.set_mode(mode)
                walk()
            # Steps of one method only (the local relay's) are on that method's path.
            for method in dict.fromkeys(METHOD_ONLY.values()):
                if any(int(p) not in seen for p, m in METHOD_ONLY.items() if m is method):
                    session.set_method(method)
                    wizard.restart()
                    welcome.set_mode(StartMode.NEW)
                    walk()
        missing = set(wizard.pageIds()) - seen
        if missing:
            raise RuntimeError(
                "pages never reached: " + ", ".join(wizard.page(i).title() for i in sorted(missing))
            )
        size = wizard.size()
        return (
            f"{len(visited)} pages at {size.width()}x{size.height()}: "
            + ", ".join(visited)
            + "; scrolling: "
            + (", ".join(scrolling) or "none")
        )
    finally:
        # Nothing to discard in a self-test: close without asking.
        session.adopt(session.profile, session.profile_path)
        wizard.done(0)
        wizard.deleteLater()
        app.processEvents()


def _sample_sheet(ctx: SelfTest) -> str:
    """A settings sheet PDF: Qt's PDF writer, fonts, the vector QR code and the catalog."""
    from datetime import date

    from wizard.core.clouds import CLOUDS, CloudId
    from wizard.core.sheet import build_site_sheets
    from wizard.export.sheets import write_sheets_pdf
    from wizard.services.vendors import vendor_by_id

    sheets = build_site_sheets(
        sample_profile(), CLOUDS[CloudId.WORLDWIDE], vendor_by_id, today=date.today()
    )
    path = write_sheets_pdf(sheets, ctx.out_dir / "sample-sheets.pdf")
    data = path.read_bytes()
    if not data.startswith(b"%PDF") or b"/FontFile" not in data:
        raise RuntimeError(f"{path.name} is not a PDF with embedded fonts")
    return f"{len(sheets)} pages, {len(data) // 1024} KiB: {path.name}"


def _start_sandbox(ctx: SelfTest) -> str:
    if ctx.start_sandbox is None:
        raise RuntimeError("no sandbox to start (the launcher wires it in: wizard.app)")
    ctx.sandbox = ctx.start_sandbox()
    return f"{ctx.sandbox.state.default_domain} on 127.0.0.1"


def _test_message(ctx: SelfTest) -> str:
    """Direct send to the sandbox's MX: smtplib, STARTTLS and certificate checks work."""
    from wizard.core.device_settings import device_settings
    from wizard.core.methods import Method
    from wizard.services.smtp_test import SendTestRequest, SmtpTest

    if ctx.sandbox is None:
        raise RuntimeError("the sandbox tenant did not start")
    cloud = ctx.sandbox.cloud
    domain = ctx.sandbox.state.default_domain
    sender = f"scanner@{domain}"
    settings = device_settings(Method.DIRECT_SEND, cloud, domain=domain, sender=sender)
    request = SendTestRequest.from_settings(settings, [sender], cloud=cloud, timeout=10)
    result = SmtpTest(request).run()
    if not result.sent or result.tls is None:
        raise RuntimeError(f"{result.verdict.title}: {result.detail or result.reply}")
    return f"accepted over {result.tls.version}, certificate verified"


def _stop_sandbox(ctx: SelfTest) -> str:
    if ctx.sandbox is None:
        return "was not running"
    ctx.sandbox.stop()
    ctx.sandbox = None
    return "stopped"


STEPS: list[Step] = [
    Step("Qt", _qt_platform),
    Step("Keyring", _keyring),
    Step("Vendor catalog", _vendor_catalog),
    Step("Sample sheet", _sample_sheet),
    Step("Sandbox start", _start_sandbox),
    Step("Wizard pages", _wizard_pages),
    Step("Test message", _test_message),
    Step("Sandbox stop", _stop_sandbox),
]


def _say(line: str) -> None:
    # A windowed build on Windows has no console: sys.stdout is None there.
    if sys.stdout is not None:
        print(line, flush=True)


def run_self_test(out_dir: str | None, start_sandbox: Callable[[], Any]) -> int:
    """Every step; `start_sandbox` starts the sandbox tenant the pages run against."""
    if not os.environ.get("QT_QPA_PLATFORM"):
        # Before any QApplication exists; an empty value is not the same as unset.
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    folder = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="relay-wizard-selftest-"))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _say(f"FAILED: cannot create the output folder {folder}: {exc.strerror or exc}")
        return 1
    ctx = SelfTest(folder, _say, start_sandbox=start_sandbox)
    _say(f"Relay Wizard self-test; screenshots in {folder}")
    failed = 0
    try:
        failed = _run_steps(ctx)
    finally:
        if ctx.sandbox is not None:  # a step failed between start and stop
            ctx.sandbox.stop()
    if failed:
        _say(f"Self-test FAILED: {failed} of {len(STEPS)} steps.")
        return 1
    _say(f"Self-test passed: {len(STEPS)} steps.")
    return 0


def _run_steps(ctx: SelfTest) -> int:
    failed = 0
    for step in STEPS:
        started = time.monotonic()
        try:
            result = step.run(ctx)
        except WizardError as exc:
            failed += 1
            _say(f"FAILED  {step.name}: {exc.plain()}")
        except Exception as exc:  # noqa: BLE001 - a self-test reports every failure
            failed += 1
            _say(f"FAILED  {step.name}: {type(exc).__name__}: {exc}")
            _say("".join(traceback.format_exception(exc)).rstrip())
        else:
            _say(f"ok      {step.name}: {result} ({time.monotonic() - started:.2f} s)")
    return failed
