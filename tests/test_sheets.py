"""Printer settings sheets: the content (core.sheet) and the PDF (export.sheets)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from tests.pdf_helpers import (
    decode_qr,
    has_ligatures,
    ink_outside,
    ink_ratio,
    page_sizes,
    pages_text,
    poppler_pages,
    raw_pages,
    render_pages,
    squash,
    unembedded_fonts,
)
from wizard.core.clouds import CLOUDS, CloudId
from wizard.core.device_settings import LocalRelayAccess
from wizard.core.methods import Method, Tri
from wizard.core.profile import Printer, Site, SiteProfile
from wizard.core.sheet import (
    PASSWORD_IN_KEYRING,
    LastTest,
    PrinterSheet,
    RowState,
    build_printer_sheet,
    build_site_sheets,
)
from wizard.core.vendors import FieldKey
from wizard.export.layout import MARGIN, Paper
from wizard.export.sheets import (
    render_sheet_images,
    sheet_file_name,
    sheets_pdf_bytes,
    write_sheet_files,
    write_sheets_pdf,
)
from wizard.services.vendors import load_catalog, vendor_by_id

TODAY = date(2026, 11, 20)
CANARY = "Canary-Pw-7f3e9d!"
WORLDWIDE = CLOUDS[CloudId.WORLDWIDE]


@pytest.fixture(autouse=True)
def _gui(qapp: object) -> None:
    """The export paints with QtGui: a (Q)GuiApplication must exist."""


def _profile(method: Method | None = Method.SMTP_AUTH, *printers: Printer) -> SiteProfile:
    return SiteProfile(
        Site(name="Contoso HQ", domain="contoso.com", public_ip="203.0.113.7"),
        method,
        printers
        or (
            Printer(
                "Reception Scanner",
                "canon",
                "imageRUNNER ADVANCE DX C5840i",
                "Ground floor, reception",
                "scanner@contoso.com",
            ),
            Printer("Accounts MFP", "brother", "MFC-L8900CDW", "Accounts", "accounts@contoso.com"),
            Printer(
                "Warehouse",
                "epson",
                "WorkForce Pro WF-C5890",
                "Dock 3",
                "official.office@contoso.com",
            ),
        ),
    )


def _sheets(profile: SiteProfile, **kwargs: object) -> tuple[PrinterSheet, ...]:
    return build_site_sheets(profile, WORLDWIDE, vendor_by_id, today=TODAY, **kwargs)  # type: ignore[arg-type]


def _expected_texts(sheet: PrinterSheet) -> list[str]:
    texts = [sheet.printer_name, sheet.site_name, sheet.location, sheet.model]
    texts += [row.label for row in sheet.rows] + [row.value for row in sheet.rows]
    texts += list(sheet.menu_steps) + [sheet.method_title]
    return [t for t in texts if t]


# --- content -------------------------------------------------------------------------


def test_rows_follow_the_vendors_labels_and_order() -> None:
    for vendor in load_catalog():
        printer = Printer("P", vendor.id, "", "", "scan@contoso.com")
        sheet = build_printer_sheet(
            _profile(Method.SMTP_AUTH, printer),
            printer,
            vendor,
            WORLDWIDE,
            method=Method.SMTP_AUTH,
            today=TODAY,
        )
        assert [r.label for r in sheet.rows] == [f.label for f in vendor.fields], vendor.id
        assert sheet.row(FieldKey.SERVER).value == "smtp.office365.com"
        assert sheet.row(FieldKey.PORT).value == "587"
        # The vendor's own word for STARTTLS and for signing in with a password.
        assert sheet.row(FieldKey.SECURITY).value == vendor.choice(FieldKey.SECURITY, "starttls")
        assert sheet.row(FieldKey.AUTH).value == vendor.choice(FieldKey.AUTH, "password")


def test_values_per_method() -> None:
    brother = Printer("B", "brother", "", "", "mfp@contoso.com")
    tenant_mx = "contoso-com01b.mail.protection.outlook.com"
    relay = _sheets(_profile(Method.CONNECTOR, brother), mx_host=tenant_mx)[0]
    assert relay.row(FieldKey.SERVER).value == tenant_mx
    assert tenant_mx in relay.qr_payload
    assert relay.row(FieldKey.PORT).value == "25"
    assert relay.row(FieldKey.SECURITY).value == "TLS"  # Brother's word for STARTTLS
    assert relay.row(FieldKey.AUTH).state is RowState.NOT_USED
    assert relay.row(FieldKey.USERNAME).state is RowState.NOT_USED
    assert relay.row(FieldKey.PASSWORD).state is RowState.NOT_USED
    assert relay.retirement_note is None
    assert any("outside" in c for c in relay.can)

    direct = _sheets(_profile(Method.DIRECT_SEND, brother))[0]
    assert any("outside your organisation" in c for c in direct.cannot)
    assert "Optional" in direct.row(FieldKey.SECURITY).note

    oauth = _sheets(_profile(Method.SMTP_AUTH_OAUTH, brother))[0]
    assert oauth.row(FieldKey.PASSWORD).state is RowState.NOT_USED
    assert oauth.oauth_how and oauth.row(FieldKey.USERNAME).value == "mfp@contoso.com"

    hve = _sheets(_profile(Method.HVE, brother))[0]
    assert hve.row(FieldKey.SERVER).value == "smtp.hve.mx.microsoft"
    assert hve.retirement_note and "September 2028" in hve.retirement_note


def test_a_relay_host_is_never_computed_and_a_guess_is_marked() -> None:
    from wizard.core.relay_host import RelayHost, RelayHostSource

    brother = Printer("B", "brother", "", "", "mfp@contoso.com")
    unknown = _sheets(_profile(Method.DIRECT_SEND, brother))[0]
    server = unknown.row(FieldKey.SERVER)
    assert server.value == "Not known yet" and server.state is RowState.NOT_USED
    assert "mail.protection" not in unknown.qr_payload
    assert any("Settings > Domains > contoso.com" in n for n in unknown.notes)

    guess = RelayHost(
        "contoso.com", "contoso-com.mail.protection.outlook.com", RelayHostSource.GUESS, False
    )
    guessed = _sheets(_profile(Method.CONNECTOR, brother), mx_host=guess)[0]
    row = guessed.row(FieldKey.SERVER)
    assert row.value == guess.host and "Unverified guess" in row.note
    # A phone reading the QR code would not see "unverified": the guess is left out.
    assert guess.host not in guessed.qr_payload


def test_password_is_kept_unless_asked_for() -> None:
    printer = Printer("P", "generic", "", "", "scan@contoso.com")
    kept = _sheets(_profile(Method.SMTP_AUTH, printer))[0]
    assert kept.row(FieldKey.PASSWORD).value == PASSWORD_IN_KEYRING
    assert kept.row(FieldKey.PASSWORD).state is RowState.SECRET_HIDDEN
    assert not kept.includes_password
    shown = _sheets(_profile(Method.SMTP_AUTH, printer), passwords={"P": CANARY})[0]
    assert shown.row(FieldKey.PASSWORD).value == CANARY and shown.includes_password
    # Never in the QR code, asked for or not.
    assert CANARY not in shown.qr_payload and "Password" not in shown.qr_payload


def test_qr_payload_is_readable_settings_text() -> None:
    sheet = _sheets(_profile(Method.SMTP_AUTH))[0]
    lines = sheet.qr_payload.splitlines()
    assert lines[0] == "Relay Wizard device settings"
    assert lines[1].startswith("Device: ")
    assert lines[2].startswith("Method: ") and lines[2].endswith("(smtp-auth)")
    assert lines[3:] == [
        "Server: smtp.office365.com",
        "Port: 587",
        "Encryption: STARTTLS",
        "Sign-in: user name and password",
        "User name: scanner@contoso.com",
        "Sender (From): scanner@contoso.com",
    ]
    # What a phone shows: text, no JSON braces or quotes.
    assert not set('{}"') & set(sheet.qr_payload)
    relay = _sheets(_profile(Method.CONNECTOR))[0].qr_payload
    assert "User name" not in relay and "Sign-in: none" in relay


def test_retirement_note_depends_on_the_day() -> None:
    before = _sheets(_profile(Method.SMTP_AUTH))[0].retirement_note
    assert before and "41 days" in before
    after = build_site_sheets(
        _profile(Method.SMTP_AUTH), WORLDWIDE, vendor_by_id, today=date(2028, 3, 1)
    )[0].retirement_note
    assert after and "removed" in after


def test_warnings_for_settings_that_cannot_work() -> None:
    no_oauth = Printer("Old", "generic", "", "", "old@contoso.com", oauth=Tri.NO)
    sheet = _sheets(_profile(Method.SMTP_AUTH_OAUTH, no_oauth))[0]
    assert any("cannot sign in with OAuth" in w for w in sheet.warnings)
    only_465 = Printer("Old", "generic", "", "", "old@contoso.com", port_465_only=True)
    assert _sheets(_profile(Method.SMTP_AUTH, only_465))[0].warnings
    assert not _sheets(_profile(Method.CONNECTOR, only_465))[0].warnings


def test_pitfalls_match_the_sign_in() -> None:
    lexmark = Printer("L", "lexmark", "", "", "l@contoso.com")
    relay = _sheets(_profile(Method.CONNECTOR, lexmark))[0]
    oauth = _sheets(_profile(Method.SMTP_AUTH_OAUTH, lexmark))[0]
    assert not any("Register" in p for p in relay.pitfalls)
    assert any("Register" in p for p in oauth.pitfalls)


def test_a_profile_without_method_has_no_sheets() -> None:
    with pytest.raises(ValueError, match="method"):
        _sheets(_profile(None))


def test_printer_selection_by_name() -> None:
    sheets = _sheets(_profile(), printers=("accounts mfp",))
    assert [s.printer_name for s in sheets] == ["Accounts MFP"]


# --- PDF -------------------------------------------------------------------------------


def test_every_value_is_on_its_own_page(output_dir: Path) -> None:
    sheets = _sheets(
        _profile(Method.SMTP_AUTH),
        last_tests={
            "Reception Scanner": LastTest(
                datetime(2026, 11, 20, 14, 2), True, "Accepted by Microsoft 365"
            )
        },
    )
    data = sheets_pdf_bytes(sheets)
    (output_dir / "sheets-three-vendors.pdf").write_bytes(data)
    pages = pages_text(data)
    assert len(pages) == len(sheets) == 3
    for sheet, text in zip(sheets, pages, strict=True):
        flat = squash(text)
        for expected in _expected_texts(sheet):
            assert squash(expected) in flat, (sheet.printer_name, expected)
        others = [s.printer_name for s in sheets if s is not sheet]
        assert not any(f"SETTINGS {name}" in text for name in others)
        assert "No password on this sheet" in text
    assert "Passed" in pages[0] and "Accepted by Microsoft 365" in pages[0]
    assert "No test message has been recorded" in pages[1]
    assert "41 days" in pages[0]  # the Basic-auth retirement note


def test_values_copy_out_as_typed(output_dir: Path) -> None:
    """No ligatures and no stray characters: a value copied from a viewer is the value."""
    sheet = _sheets(_profile(Method.SMTP_AUTH), passwords={"Warehouse": CANARY})[2]
    pdf = output_dir / "sheet-copy.pdf"
    write_sheets_pdf([sheet], pdf)
    raw = raw_pages(pdf.read_bytes())[0]
    assert not has_ligatures(raw)
    # pypdf without NFKC: "office" stays plain letters (sender official.office@...).
    assert "official.office@contoso.com" in " ".join(raw.split())
    # Poppler's text (what Evince and friends copy): each value on a line of its own.
    lines = {line.strip() for line in poppler_pages(pdf)[0].splitlines()}
    for row in sheet.rows:
        if row.state in (RowState.VALUE, RowState.SECRET_SHOWN):
            assert row.value in lines, row.value
    assert CANARY in lines


def test_canary_password_only_when_asked(output_dir: Path) -> None:
    profile = _profile(Method.SMTP_AUTH)
    hidden = output_dir / "sheet-without-password.pdf"
    write_sheets_pdf(_sheets(profile), hidden)
    shown = output_dir / "sheet-with-password.pdf"
    write_sheets_pdf(_sheets(profile, passwords={"Accounts MFP": CANARY}), shown)
    hidden_pages = [squash(t) for t in poppler_pages(hidden)]
    assert all(CANARY not in t and squash(PASSWORD_IN_KEYRING) in t for t in hidden_pages)
    assert CANARY.encode() not in hidden.read_bytes()
    texts = [squash(t) for t in poppler_pages(shown)]
    assert CANARY not in texts[0] and CANARY in texts[1] and CANARY not in texts[2]
    assert "Containsapassword" in texts[1] and "Containsapassword" not in texts[0]
    # pypdf reads it the same way on the page that has it.
    assert CANARY in squash(pages_text(shown.read_bytes())[1])


def test_every_vendor_renders_with_its_labels_in_order(output_dir: Path) -> None:
    catalog = load_catalog()
    printers = tuple(
        Printer(f"{v.name} printer", v.id, f"{v.families[0]} 1234", "Office", "scan@contoso.com")
        for v in catalog
    )
    sheets = _sheets(_profile(Method.SMTP_AUTH_OAUTH, *printers))
    pdf = output_dir / "sheets-every-vendor.pdf"
    write_sheets_pdf(sheets, pdf)
    # pdftotext here: pypdf takes seconds for eleven pages of Qt's positioned text.
    pages = [" ".join(page.split()) for page in poppler_pages(pdf)]
    assert len(pages) == len(catalog)
    for vendor, text in zip(catalog, pages, strict=True):
        table = text[text.index("Settings to enter") :]
        position = 0
        for field in vendor.fields:
            found = table.find(field.label, position)
            assert found >= 0, (vendor.id, field.label)
            position = found + len(field.label)
        assert "Signing in with Microsoft (OAuth)" in text
        assert "Where to find it" in text and "a guide" in text
        assert all(step in text for step in vendor.menu_steps), vendor.id


def test_long_names_wrap_and_nothing_is_cut(output_dir: Path) -> None:
    printer = Printer(
        "Second-floor east wing colour multifunction printer next to the big meeting room",
        "konica-minolta",
        "bizhub C750i with finisher FS-539SD and the large capacity paper unit LU-302",
        "Building 7, second floor, east wing, corridor B, opposite the kitchen and lifts",
        "east-wing-colour-multifunction-printer-second-floor@contoso-subsidiary.example.com",
    )
    profile = SiteProfile(
        Site(name="Contoso International Holdings Regional Headquarters", domain="contoso.com"),
        Method.SMTP_AUTH,
        (printer,),
    )
    sheet = _sheets(profile)[0]
    for paper in Paper:
        data = sheets_pdf_bytes([sheet], paper=paper)
        pdf = output_dir / f"sheet-long-names-{paper}.pdf"
        pdf.write_bytes(data)
        text = pages_text(data)
        assert len(text) == 1, "a long name must not push the sheet onto a second page"
        flat = squash(text[0])
        for expected in _expected_texts(sheet):
            assert squash(expected) in flat, expected
        dpi = 60
        png = render_pages(pdf, output_dir / f"sheet-long-names-{paper}", dpi)[0]
        image = QImage(str(png))
        margin = round(MARGIN / 72 * dpi)
        assert ink_outside(image, margin - 2, image.width() - margin + 2) == 0


def test_an_absurdly_long_sheet_flows_instead_of_being_cut() -> None:
    name = " ".join(["Extraordinarily-long-printer-name"] * 40)
    printer = Printer(name, "generic", "", "", "p@contoso.com")
    sheet = _sheets(_profile(Method.SMTP_AUTH, printer))[0]
    pages = pages_text(sheets_pdf_bytes([sheet]))
    flat = squash(" ".join(pages))
    assert squash(name) in flat and "smtp.office365.com" in flat and "Lasttest:" in flat


def test_qr_code_decodes_back_to_the_settings(output_dir: Path) -> None:
    sheets = _sheets(_profile(Method.SMTP_AUTH), passwords={"Reception Scanner": CANARY})
    pdf = output_dir / "sheet-qr.pdf"
    write_sheets_pdf(sheets[:1], pdf)
    png = render_pages(pdf, output_dir / "sheet-qr", 150)[0]
    decoded = decode_qr(QImage(str(png)))
    assert decoded == [sheets[0].qr_payload]
    assert "Server: smtp.office365.com\nPort: 587\n" in decoded[0]
    assert CANARY not in decoded[0]
    # The on-screen preview draws the same code.
    preview = render_sheet_images(sheets[:1], dpi=110)[0]
    assert decode_qr(preview) == [sheets[0].qr_payload]


def test_pages_render_to_png_and_are_not_blank(output_dir: Path) -> None:
    pdf = output_dir / "sheets-render.pdf"
    write_sheets_pdf(_sheets(_profile(Method.SMTP_AUTH_OAUTH)), pdf, paper=Paper.LETTER)
    pngs = render_pages(pdf, output_dir / "sheets-render", 50)
    assert len(pngs) == 3
    for png in pngs:
        ratio = ink_ratio(QImage(str(png)))
        assert 0.02 < ratio < 0.5, (png.name, ratio)


def test_fonts_are_embedded_and_paper_sizes_are_right() -> None:
    sheets = _sheets(_profile(Method.SMTP_AUTH))[:1]
    a4 = sheets_pdf_bytes(sheets, paper=Paper.A4)
    letter = sheets_pdf_bytes(sheets, paper=Paper.LETTER)
    assert unembedded_fonts(a4) == []
    ((w, h),) = page_sizes(a4)
    assert (round(w), round(h)) == (595, 842)
    ((w, h),) = page_sizes(letter)
    assert (round(w), round(h)) == (612, 792)


def test_previews_match_the_pdf_pages() -> None:
    sheets = _sheets(_profile(Method.CONNECTOR))
    images = render_sheet_images(sheets, dpi=40)
    assert len(images) == len(page_sizes(sheets_pdf_bytes(sheets)))
    assert all(ink_ratio(image) > 0.02 for image in images)
    assert images[0].width() == round(595.3 / 72 * 40)


def test_one_file_per_printer(tmp_path: Path) -> None:
    twins = (
        Printer("Front desk / copier", "hp", "", "", "a@contoso.com"),
        Printer("Front desk : copier", "hp", "", "", "b@contoso.com"),
    )
    sheets = _sheets(_profile(Method.SMTP_AUTH, *twins))
    assert sheet_file_name(sheets[0]) == "Front-desk-copier.pdf"
    written = write_sheet_files(sheets, tmp_path / "out")
    assert [p.name for p in written] == ["Front-desk-copier.pdf", "Front-desk-copier-2.pdf"]
    for path, sheet in zip(written, sheets, strict=True):
        (text,) = poppler_pages(path)
        assert sheet.row(FieldKey.SENDER).value in text


def test_export_needs_sheets(qtbot: QtBot) -> None:
    with pytest.raises(ValueError):
        sheets_pdf_bytes([])


def test_drawing_off_the_gui_thread_is_refused_in_plain_words(qtbot: QtBot) -> None:
    # Qt's text objects deadlock now and then when Python draws with them on a worker
    # (the GIL against Qt's signal-slot mutex), so the export layer refuses it.
    import threading

    sheets = _sheets(_profile(Method.SMTP_AUTH))
    refused: list[BaseException] = []

    def draw() -> None:
        try:
            sheets_pdf_bytes(sheets)
        except RuntimeError as error:
            refused.append(error)

    worker = threading.Thread(target=draw)
    worker.start()
    worker.join(30)
    assert len(refused) == 1 and "GUI thread" in str(refused[0])
    # On the GUI thread the same call draws.
    assert sheets_pdf_bytes(sheets).startswith(b"%PDF")


# --- the local relay -------------------------------------------------------------------

RELAY_ACCESS = {
    "Old MFP": LocalRelayAccess("192.168.1.20", 587, True, "old-mfp", "AB:CD:EF"),
}


def _relay_sheet(**kwargs: object) -> PrinterSheet:
    old = Printer("Old MFP", "brother", "MFC-L8900CDW", "Hall", "scan@contoso.com", oauth=Tri.NO)
    return _sheets(_profile(Method.LOCAL_RELAY, old), relay_access=RELAY_ACCESS, **kwargs)[0]


def test_relay_sheet_gives_the_relay_not_microsoft() -> None:
    sheet = _relay_sheet()
    assert sheet.row(FieldKey.SERVER).value == "192.168.1.20"
    assert sheet.row(FieldKey.PORT).value == "587"
    assert sheet.row(FieldKey.SECURITY).value == "TLS"  # Brother's word for STARTTLS
    # The device's own relay user name, not the mailbox: that only opens the relay.
    assert sheet.row(FieldKey.USERNAME).value == "old-mfp"
    assert sheet.row(FieldKey.SENDER).value == "scan@contoso.com"
    assert sheet.row(FieldKey.PASSWORD).state is RowState.SECRET_HIDDEN
    assert not sheet.includes_password
    assert "smtp.office365.com" not in sheet.qr_payload
    assert "(local-relay)" in sheet.qr_payload and "Server: 192.168.1.20" in sheet.qr_payload
    notes = " ".join(sheet.notes)
    assert "AB:CD:EF" in notes and "certificate" in notes  # how to trust the relay
    assert "smtp.office365.com" in notes  # where the relay sends on
    assert sheet.retirement_note and "not affected" in sheet.retirement_note
    assert "second half of 2027" in sheet.retirement_note
    assert not sheet.warnings


def test_relay_sheet_password_only_on_request(output_dir: Path) -> None:
    hidden = output_dir / "sheet-relay.pdf"
    write_sheets_pdf([_relay_sheet()], hidden)
    text = squash(poppler_pages(hidden)[0])
    assert "192.168.1.20" in text and "old-mfp" in text and CANARY not in text
    assert squash(PASSWORD_IN_KEYRING) in text
    shown = _relay_sheet(passwords={"Old MFP": CANARY})
    assert shown.row(FieldKey.PASSWORD).value == CANARY and shown.includes_password
    assert CANARY not in shown.qr_payload


def test_relay_sheet_plain_port_and_not_set_up_yet() -> None:
    plain = LocalRelayAccess("192.168.1.20", 25, False, "old-mfp")
    old = Printer("Old MFP", "generic", "", "", "scan@contoso.com", tls12=Tri.NO)
    sheet = _sheets(_profile(Method.LOCAL_RELAY, old), relay_access={"Old MFP": plain})[0]
    assert sheet.row(FieldKey.PORT).value == "25"
    assert sheet.row(FieldKey.SECURITY).value == "None"
    assert any("unencrypted" in n for n in sheet.notes)
    missing = _sheets(_profile(Method.LOCAL_RELAY, old))[0]
    assert missing.row(FieldKey.SERVER).value == "Not known yet"
    assert any("Relay step" in w for w in missing.warnings)


def test_relay_password_has_its_own_keyring_name() -> None:
    from wizard.core.sheet import printer_password_purpose

    printer = Printer("Old MFP", "generic", "", "", "scan@contoso.com")
    relay = printer_password_purpose(printer, RELAY_ACCESS["Old MFP"])
    assert relay == "relay-device-password:old-mfp"
    assert relay != printer_password_purpose(printer)
