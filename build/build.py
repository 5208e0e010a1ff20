"""Build the Relay Wizard app with PyInstaller, and the rules of what the bundle carries.

    python build/build.py [--onefile] [--dist DIR] [--clean]
                          [--codesign-identity ID] [--entitlements FILE]   (macOS)

One-folder by default (fast start, the form to sign and ship); `--onefile` makes one
executable that unpacks itself on every start. PyInstaller's output goes to `dist/`
and its work folder to `dist/.work/`, never under `build/` (this folder holds only
the spec and this script).

The spec (build/relay-wizard.spec) imports this file for its rules, and the tests
import it to check them without building, so everything above `main()` is plain
Python with no PyInstaller import and no side effects.
"""

from __future__ import annotations

import argparse
import ast
import functools
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

BUILD_DIR = Path(__file__).resolve().parent
ROOT = BUILD_DIR.parent
SPEC = BUILD_DIR / "relay-wizard.spec"
ENTITLEMENTS = BUILD_DIR / "entitlements.plist"
DEFAULT_DIST = ROOT / "dist"

# The executable and the one-folder bundle are called this on every platform; Windows
# also gets a console twin (see executables()).
APP_NAME = "relay-wizard"
MAC_APP_NAME = "Relay Wizard"
PRODUCT_NAME = "Relay Wizard for Microsoft 365"
ORG_DISPLAY_NAME = "Relay Wizard"
# Reverse-DNS identifier of the macOS bundle: the publisher replaces it with one under
# a domain it owns before signing (README, "Building the app").
MAC_BUNDLE_ID = "com.example.relay-wizard"

# A PyInstaller TOC entry: (name inside the bundle, source path, type code).
TocEntry = tuple[str, str, str]


# --- What goes in -------------------------------------------------------------------


def app_version(root: Path = ROOT) -> str:
    """wizard.__version__, read from the source without importing it."""
    text = (root / "wizard" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.MULTILINE)
    if not match:
        raise SystemExit("build: wizard/__init__.py has no __version__")
    return match.group(1)


def wizard_modules(root: Path = ROOT) -> list[str]:
    """Every module of the wizard package, found on disk.

    PyInstaller follows imports, but the CLI imports its subcommands lazily and the app
    grows while it is packaged: naming every module keeps a new one from being left out.
    Walking the files (rather than importing them) keeps a half-written module from
    breaking the build.
    """
    names = []
    for path in sorted((root / "wizard").rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


def resource_datas(root: Path = ROOT) -> list[tuple[str, str]]:
    """`resources/` lands in the bundle as `resources/`, where paths.resources_dir() looks."""
    return [(str(root / "resources"), "resources")]


# Qt Python modules need their dependencies' modules at import time.
_QT_MODULE_NEEDS = {
    "QtGui": {"QtCore"},
    "QtWidgets": {"QtGui"},
    "QtSvg": {"QtGui"},
    "QtSvgWidgets": {"QtSvg", "QtWidgets"},
    "QtPrintSupport": {"QtWidgets"},
    "QtOpenGL": {"QtGui"},
    "QtOpenGLWidgets": {"QtOpenGL", "QtWidgets"},
    "QtTest": {"QtWidgets"},
    "QtNetwork": {"QtCore"},
    "QtDBus": {"QtCore"},
    "QtXml": {"QtCore"},
    "QtConcurrent": {"QtCore"},
}


def _imported_names(source: str, filename: str = "<source>") -> set[str]:
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError:
        # A file another developer is halfway through: the build must not stop here.
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@functools.lru_cache(maxsize=8)
def qt_imports(root: Path = ROOT) -> frozenset[str]:
    """Every PySide6 name the app imports (`PySide6.QtGui.QIcon`, `PySide6.QtSvg`, ...)."""
    names: set[str] = set()
    for path in (root / "wizard").rglob("*.py"):
        source = path.read_text(encoding="utf-8", errors="replace")
        if "PySide6" in source:  # parsing only these keeps the spec quick
            imported = _imported_names(source, str(path))
            names.update(n for n in imported if n.split(".")[0] == "PySide6")
    return frozenset(names)


def qt_modules_used(root: Path = ROOT) -> set[str]:
    """The PySide6 modules (`QtWidgets`, ...) the app imports, with what they need."""
    used = {"QtCore", "QtGui", "QtWidgets"}
    for name in qt_imports(root):
        parts = name.split(".")
        if len(parts) >= 2 and parts[1].startswith("Qt"):
            used.add(parts[1])
    pending = list(used)
    while pending:
        for need in _QT_MODULE_NEEDS.get(pending.pop(), set()):
            if need not in used:
                used.add(need)
                pending.append(need)
    return used


def qt_module_excludes(available: Iterable[str], used: set[str]) -> list[str]:
    """`PySide6.QtX` for every installed Qt module the app does not use.

    PyInstaller's Qt hooks pull in modules through library links (QtNetwork through a
    touch-input plugin, QtDBus through print support); excluding the Python modules
    here, and the libraries in prune_unreachable(), keeps them out.
    """
    return sorted(f"PySide6.{name}" for name in set(available) - used)


def installed_qt_modules() -> list[str]:
    """Names of the Qt modules of the installed PySide6 (QtCore, QtGui, ...)."""
    import importlib.util

    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("build: PySide6 is not installed in this Python")
    folder = Path(next(iter(spec.submodule_search_locations)))
    names = set()
    for path in folder.iterdir():
        name = path.name.split(".")[0]
        if name.startswith("Qt") and path.suffix in (".so", ".pyd"):
            names.add(name)
    return sorted(names)


# keyrings.alt (and the rest of the `keyrings` namespace: cryptfile, ...) would let
# keyring fall back to a plain file on a Linux without D-Bus: never ship it. The rest
# are build and test tools that must not ride along if installed in the same venv.
EXCLUDED_MODULES = [
    "keyrings",
    "keyrings.alt",
    "tkinter",
    "_tkinter",
    "PyInstaller",
    "pytest",
    "_pytest",
    "pytestqt",
    "mypy",
    "ruff",
]


# --- What stays out -----------------------------------------------------------------

# Whole Qt plugin folders the app never loads, with the reason.
DROPPED_PLUGIN_FOLDERS = {
    "egldeviceintegrations": "full-screen EGL device backends for embedded boards",
    "generic": "evdev/tuio input drivers for framebuffer displays (tuio pulls QtNetwork)",
    "networkinformation": "QtNetwork reachability; the app does not use QtNetwork",
    "tls": "QtNetwork TLS backends; the app's TLS is Python's ssl",
    "sqldrivers": "QtSql; not used",
    "qmltooling": "QML debugging; no QML",
    "virtualkeyboard": "on-screen keyboard layouts; no QtQuick",
}

# Single plugins the app never loads: (folder, name without lib prefix and suffix).
DROPPED_PLUGINS = {
    ("platforms", "qeglfs"): "full-screen EGL (embedded)",
    ("platforms", "qlinuxfb"): "Linux framebuffer (embedded)",
    ("platforms", "qvnc"): "serves the window over VNC",
    ("platforms", "qminimal"): "draws nothing; offscreen covers headless runs",
    ("platforms", "qminimalegl"): "draws nothing (EGL)",
    ("platforms", "qvkkhrdisplay"): "Vulkan direct-to-display (embedded)",
    ("platforms", "qdirect2d"): "alternative Windows backend; qwindows is the default",
    ("platformthemes", "qgtk3"): "GTK file dialogs and colours; pulls in GTK, Cairo, Pango",
    ("platforminputcontexts", "qtvirtualkeyboardplugin"): "on-screen keyboard; pulls QtQuick",
    ("imageformats", "qpdf"): "PDF as an image; pulls QtPdf",
    ("imageformats", "qtiff"): "TIFF images; the app has none",
    ("imageformats", "qwebp"): "WebP images; the app has none",
    ("imageformats", "qtga"): "TGA images; the app has none",
    ("imageformats", "qwbmp"): "WBMP images; the app has none",
    ("imageformats", "qicns"): "macOS icon files; the OS reads the app icon itself",
}

# What the app needs, checked after the trim so a rule can never drop it.
REQUIRED_PLUGINS = {
    "linux": {("platforms", "qoffscreen"), ("platforms", "qxcb"), ("imageformats", "qsvg")},
    "win32": {("platforms", "qoffscreen"), ("platforms", "qwindows"), ("imageformats", "qsvg")},
    "darwin": {("platforms", "qoffscreen"), ("platforms", "qcocoa"), ("imageformats", "qsvg")},
}

# Loaded with dlopen() rather than linked, so no link walk finds them; kept if present.
DLOPENED_LIBRARIES = {"libdbus-1.so.3"}


def platform_key(platform: str | None = None) -> str:
    platform = sys.platform if platform is None else platform
    if platform.startswith("win"):
        return "win32"
    if platform == "darwin":
        return "darwin"
    return "linux"


def qt_plugin(dest: str) -> tuple[str, str] | None:
    """(folder, plugin name) for a Qt plugin's place in the bundle, else None.

    Works for all three layouts: PySide6/Qt/plugins/platforms/libqxcb.so,
    PySide6/plugins/platforms/qwindows.dll, PySide6/Qt/plugins/platforms/libqcocoa.dylib.
    """
    parts = PurePosixPath(dest.replace("\\", "/")).parts
    if len(parts) < 3 or parts[0] != "PySide6" or "plugins" not in parts[:-2]:
        return None
    index = parts.index("plugins")
    if len(parts) != index + 3:
        return None
    folder, filename = parts[index + 1], parts[index + 2]
    name = filename.split(".")[0]
    if not filename.endswith((".dll", ".pyd")) and name.startswith("lib"):
        name = name[3:]
    return folder, name


def drop_reason(dest: str) -> str | None:
    """Why the file at `dest` in the bundle stays out, or None to keep it."""
    plugin = qt_plugin(dest)
    if plugin is None:
        return None
    folder, name = plugin
    if folder in DROPPED_PLUGIN_FOLDERS:
        return DROPPED_PLUGIN_FOLDERS[folder]
    return DROPPED_PLUGINS.get((folder, name))


def uses_qt_translations(root: Path = ROOT) -> bool:
    """Whether the app loads Qt's own translations (standard buttons, dialogs)."""
    return any(name.endswith(".QTranslator") for name in qt_imports(root))


def is_qt_translation(dest: str) -> bool:
    parts = PurePosixPath(dest.replace("\\", "/")).parts
    return len(parts) >= 3 and parts[0] == "PySide6" and parts[-2] == "translations"


def drop_qt_translations(datas: Iterable[TocEntry]) -> tuple[list[TocEntry], list[TocEntry]]:
    """Qt's .qm catalogues (7 MB) are dead weight until the app installs a QTranslator."""
    kept: list[TocEntry] = []
    dropped: list[TocEntry] = []
    for entry in datas:
        (dropped if is_qt_translation(entry[0]) else kept).append(entry)
    return kept, dropped


def drop_unused_plugins(toc: Iterable[TocEntry]) -> tuple[list[TocEntry], list[TocEntry]]:
    """Split a TOC into (kept, dropped) by the plugin rules above."""
    kept: list[TocEntry] = []
    dropped: list[TocEntry] = []
    for entry in toc:
        (dropped if drop_reason(entry[0]) else kept).append(entry)
    return kept, dropped


def prune_unreachable(
    binaries: Sequence[TocEntry],
    links_of: Callable[[str], Iterable[str]],
    keep_names: Iterable[str] = DLOPENED_LIBRARIES,
) -> tuple[list[TocEntry], list[TocEntry]]:
    """Drop shared libraries that no kept extension module or plugin links to.

    PyInstaller collected each dropped plugin's libraries (GTK for the gtk3 theme,
    QtNetwork for tls, ...); removing the plugin leaves them behind. Roots are the
    Python extension modules, Qt plugins and the Python library; `links_of(source)`
    gives the resolved paths a binary links to. Everything not reached is dropped.
    """
    keep = set(keep_names)
    by_source: dict[str, list[int]] = {}
    reached: set[int] = set()
    for index, (dest, source, typecode) in enumerate(binaries):
        by_source.setdefault(os.path.realpath(source), []).append(index)
        name = PurePosixPath(dest.replace("\\", "/")).name
        if (
            typecode != "BINARY"
            or qt_plugin(dest) is not None
            or name.startswith(("libpython", "python3"))
            or name in keep
        ):
            reached.add(index)
    pending = [binaries[index][1] for index in reached]
    while pending:
        for linked in links_of(pending.pop()):
            for index in by_source.get(os.path.realpath(linked), []):
                if index not in reached:
                    reached.add(index)
                    pending.append(binaries[index][1])
    kept = [entry for index, entry in enumerate(binaries) if index in reached]
    dropped = [entry for index, entry in enumerate(binaries) if index not in reached]
    return kept, dropped


def drop_dangling_symlinks(
    datas: Iterable[TocEntry], present: set[str]
) -> tuple[list[TocEntry], list[TocEntry]]:
    """PyInstaller links a library into the top folder too; drop links to dropped files."""
    kept: list[TocEntry] = []
    dropped: list[TocEntry] = []
    for entry in datas:
        if entry[2] == "SYMLINK" and entry[1].replace("\\", "/") not in present:
            dropped.append(entry)
        else:
            kept.append(entry)
    return kept, dropped


# --- What must be there -------------------------------------------------------------

KEYRING_BACKENDS = {
    "linux": "keyring.backends.SecretService",
    "win32": "keyring.backends.Windows",
    "darwin": "keyring.backends.macOS",
}


def bundle_problems(
    modules: Iterable[str],
    data_dests: Iterable[str],
    binary_dests: Iterable[str],
    platform: str | None = None,
) -> list[str]:
    """What is wrong with an analysed bundle; the spec stops the build on any."""
    key = platform_key(platform)
    module_set = set(modules)
    datas = {d.replace("\\", "/") for d in data_dests}
    problems = []
    alt = sorted(m for m in module_set if m == "keyrings" or m.startswith("keyrings."))
    if alt or any(d.lower().startswith("keyrings.alt") for d in datas):
        problems.append(f"keyrings.alt must never ship (found {alt or 'its metadata'})")
    for module in ("keyring", KEYRING_BACKENDS[key], "wizard.app", "wizard.cli"):
        if module not in module_set:
            problems.append(f"module {module} is missing")
    if not any(d.startswith("keyring-") and d.endswith("/entry_points.txt") for d in datas):
        problems.append("keyring's metadata (entry points that list its backends) is missing")
    if "certifi/cacert.pem" not in datas:
        problems.append("the CA bundle certifi/cacert.pem is missing")
    if not any(d.startswith("resources/") for d in datas):
        problems.append("resources/ is missing")
    plugins = {p for p in (qt_plugin(d) for d in binary_dests) if p is not None}
    for plugin in sorted(REQUIRED_PLUGINS[key] - plugins):
        problems.append(f"Qt plugin {plugin[0]}/{plugin[1]} is missing")
    return problems


def windows_version_text(version: str) -> str:
    """The Windows version resource, in the text form PyInstaller's `version=` reads.

    Explorer shows it under Properties > Details, and signing tools and antivirus
    scanners read the product name from it.
    """
    numbers = [int(part) for part in re.findall(r"\d+", version)[:4]]
    four = tuple(numbers + [0] * (4 - len(numbers)))
    strings = {
        "CompanyName": ORG_DISPLAY_NAME,
        "FileDescription": PRODUCT_NAME,
        "FileVersion": version,
        "InternalName": APP_NAME,
        "OriginalFilename": f"{APP_NAME}.exe",
        "ProductName": PRODUCT_NAME,
        "ProductVersion": version,
    }
    table = ",\n".join(f"          StringStruct({k!r}, {v!r})" for k, v in strings.items())
    return f"""VSVersionInfo(
  ffi=FixedFileInfo(filevers={four}, prodvers={four}, mask=0x3f, flags=0x0,
                    OS=0x40004, fileType=0x1, subtype=0x0, date=(0, 0)),
  kids=[
    StringFileInfo([
      StringTable('040904B0', [
{table}
      ])
    ]),
    VarFileInfo([VarStruct('Translation', [1033, 1200])])
  ]
)
"""


# --- Where things go ----------------------------------------------------------------


def is_inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def work_dir(dist: Path) -> Path:
    return dist / ".work"


def default_dist(onefile: bool) -> Path:
    # One-folder and one-file outputs share a name; separate folders keep both.
    return DEFAULT_DIST / "onefile" if onefile else DEFAULT_DIST


@dataclass(frozen=True)
class Executables:
    """Where the built programs are. `cli` has a console on every platform."""

    gui: Path
    cli: Path
    bundle: Path  # the folder (or single file, or .app) to sign and ship


def executables(dist: Path, onefile: bool, platform: str | None = None) -> Executables:
    key = platform_key(platform)
    if key == "win32":
        if onefile:
            exe = dist / f"{APP_NAME}.exe"
            return Executables(exe, exe, exe)
        folder = dist / APP_NAME
        # The GUI has no console (no black window behind the wizard); scripts and
        # CI use the console twin, which shares the same _internal folder.
        return Executables(folder / f"{APP_NAME}.exe", folder / f"{APP_NAME}-cli.exe", folder)
    if key == "darwin" and not onefile:
        app = dist / f"{MAC_APP_NAME}.app"
        exe = app / "Contents" / "MacOS" / APP_NAME
        return Executables(exe, exe, app)
    if onefile:
        exe = dist / APP_NAME
        return Executables(exe, exe, exe)
    folder = dist / APP_NAME
    exe = folder / APP_NAME
    return Executables(exe, exe, folder)


def folder_size(path: Path) -> int:
    """Bytes on disk of a file or folder, counting each file once, links not followed."""
    if path.is_file():
        return path.stat().st_size
    total = 0
    for dirpath, _dirnames, filenames in os.walk(path):
        for filename in filenames:
            file = Path(dirpath) / filename
            if not file.is_symlink():
                total += file.stat().st_size
    return total


# --- The build ----------------------------------------------------------------------


def pyinstaller_command(
    dist: Path,
    onefile: bool,
    clean: bool = False,
    codesign_identity: str | None = None,
    entitlements: Path | None = None,
    python: str = sys.executable,
) -> list[str]:
    command = [
        python,
        "-m",
        "PyInstaller",
        str(SPEC),
        "--noconfirm",
        "--log-level",
        "WARN",
        "--distpath",
        str(dist),
        "--workpath",
        str(work_dir(dist)),
    ]
    if clean:
        command.append("--clean")
    spec_args = []
    if onefile:
        spec_args.append("--onefile")
    if codesign_identity:
        spec_args += ["--codesign-identity", codesign_identity]
    if entitlements:
        spec_args += ["--entitlements", str(entitlements)]
    if spec_args:
        command += ["--", *spec_args]
    return command


def parse_spec_args(argv: Sequence[str]) -> argparse.Namespace:
    """The options build.py hands the spec after `--`."""
    parser = argparse.ArgumentParser(prog="relay-wizard.spec")
    parser.add_argument("--onefile", action="store_true")
    parser.add_argument("--codesign-identity", default=None)
    parser.add_argument("--entitlements", default=None)
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="build.py", description="Build Relay Wizard with PyInstaller."
    )
    parser.add_argument("--onefile", action="store_true", help="one executable instead of a folder")
    parser.add_argument("--dist", type=Path, help="output folder (default: dist/)")
    parser.add_argument("--clean", action="store_true", help="empty PyInstaller's cache first")
    parser.add_argument(
        "--codesign-identity",
        help="macOS: sign every binary with this Developer ID (hardened runtime)",
    )
    parser.add_argument(
        "--entitlements",
        type=Path,
        help=f"macOS: entitlements for signing (default with an identity: {ENTITLEMENTS.name})",
    )
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))

    dist = (args.dist or default_dist(args.onefile)).resolve()
    if is_inside(dist, BUILD_DIR):
        parser.error("the output folder must be outside build/ (build/ holds only sources)")
    key = platform_key()
    if args.onefile and key == "darwin":
        parser.error("--onefile is not for macOS: ship the .app bundle (one-folder)")
    if (args.codesign_identity or args.entitlements) and key != "darwin":
        parser.error("--codesign-identity and --entitlements are for macOS builds")
    entitlements = args.entitlements or (ENTITLEMENTS if args.codesign_identity else None)

    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        print(
            'build: PyInstaller is not installed; run: python -m pip install -e ".[build]"',
            file=sys.stderr,
        )
        return 2

    command = pyinstaller_command(
        dist, args.onefile, args.clean, args.codesign_identity, entitlements
    )
    print("build:", " ".join(command), flush=True)
    status = subprocess.call(command, cwd=ROOT)
    if status != 0:
        print(f"build: PyInstaller failed (exit code {status})", file=sys.stderr)
        return status
    built = executables(dist, args.onefile)
    if not built.gui.exists():
        print(f"build: PyInstaller finished but {built.gui} is missing", file=sys.stderr)
        return 1
    size = folder_size(built.bundle)
    print(f"build: {built.bundle} ({size / 1e6:.1f} MB)")
    print(f"build: run it with: {built.cli} --version")
    return 0


if __name__ == "__main__":
    sys.exit(main())
