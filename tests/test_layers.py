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
    if layer == "app":
        return [WIZARD / "app.py"]
    return sorted((WIZARD / layer).rglob("*.py"))


def _ours(name: str) -> str | None:
    """'wizard.core.x' -> 'core'; 'wizard' -> ''; a third-party name -> None."""
    if name == "wizard":
        return ""
    if name.startswith("wizard."):
        return name.split(".")[1]  # "app" for wizard.app
    return None


@pytest.mark.parametrize(
    "layer,allowed_ours,forbidden_top",
    [
        ("core", {"core"}, IO_MODULES),
        ("services", {"core", "services", ""}, {"PySide6"}),
        ("sandbox", {"core", "sandbox", ""}, {"PySide6"}),
        ("export", {"core", "services", "export", ""}, {"PySide6.QtWidgets"}),
        # The UI gets the sandbox from the launcher (a DemoTenant, a start function):
        # pages, the session and the self-test never import it, nor the launcher.
        ("ui", {"core", "services", "export", "ui", ""}, set()),
        # The command line is a composition root of its own: its `sandbox` command and
        # `audit --demo` start the sandbox; it never builds the UI (`self-test` is
        # handed in by the launcher).
        ("cli", {"core", "services", "export", "cli", "sandbox", ""}, set()),
        # The launcher wires everything together; nothing imports it.
        ("app", {"core", "services", "export", "ui", "cli", "sandbox", "app", ""}, set()),
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


def test_every_module_is_in_a_layer() -> None:
    """A new top-level module or package would escape the layer rule: name its layer."""
    layers = {"core", "services", "sandbox", "export", "ui", "cli"}
    top = {p.name for p in WIZARD.iterdir() if p.name != "__pycache__"}
    assert top == {"__init__.py", "app.py"} | layers
