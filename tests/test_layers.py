"""DESIGN.md's layer rule, checked on the source: arrows only point down."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WIZARD = ROOT / "wizard"

# Modules that do I/O or need a display; `core` must stay pure.
IO_MODULES = {
    "PySide6",
    "requests",
    "socket",
    "smtplib",
    "ssl",
    "keyring",
    "msal",
    "dns",
    "http",
    "urllib",
    "subprocess",
    "aiosmtpd",
    "asyncio",
    "platformdirs",
    "trustme",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _files(layer: str) -> list[Path]:
    return sorted((WIZARD / layer).rglob("*.py"))


def _ours(name: str) -> str | None:
    """'wizard.core.x' -> 'core'; 'wizard' -> ''; a third-party name -> None."""
    if name == "wizard":
        return ""
    if name.startswith("wizard."):
        return name.split(".")[1]
    return None


@pytest.mark.parametrize(
    "layer,allowed_ours,forbidden_top",
    [
        ("core", {"core"}, IO_MODULES),
        ("services", {"core", "services", ""}, {"PySide6"}),
        ("sandbox", {"core", "sandbox", ""}, {"PySide6"}),
        ("export", {"core", "services", "export", ""}, {"PySide6.QtWidgets"}),
    ],
)
def test_layer_imports(layer: str, allowed_ours: set[str], forbidden_top: set[str]) -> None:
    files = _files(layer)
    assert files, f"wizard/{layer} has no modules"
    problems = []
    for path in files:
        for name in _imports(path):
            ours = _ours(name)
            if ours is not None and ours not in allowed_ours:
                problems.append(f"{path.relative_to(ROOT)} imports {name}")
            top = name.split(".")[0]
            if top in forbidden_top or name in forbidden_top:
                problems.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not problems, "layer rule broken:\n" + "\n".join(problems)


def test_main_py_stays_thin() -> None:
    lines = [
        line
        for line in (ROOT / "main.py").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert len(lines) <= 8
