"""One field of a form: label above the input, a one-line hint, an inline error.

Stacking the parts (rather than a two-column form) keeps long labels readable at
200% scaling and in narrow windows. The label is the input's buddy (its mnemonic
moves the focus there) and names it for screen readers.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QBoxLayout, QLabel, QVBoxLayout, QWidget

from wizard.ui.widgets.labels import FieldError, HintLabel


def strip_mnemonic(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


# The wizard's own buttons: < &Back, &Next >, &Finish. No page may take their keys.
WIZARD_KEYS = frozenset("bnf")


def mnemonic_key(text: str) -> str | None:
    """The key of the mnemonic in `text` (lower case), if it has one."""
    plain = text.replace("&&", "")
    at = plain.find("&")
    if at < 0 or at + 1 >= len(plain) or not plain[at + 1].isalnum():
        return None
    return plain[at + 1].lower()


def with_mnemonic(text: str, taken: set[str]) -> str:
    """`text` with a mnemonic on its first letter that no other widget here uses (added
    to `taken`); without a free letter, the text with none. A literal "&" stays one."""
    out: list[str] = []
    placed = False
    for char in text:
        if char == "&":
            out.append("&&")
            continue
        key = char.lower()
        if not placed and char.isalpha() and key not in taken and key not in WIZARD_KEYS:
            taken.add(key)
            out.append("&")
            placed = True
        out.append(char)
    return "".join(out)


@dataclass
class Field:
    container: QWidget
    label: QLabel
    widget: QWidget
    hint: HintLabel | None
    error: FieldError


def add_field(
    layout: QBoxLayout,
    label_text: str,
    widget: QWidget,
    hint: str = "",
    *,
    accessible_name: str | None = None,
) -> Field:
    container = QWidget()
    box = QVBoxLayout(container)
    box.setContentsMargins(0, 0, 0, 0)
    box.setSpacing(3)
    label = QLabel(label_text, container)
    label.setWordWrap(True)
    label.setBuddy(widget)
    widget.setAccessibleName(accessible_name or strip_mnemonic(label_text))
    hint_label = None
    box.addWidget(label)
    box.addWidget(widget)
    if hint:
        widget.setAccessibleDescription(hint)
        hint_label = HintLabel(hint, container)
        box.addWidget(hint_label)
    error = FieldError(container)
    box.addWidget(error)
    layout.addWidget(container)
    return Field(container, label, widget, hint_label, error)
