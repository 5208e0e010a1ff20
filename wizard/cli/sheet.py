"""`python main.py sheet PROFILE.json -o OUT.pdf`: the printers' settings sheets as PDF.

Offscreen: a QGuiApplication on the offscreen platform paints the PDF; no window opens.

Exit codes: 0 written; 2 bad input (missing or damaged profile, a profile without a
method, an unknown printer name, --include-password without a password in the
keyring, an output that cannot be written); 1 the keyring refused (it is locked or
missing).

--include-password reads each signing-in printer's password from the keyring entry
(site = the profile's site name, purpose = "smtp-password:<user name>"), the same
entry the wizard saves. A missing entry stops the export with exit 2 rather than
printing a sheet without the password the user asked for.

Direct send and connector relay: the server on the sheet is the MX host the tenant
gives the domain (--mx-host, copied from the admin center), else the domain's live MX
when it points to Microsoft 365, else a guess that resolves, marked as such; never a
computed name that does not exist (stderr says which).

Local relay: the relay's address, port, security and each device's relay user name come
from the relay's settings file on this computer (--relay-config, default: the one the
wizard's Relay step saved); --include-password then prints the password the relay made
for the device (purpose "relay-device-password:<relay user name>").
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.core.clouds import Cloud, CloudId, cloud_by_id
from wizard.core.device_settings import LocalRelayAccess
from wizard.core.errors import InvalidInput, ProfileError
from wizard.core.i18n import tr
from wizard.core.methods import RELAY_METHODS, Method
from wizard.core.profile import SiteProfile
from wizard.core.relay_host import RelayHost, decide_relay_host
from wizard.core.sheet import (
    PASSWORD_METHODS,
    PrinterSheet,
    build_site_sheets,
    printer_password_purpose,
)
from wizard.core.validation import check_domain

if TYPE_CHECKING:
    from wizard.export.layout import Paper


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("profile", metavar="PROFILE.json", help="a site profile saved by the wizard")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT.pdf",
        help="the PDF to write (a folder with --one-file-per-printer)",
    )
    p.add_argument(
        "--printer",
        action="append",
        metavar="NAME",
        help="only this printer (repeat for several; default: every printer)",
    )
    p.add_argument(
        "--include-password",
        action="store_true",
        help="print the password from the keyring on the sheets (keep them safe)",
    )
    p.add_argument("--paper", choices=["a4", "letter"], default="a4", help="paper size (a4)")
    p.add_argument(
        "--one-file-per-printer",
        action="store_true",
        help="write one PDF per printer into the folder given with -o",
    )
    p.add_argument(
        "--mx-host",
        metavar="HOST",
        help=(
            "direct send and connector relay: the MX value the Microsoft 365 admin center "
            "shows for the domain (default: the domain's MX in DNS when it points to "
            "Microsoft 365)"
        ),
    )
    p.add_argument(
        "--relay-config",
        metavar="FILE",
        help="local relay: the relay's settings file (default: the one the wizard saved)",
    )
    p.add_argument(
        "--nameserver",
        metavar="HOST[:PORT]",
        help="DNS server to ask for the domain's MX (default: this computer's resolvers)",
    )


def _ensure_gui() -> object:
    # An empty QT_QPA_PLATFORM is not "unset": Qt would try xcb and fail headless.
    if not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtGui import QGuiApplication

    return QGuiApplication.instance() or QGuiApplication([sys.argv[0] if sys.argv else "relay"])


def _load(path: Path) -> SiteProfile:
    from wizard.services.profile_store import load_profile

    try:
        return load_profile(path)
    except ProfileError as exc:
        # A profile the command cannot read is bad input (exit 2), not a failed check.
        raise InvalidInput(exc.what, exc.why, exc.next_step, detail=exc.detail) from None


def _chosen(profile: SiteProfile, names: list[str] | None) -> tuple[str, ...] | None:
    if not profile.printers:
        raise InvalidInput(
            tr("This profile has no printers."),
            next_step=tr("Add the printers in the wizard, then export again."),
        )
    if not names:
        return None
    known = {p.name.casefold(): p.name for p in profile.printers}
    unknown = [n for n in names if n.casefold() not in known]
    if unknown:
        raise InvalidInput(
            tr("No printer is called {names} in this profile.").format(
                # Shortened: a name typed (or generated) by the megabyte stays one line.
                names=", ".join(f"'{_short(n)}'" for n in unknown[:5])
            ),
            next_step=tr("Printers in this profile: {names}.").format(
                names=", ".join(p.name for p in profile.printers)
            ),
        )
    return tuple(names)


def _short(text: str, most: int = 80) -> str:
    return text if len(text) <= most else text[: most - 1] + "\u2026"


def _relay_access(args: argparse.Namespace, profile: SiteProfile) -> dict[str, LocalRelayAccess]:
    """How each printer reaches the local relay, from the relay's settings file."""
    from wizard.core.relay_access import relay_access_map
    from wizard.services.relay import load_config
    from wizard.services.relay_setup import certificate_file, certificate_fingerprint

    path = Path(args.relay_config) if args.relay_config else None
    config = load_config(path, check=False)
    access = relay_access_map(
        config,
        profile.printers,
        certificate_fingerprint(certificate_file(config, path)),
    )
    missing = [p.name for p in profile.printers if p.name not in access]
    if missing:
        print(
            tr("note: the relay does not know {names} yet; add them on the Relay step.").format(
                names=", ".join(missing)
            ),
            file=sys.stderr,
        )
    return access


def _passwords(
    profile: SiteProfile,
    chosen: tuple[str, ...] | None,
    relay_access: dict[str, LocalRelayAccess] | None = None,
) -> dict[str, str]:
    from wizard.services.secrets import SecretStore

    if profile.method not in PASSWORD_METHODS:
        print(
            tr("note: this method signs in without a password; there is none to include."),
            file=sys.stderr,
        )
        return {}
    wanted = {n.casefold() for n in chosen} if chosen else None
    store = SecretStore()
    found: dict[str, str] = {}
    for printer in profile.printers:
        if wanted is not None and printer.name.casefold() not in wanted:
            continue
        purpose = printer_password_purpose(printer, (relay_access or {}).get(printer.name))
        secret = store.get(profile.site.name, purpose)
        if not secret:
            raise InvalidInput(
                tr("The keyring holds no password for {printer} ({entry}).").format(
                    printer=printer.name, entry=f"{profile.site.name}/{purpose}"
                ),
                next_step=tr(
                    "Save the password in the wizard first, or export without --include-password."
                ),
            )
        found[printer.name] = secret
    return found


def _relay_host(args: argparse.Namespace, profile: SiteProfile, cloud: Cloud) -> RelayHost:
    """The relay host the sheets print: --mx-host, else the live MX, else a checked guess.

    Says on stderr where it came from; a guess is marked, a missing host explained.
    """
    from wizard.cli.check_dns import parse_nameserver
    from wizard.services.dns.checks import dns_settings_for
    from wizard.services.relay_host import find_relay_host

    domain = profile.site.domain
    if args.mx_host:
        checked = check_domain(args.mx_host)
        host = checked.value if checked.ok and checked.value else args.mx_host.strip()
        if not checked.ok or not cloud.is_microsoft_mx(host):
            raise InvalidInput(
                tr("--mx-host: {host} is not a Microsoft 365 MX host.").format(host=_short(host)),
                next_step=tr(
                    "Copy the MX value from the admin center: Settings > Domains > {domain} "
                    "> DNS records."
                ).format(domain=domain),
            )
        relay = decide_relay_host(cloud, domain, tenant_mx=host)
    else:
        nameserver = parse_nameserver(args.nameserver) if args.nameserver else None
        relay = find_relay_host(
            cloud, domain, dns_settings=dns_settings_for(None, nameserver=nameserver)
        )
    if not relay.found:
        print(tr("Relay host not found. ") + relay.not_found_advice, file=sys.stderr)
        print(tr("Give it with --mx-host HOST, then export again."), file=sys.stderr)
    elif relay.is_guess:
        print(
            tr("Relay host {host}: {source}.").format(host=relay.host, source=relay.source_label),
            file=sys.stderr,
        )
    else:
        print(
            tr("Relay host {host} ({source}).").format(host=relay.host, source=relay.source_label),
            file=sys.stderr,
        )
    return relay


def _write_files(
    sheets: tuple[PrinterSheet, ...], folder: Path, source: Path, paper: Paper
) -> list[Path]:
    """One PDF per printer in `folder` (created if new), none over the profile itself."""
    from wizard.export.sheets import sheet_files
    from wizard.services.atomic import check_output_path, write_atomic

    files = sheet_files(sheets, paper=paper)
    if folder.is_dir():
        for name, _data in files:
            check_output_path(folder / name, inputs=(source,))
    folder.mkdir(exist_ok=True)
    written: list[Path] = []
    for name, data in files:
        write_atomic(folder / name, data)
        written.append(folder / name)
    return written


def run_sheet(args: argparse.Namespace) -> int:
    from wizard.export.layout import Paper
    from wizard.export.sheets import write_sheets_pdf
    from wizard.services.atomic import check_output_path
    from wizard.services.vendors import vendor_by_id

    source, out = Path(args.profile), Path(args.output)
    # Before any work: the output never replaces the profile or a non-regular file.
    check_output_path(out, inputs=(source,), folder=args.one_file_per_printer)
    profile = _load(source)
    if profile.method is None:
        raise InvalidInput(
            tr("This profile has no sending method yet."),
            next_step=tr("Choose a method in the wizard, then export the sheets."),
        )
    cloud = cloud_by_id(str(profile.site.cloud))
    if cloud is None:
        # The sandbox's endpoints are loopback addresses: no printer can use them.
        which = "sandbox" if profile.site.cloud is CloudId.SANDBOX else str(profile.site.cloud)
        raise InvalidInput(
            tr("Sheets need a Microsoft 365 cloud; this profile uses the {cloud}.").format(
                cloud=which
            )
        )
    if profile.method is Method.HVE and cloud.hve_smtp is None:
        raise InvalidInput(
            tr("High Volume Email is not offered in {cloud}.").format(cloud=cloud.name),
            next_step=tr("Choose another method for this site in the wizard, then export again."),
        )
    chosen = _chosen(profile, args.printer)
    relay = _relay_host(args, profile, cloud) if profile.method in RELAY_METHODS else None
    access = _relay_access(args, profile) if profile.method is Method.LOCAL_RELAY else None
    passwords = _passwords(profile, chosen, access) if args.include_password else {}
    app = _ensure_gui()
    sheets: tuple[PrinterSheet, ...] = build_site_sheets(
        profile,
        cloud,
        vendor_by_id,
        today=date.today(),
        printers=chosen,
        passwords=passwords,
        mx_host=relay,
        relay_access=access,
    )
    paper = Paper(args.paper)
    try:
        if args.one_file_per_printer:
            written = _write_files(sheets, out, source, paper)
            print(
                tr("Wrote {n} sheet(s) to {folder}: {files}").format(
                    n=len(written), folder=out, files=", ".join(p.name for p in written)
                )
            )
        else:
            write_sheets_pdf(sheets, out, paper=paper)
            print(tr("Wrote {n} sheet(s) to {path}").format(n=len(sheets), path=out))
    except OSError as exc:
        raise InvalidInput(
            tr("The sheets could not be written to {path}.").format(path=out),
            next_step=tr("Choose another file or folder."),
            detail=exc.strerror or str(exc),
        ) from None
    if passwords:
        print(tr("note: the sheets contain passwords; keep them safe."), file=sys.stderr)
    del app
    return 0
