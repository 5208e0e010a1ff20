"""Reading back the PDFs the export writes: text, fonts, rendered pages, QR codes."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pypdf
import zxingcpp
from PySide6.QtGui import QImage

_LIGATURES = re.compile("[\ufb00-\ufb06]")


def norm(text: str) -> str:
    """NFKC and single spaces: pypdf gives Qt's word gaps as tabs."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def squash(text: str) -> str:
    """No whitespace at all: a value wrapped over two lines still matches."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def raw_pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def pages_text(data: bytes) -> list[str]:
    return [norm(text) for text in raw_pages(data)]


def has_ligatures(text: str) -> bool:
    return bool(_LIGATURES.search(text))


def page_sizes(data: bytes) -> list[tuple[float, float]]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return [(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages]


def unembedded_fonts(data: bytes) -> list[str]:
    """Names of fonts used without their font program in the file."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    missing: list[str] = []
    seen = 0
    for page in reader.pages:
        fonts = page.get("/Resources", {}).get_object().get("/Font", {})
        for ref in fonts.values():
            font = ref.get_object()
            seen += 1
            descendants = font.get("/DescendantFonts")
            target = descendants[0].get_object() if descendants else font
            descriptor = target.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            if not any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                missing.append(str(font.get("/BaseFont")))
    assert seen, "the PDF uses no fonts at all"
    return missing


def render_pages(pdf: Path, prefix: Path, dpi: int = 80) -> list[Path]:
    """pdftoppm (poppler-utils, installed by .ci/run) renders each page to PNG."""
    tool = shutil.which("pdftoppm")
    assert tool, "pdftoppm is missing: apt-get install poppler-utils"
    for old in prefix.parent.glob(prefix.name + "-*.png"):
        old.unlink()
    subprocess.run([tool, "-png", "-r", str(dpi), str(pdf), str(prefix)], check=True)
    return sorted(
        prefix.parent.glob(prefix.name + "-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1])
    )


def poppler_pages(pdf: Path) -> list[str]:
    """pdftotext's text per page: what a PDF viewer copies to the clipboard."""
    tool = shutil.which("pdftotext")
    assert tool, "pdftotext is missing: apt-get install poppler-utils"
    out = subprocess.run(
        [tool, "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True
    ).stdout.decode("utf-8")
    return out.split("\f")[:-1]


def _grey_rows(image: QImage) -> list[bytes]:
    grey = image.convertToFormat(QImage.Format.Format_Grayscale8)
    data = bytes(grey.constBits())
    stride, width = grey.bytesPerLine(), grey.width()
    return [data[y * stride : y * stride + width] for y in range(grey.height())]


# bytes.translate maps each grey level to 1 (ink) or 0 (paper) in C, not Python.
_INK = bytes(1 if level < 235 else 0 for level in range(256))
_DARK = bytes(1 if level < 200 else 0 for level in range(256))


def ink_ratio(image: QImage) -> float:
    """Share of pixels that are not (near) white."""
    rows = _grey_rows(image)
    inked = sum(row.translate(_INK).count(1) for row in rows)
    return inked / (image.width() * image.height())


def ink_outside(image: QImage, left: int, right: int) -> int:
    """Dark pixels left of column `left` or right of column `right`: cut or overflowing."""
    return sum(
        row[:left].translate(_DARK).count(1) + row[right:].translate(_DARK).count(1)
        for row in _grey_rows(image)
    )


def decode_qr(image: QImage) -> list[str]:
    return [
        code.text
        for code in zxingcpp.read_barcodes(image)
        if code.format == zxingcpp.BarcodeFormat.QRCode
    ]
