"""Packaging (build/): the bundle's rules and the spec's wiring, checked without building.

The real PyInstaller build takes about a minute and runs in .ci/run (it then runs the
frozen self-test); these checks take about a second.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import plistlib
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from wizard.services import paths

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
SPEC = BUILD / "relay-wizard.spec"


def _load_rules() -> ModuleType:
    name = "relay_wizard_build"  # the name the spec loads it under, too
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BUILD / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


rules = _load_rules()


# --- Where the build writes ---------------------------------------------------------


def test_build_folder_holds_only_the_spec_and_one_script() -> None:
    files = {p.name for p in BUILD.iterdir() if p.name != "__pycache__"}
    assert files <= {"relay-wizard.spec", "build.py", "entitlements.plist"}
    assert {"relay-wizard.spec", "build.py"} <= files


@pytest.mark.parametrize("onefile", [False, True])
def test_work_and_output_folders_are_outside_build_and_git_ignored(onefile: bool) -> None:
    dist = rules.default_dist(onefile)
    command = rules.pyinstaller_command(dist, onefile)
    distpath = Path(command[command.index("--distpath") + 1])
    workpath = Path(command[command.index("--workpath") + 1])
    for folder in (distpath, workpath):
        assert not rules.is_inside(folder, BUILD)
        assert rules.is_inside(folder, ROOT / "dist")
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert "dist/" in ignored
    if onefile:
        assert command[-2:] == ["--", "--onefile"]
    else:
        assert "--" not in command


def test_build_script_refuses_an_output_folder_inside_build(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stopped:
        rules.main(["--dist", str(BUILD / "out")])
    assert stopped.value.code == 2
    assert "outside build/" in capsys.readouterr().err
    assert not (BUILD / "out").exists()


def test_one_folder_and_one_file_builds_do_not_overwrite_each_other() -> None:
    folder = rules.executables(rules.default_dist(False), onefile=False, platform="linux")
    single = rules.executables(rules.default_dist(True), onefile=True, platform="linux")
    assert folder.bundle != single.bundle
    assert not rules.is_inside(single.bundle, folder.bundle)
    assert not rules.is_inside(folder.bundle, single.bundle)


def test_windows_folder_has_a_console_twin_for_scripts() -> None:
    built = rules.executables(Path("dist"), onefile=False, platform="win32")
    assert built.gui.name == "relay-wizard.exe"
    assert built.cli.name == "relay-wizard-cli.exe"
    assert built.gui.parent == built.cli.parent == built.bundle


# --- What goes in ---------------------------------------------------------------------


def test_resources_resolve_the_same_frozen_and_from_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [(source, dest)] = rules.resource_datas()
    assert Path(source) == paths.resources_dir() == ROOT / "resources"
    assert (Path(source) / "vendors.json").is_file()
    # Frozen, PyInstaller unpacks datas under sys._MEIPASS (the _internal folder).
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert paths.resources_dir() == tmp_path / dest
    assert paths.resource("vendors.json") == tmp_path / dest / "vendors.json"


def test_every_wizard_module_is_named_for_the_bundle() -> None:
    modules = set(rules.wizard_modules())
    files = [p for p in (ROOT / "wizard").rglob("*.py") if "__pycache__" not in p.parts]
    assert len(modules) == len(files)
    assert {"wizard", "wizard.app", "wizard.cli", "wizard.services.paths"} <= modules
    for name in modules:
        as_path = ROOT.joinpath(*name.split("."))
        assert as_path.with_suffix(".py").is_file() or (as_path / "__init__.py").is_file()


def test_wizard_modules_skip_caches(tmp_path: Path) -> None:
    (tmp_path / "wizard" / "ui" / "__pycache__").mkdir(parents=True)
    (tmp_path / "wizard" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "wizard" / "ui" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "wizard" / "ui" / "page.py").write_text("", encoding="utf-8")
    (tmp_path / "wizard" / "ui" / "__pycache__" / "page.py").write_text("", encoding="utf-8")
    assert rules.wizard_modules(tmp_path) == ["wizard", "wizard.ui", "wizard.ui.page"]


def test_qt_modules_the_app_imports_are_never_excluded() -> None:
    used = rules.qt_modules_used()
    excluded = set(rules.qt_module_excludes(rules.installed_qt_modules(), used))
    imported = {".".join(name.split(".")[:2]) for name in rules.qt_imports() if "." in name}
    assert imported, "the app imports Qt"
    assert not imported & excluded
    assert {"PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets"}.isdisjoint(excluded)


def test_a_qt_module_brings_the_modules_it_needs(tmp_path: Path) -> None:
    (tmp_path / "wizard").mkdir()
    (tmp_path / "wizard" / "view.py").write_text(
        "from PySide6.QtSvgWidgets import QSvgWidget\nfrom PySide6 import QtPrintSupport\n",
        encoding="utf-8",
    )
    (tmp_path / "wizard" / "half_written.py").write_text("def broken(:\n", encoding="utf-8")
    used = rules.qt_modules_used(tmp_path)
    assert used == {"QtCore", "QtGui", "QtWidgets", "QtSvg", "QtSvgWidgets", "QtPrintSupport"}
    excluded = rules.qt_module_excludes(["QtCore", "QtNetwork", "QtSvg", "QtQml"], used)
    assert excluded == ["PySide6.QtNetwork", "PySide6.QtQml"]


def test_qt_translations_ship_only_when_the_app_loads_them(tmp_path: Path) -> None:
    without, with_ = tmp_path / "without", tmp_path / "with"
    for root in (without, with_):
        (root / "wizard").mkdir(parents=True)
        (root / "wizard" / "app.py").write_text("import sys\n", encoding="utf-8")
    (with_ / "wizard" / "i18n.py").write_text(
        "from PySide6.QtCore import QTranslator\n", encoding="utf-8"
    )
    assert not rules.uses_qt_translations(without)
    assert rules.uses_qt_translations(with_)
    kept, dropped = rules.drop_qt_translations(
        [
            ("PySide6/Qt/translations/qtbase_de.qm", "x", "DATA"),
            ("PySide6\\translations\\qt_fr.qm", "x", "DATA"),
            ("resources/translations/wizard_de.qm", "x", "DATA"),
        ]
    )
    assert [d for d, _s, _k in kept] == ["resources/translations/wizard_de.qm"]
    assert len(dropped) == 2


# --- What stays out -------------------------------------------------------------------


def test_keyrings_alt_is_excluded() -> None:
    assert {"keyrings", "keyrings.alt"} <= set(rules.EXCLUDED_MODULES)


@pytest.mark.parametrize(
    ("dest", "dropped"),
    [
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", True),
        ("PySide6/Qt/plugins/platforminputcontexts/libqtvirtualkeyboardplugin.so", True),
        ("PySide6/Qt/plugins/imageformats/libqpdf.so", True),
        ("PySide6/Qt/plugins/platforms/libqeglfs.so", True),
        ("PySide6/Qt/plugins/platforms/libqvnc.so", True),
        ("PySide6/Qt/plugins/platforms/libqlinuxfb.so", True),
        ("PySide6/Qt/plugins/egldeviceintegrations/libqeglfs-kms-integration.so", True),
        ("PySide6/Qt/plugins/tls/libqopensslbackend.so", True),
        ("PySide6\\plugins\\platforms\\qminimal.dll", True),
        ("PySide6/plugins/imageformats/qtiff.dll", True),
        ("PySide6/Qt/plugins/platforms/libqxcb.so", False),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", False),
        ("PySide6/Qt/plugins/platforms/libqwayland.so", False),
        ("PySide6/Qt/plugins/platformthemes/libqxdgdesktopportal.so", False),
        ("PySide6/Qt/plugins/platforminputcontexts/libcomposeplatforminputcontextplugin.so", False),
        ("PySide6/Qt/plugins/imageformats/libqsvg.so", False),
        ("PySide6/Qt/plugins/imageformats/libqjpeg.so", False),
        ("PySide6/Qt/plugins/iconengines/libqsvgicon.so", False),
        ("PySide6/plugins/platforms/qwindows.dll", False),
        ("PySide6/plugins/styles/qmodernwindowsstyle.dll", False),
        ("PySide6/Qt/plugins/platforms/libqcocoa.dylib", False),
        ("PySide6/Qt/lib/libQt6Gui.so.6", False),
        ("libgtk-3.so.0", False),  # libraries go by reachability, not by name
    ],
)
def test_plugin_rules(dest: str, dropped: bool) -> None:
    assert (rules.drop_reason(dest) is not None) == dropped


@pytest.mark.parametrize("platform", ["linux", "win32", "darwin"])
def test_no_rule_drops_a_required_plugin(platform: str) -> None:
    for folder, name in rules.REQUIRED_PLUGINS[platform]:
        assert folder not in rules.DROPPED_PLUGIN_FOLDERS
        assert (folder, name) not in rules.DROPPED_PLUGINS


def test_libraries_only_dropped_plugins_needed_are_pruned() -> None:
    graph = {
        "/qt/QtWidgets.so": ["/qt/lib/libQt6Widgets.so.6"],
        "/qt/lib/libQt6Widgets.so.6": ["/qt/lib/libQt6Gui.so.6", "/usr/lib/libstdc++.so.6"],
        "/qt/lib/libQt6Gui.so.6": ["/qt/lib/libQt6Core.so.6"],
        "/qt/plugins/platforms/libqxcb.so": ["/qt/lib/libQt6XcbQpa.so.6", "/not/collected.so"],
        "/qt/lib/libQt6Network.so.6": ["/usr/lib/libssl.so.3"],
        "/usr/lib/libgtk-3.so.0": ["/usr/lib/libcairo.so.2"],
    }
    binaries = [
        ("PySide6/QtWidgets.abi3.so", "/qt/QtWidgets.so", "EXTENSION"),
        ("PySide6/Qt/plugins/platforms/libqxcb.so", "/qt/plugins/platforms/libqxcb.so", "BINARY"),
        ("PySide6/Qt/lib/libQt6Widgets.so.6", "/qt/lib/libQt6Widgets.so.6", "BINARY"),
        ("PySide6/Qt/lib/libQt6Gui.so.6", "/qt/lib/libQt6Gui.so.6", "BINARY"),
        ("PySide6/Qt/lib/libQt6Core.so.6", "/qt/lib/libQt6Core.so.6", "BINARY"),
        ("PySide6/Qt/lib/libQt6XcbQpa.so.6", "/qt/lib/libQt6XcbQpa.so.6", "BINARY"),
        ("PySide6/Qt/lib/libQt6Network.so.6", "/qt/lib/libQt6Network.so.6", "BINARY"),
        ("libstdc++.so.6", "/usr/lib/libstdc++.so.6", "BINARY"),
        ("libssl.so.3", "/usr/lib/libssl.so.3", "BINARY"),
        ("libgtk-3.so.0", "/usr/lib/libgtk-3.so.0", "BINARY"),
        ("libcairo.so.2", "/usr/lib/libcairo.so.2", "BINARY"),
        ("libdbus-1.so.3", "/usr/lib/libdbus-1.so.3", "BINARY"),
        ("libpython3.11.so.1.0", "/py/libpython3.11.so.1.0", "BINARY"),
    ]
    kept, dropped = rules.prune_unreachable(binaries, lambda source: graph.get(source, []))
    assert {d for d, _s, _k in dropped} == {
        "PySide6/Qt/lib/libQt6Network.so.6",
        "libssl.so.3",
        "libgtk-3.so.0",
        "libcairo.so.2",
    }
    assert len(kept) + len(dropped) == len(binaries)
    assert kept == [entry for entry in binaries if entry not in dropped]  # order kept


def test_links_to_dropped_libraries_are_dropped() -> None:
    datas = [
        ("libQt6Gui.so.6", "PySide6/Qt/lib/libQt6Gui.so.6", "SYMLINK"),
        ("libQt6Network.so.6", "PySide6/Qt/lib/libQt6Network.so.6", "SYMLINK"),
        ("resources/vendors.json", "/src/resources/vendors.json", "DATA"),
    ]
    kept, dropped = rules.drop_dangling_symlinks(datas, {"PySide6/Qt/lib/libQt6Gui.so.6"})
    assert [d for d, _s, _k in dropped] == ["libQt6Network.so.6"]
    assert [d for d, _s, _k in kept] == ["libQt6Gui.so.6", "resources/vendors.json"]


# --- What must be there ---------------------------------------------------------------

_PLUGIN_DESTS = {
    "linux": [
        "PySide6/Qt/plugins/platforms/libqoffscreen.so",
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/plugins/imageformats/libqsvg.so",
    ],
    "win32": [
        "PySide6\\plugins\\platforms\\qoffscreen.dll",
        "PySide6\\plugins\\platforms\\qwindows.dll",
        "PySide6\\plugins\\imageformats\\qsvg.dll",
    ],
    "darwin": [
        "PySide6/Qt/plugins/platforms/libqoffscreen.dylib",
        "PySide6/Qt/plugins/platforms/libqcocoa.dylib",
        "PySide6/Qt/plugins/imageformats/libqsvg.dylib",
    ],
}


def _complete(platform: str) -> tuple[list[str], list[str], list[str]]:
    modules = ["keyring", "keyring.backends.chainer", rules.KEYRING_BACKENDS[platform]]
    modules += ["wizard.app", "wizard.cli"]
    datas = [
        "certifi/cacert.pem",
        "keyring-25.7.0.dist-info/entry_points.txt",
        "resources/vendors.json",
    ]
    return modules, datas, list(_PLUGIN_DESTS[platform])


@pytest.mark.parametrize("platform", ["linux", "win32", "darwin"])
def test_a_complete_bundle_passes(platform: str) -> None:
    assert rules.bundle_problems(*_complete(platform), platform=platform) == []


@pytest.mark.parametrize("platform", ["linux", "win32", "darwin"])
def test_each_missing_part_stops_the_build(platform: str) -> None:
    modules, datas, binaries = _complete(platform)
    for index, module in enumerate(modules):
        if module == "keyring.backends.chainer":
            continue
        problems = rules.bundle_problems(
            modules[:index] + modules[index + 1 :], datas, binaries, platform=platform
        )
        assert problems == [f"module {module} is missing"]
    for index, expected in enumerate(["CA bundle", "keyring's metadata", "resources/"]):
        problems = rules.bundle_problems(
            modules, datas[:index] + datas[index + 1 :], binaries, platform=platform
        )
        assert len(problems) == 1 and expected in problems[0]
    for index in range(len(binaries)):
        problems = rules.bundle_problems(
            modules, datas, binaries[:index] + binaries[index + 1 :], platform=platform
        )
        assert len(problems) == 1 and problems[0].startswith("Qt plugin")


@pytest.mark.parametrize(
    ("module", "data"),
    [("keyrings.alt.file", None), (None, "keyrings.alt-5.0.2.dist-info/entry_points.txt")],
)
def test_keyrings_alt_stops_the_build(module: str | None, data: str | None) -> None:
    modules, datas, binaries = _complete("linux")
    problems = rules.bundle_problems(
        modules + ([module] if module else []),
        datas + ([data] if data else []),
        binaries,
        platform="linux",
    )
    assert len(problems) == 1 and "keyrings.alt must never ship" in problems[0]


# --- The spec, run against a stand-in PyInstaller -------------------------------------


class _Recorder:
    """Stands in for PyInstaller's spec classes: keeps what the spec hands them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def cls(self, name: str, result: Callable[..., Any] | None = None) -> Callable[..., Any]:
        def make(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args, kwargs))
            return result(*args, **kwargs) if result else (name, args, kwargs)

        return make

    def named(self, name: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        return [(args, kwargs) for n, args, kwargs in self.calls if n == name]


def _qt_file(*parts: str) -> str:
    spec = importlib.util.find_spec("PySide6")
    assert spec is not None and spec.submodule_search_locations
    return str(Path(next(iter(spec.submodule_search_locations))).joinpath(*parts))


# Stand-in plugin files per platform: (folder, file name, kept by the rules).
_FAKE_PLUGINS = {
    "win32": [
        ("platforms", "qwindows.dll", True),
        ("platforms", "qoffscreen.dll", True),
        ("platforms", "qminimal.dll", False),
        ("imageformats", "qsvg.dll", True),
        ("imageformats", "qtiff.dll", False),
        ("styles", "qmodernwindowsstyle.dll", True),
    ],
    "darwin": [
        ("platforms", "libqcocoa.dylib", True),
        ("platforms", "libqoffscreen.dylib", True),
        ("platforms", "libqminimal.dylib", False),
        ("imageformats", "libqsvg.dylib", True),
        ("imageformats", "libqwebp.dylib", False),
        ("styles", "libqmacstyle.dylib", True),
    ],
}


def _analysis_result(pure_extra: list[str], platform: str) -> Callable[..., Any]:
    """What PyInstaller's analysis hands the spec, small. On Linux the files are real
    PySide6 files, so the spec's link walk (ldd) sees the real links."""

    def analysis(scripts: list[str], **kwargs: Any) -> Any:
        result = type("A", (), {})()
        result.scripts = [("main", scripts[0], "PYSOURCE")]
        modules = ["keyring", rules.KEYRING_BACKENDS[platform], "wizard.app", "wizard.cli"]
        result.pure = [(m, "/src/x.py", "PYMODULE") for m in modules + pure_extra]
        if platform == "linux":
            binaries = [("PySide6/QtWidgets.abi3.so", _qt_file("QtWidgets.abi3.so"), "EXTENSION")]
            for folder, name in [
                ("platforms", "libqxcb.so"),
                ("platforms", "libqoffscreen.so"),
                ("platforms", "libqvnc.so"),
                ("imageformats", "libqsvg.so"),
                ("imageformats", "libqtiff.so"),
            ]:
                dest = f"PySide6/Qt/plugins/{folder}/{name}"
                binaries.append((dest, _qt_file("Qt", "plugins", folder, name), "BINARY"))
            for name in ["Core", "Gui", "Widgets", "DBus", "XcbQpa", "Network", "OpenGL"]:
                lib = f"libQt6{name}.so.6"
                binaries.append((f"PySide6/Qt/lib/{lib}", _qt_file("Qt", "lib", lib), "BINARY"))
        else:
            plugins = "PySide6/plugins" if platform == "win32" else "PySide6/Qt/plugins"
            any_file = _qt_file("__init__.py")  # only its size is read
            binaries = [
                (f"{plugins}/{folder}/{name}", any_file, "BINARY")
                for folder, name, _kept in _FAKE_PLUGINS[platform]
            ]
        result.binaries = binaries
        [(resources, dest)] = kwargs["datas"]
        result.datas = [
            (f"{dest}/{p.relative_to(resources).as_posix()}", str(p), "DATA")
            for p in Path(resources).rglob("*")
            if p.is_file()
        ]
        result.datas += [
            ("certifi/cacert.pem", "/site/certifi/cacert.pem", "DATA"),
            ("keyring-25.7.0.dist-info/entry_points.txt", "/site/ep.txt", "DATA"),
            ("PySide6/Qt/translations/qtbase_de.qm", _qt_file("__init__.py"), "DATA"),
            ("libQt6Network.so.6", "PySide6/Qt/lib/libQt6Network.so.6", "SYMLINK"),
            ("libQt6Gui.so.6", "PySide6/Qt/lib/libQt6Gui.so.6", "SYMLINK"),
        ]
        return result

    return analysis


def _run_spec(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    spec_args: list[str] | None = None,
    pure_extra: list[str] | None = None,
    workpath: Path | None = None,
    platform: str = "linux",
) -> _Recorder:
    if platform == "linux":
        pytest.importorskip("PyInstaller", reason="the build extra is not installed")
    recorder = _Recorder()
    namespace: dict[str, Any] = {
        "__name__": "__main__",
        "SPECPATH": str(BUILD),
        "workpath": str(workpath or tmp_path / "work"),
        "DISTPATH": str(tmp_path / "dist"),
        "Analysis": recorder.cls("Analysis", _analysis_result(pure_extra or [], platform)),
        "PYZ": recorder.cls("PYZ"),
        "EXE": recorder.cls("EXE"),
        "COLLECT": recorder.cls("COLLECT"),
        "BUNDLE": recorder.cls("BUNDLE"),
    }
    monkeypatch.setattr(sys, "argv", [str(SPEC), *(spec_args or [])])
    # The spec reads the platform when it runs; Windows and macOS builds cannot run
    # here, but their branches of the spec can.
    monkeypatch.setattr(sys, "platform", platform)
    code = compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec")
    exec(code, namespace)
    return recorder


pytestmark_linux = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the stand-in analysis uses Linux Qt files"
)


def _dests(toc: list[tuple[str, str, str]]) -> set[str]:
    return {dest for dest, _source, _kind in toc}


@pytestmark_linux
def test_spec_builds_a_trimmed_one_folder_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    recorder = _run_spec(tmp_path, monkeypatch)
    [(_args, analysis)] = recorder.named("Analysis")
    assert {"keyrings", "keyrings.alt"} <= set(analysis["excludes"])
    assert analysis["datas"] == rules.resource_datas()
    assert set(rules.wizard_modules()) <= set(analysis["hiddenimports"])

    [(collected, collect_kwargs)] = recorder.named("COLLECT")
    assert collect_kwargs["name"] == "relay-wizard"
    exe, binaries, datas = collected
    assert exe[0] == "EXE" and exe[2]["console"] is True and exe[2]["upx"] is False
    assert exe[2]["exclude_binaries"] is True
    kept = _dests(binaries)
    assert {
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/plugins/platforms/libqoffscreen.so",
        "PySide6/Qt/plugins/imageformats/libqsvg.so",
        "PySide6/Qt/lib/libQt6Gui.so.6",
        "PySide6/Qt/lib/libQt6XcbQpa.so.6",
    } <= kept
    # vnc and tiff are dropped, and QtNetwork with them: only vnc linked it.
    assert not kept & {
        "PySide6/Qt/plugins/platforms/libqvnc.so",
        "PySide6/Qt/plugins/imageformats/libqtiff.so",
        "PySide6/Qt/lib/libQt6Network.so.6",
    }
    data_dests = _dests(datas)
    assert "resources/vendors.json" in data_dests
    assert "libQt6Gui.so.6" in data_dests and "libQt6Network.so.6" not in data_dests
    if not rules.uses_qt_translations():
        assert "PySide6/Qt/translations/qtbase_de.qm" not in data_dests
    assert "left out" in capsys.readouterr().out


@pytestmark_linux
def test_spec_onefile_packs_everything_into_one_executable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = _run_spec(tmp_path, monkeypatch, spec_args=["--onefile"])
    assert recorder.named("COLLECT") == []
    [(args, kwargs)] = recorder.named("EXE")
    assert kwargs["name"] == "relay-wizard" and kwargs["exclude_binaries"] is False
    _pyz, _scripts, binaries, datas = args
    assert "PySide6/Qt/plugins/platforms/libqoffscreen.so" in _dests(binaries)
    assert "resources/vendors.json" in _dests(datas)


@pytestmark_linux
def test_spec_stops_when_keyrings_alt_sneaks_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SystemExit, match="keyrings.alt must never ship"):
        _run_spec(tmp_path, monkeypatch, pure_extra=["keyrings.alt.file"])


def test_spec_stops_when_pyinstaller_would_work_inside_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a bare `pyinstaller build/relay-wizard.spec` from the repository does.
    with pytest.raises(SystemExit, match="inside build/"):
        _run_spec(tmp_path, monkeypatch, workpath=BUILD / "relay-wizard")
    assert not (BUILD / "relay-wizard").exists()


def test_spec_windows_folder_has_the_gui_and_its_console_twin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = _run_spec(tmp_path, monkeypatch, platform="win32")
    exes = {kwargs["name"]: kwargs for _args, kwargs in recorder.named("EXE")}
    assert set(exes) == {"relay-wizard", "relay-wizard-cli"}
    assert exes["relay-wizard"]["console"] is False  # no black window behind the wizard
    assert exes["relay-wizard-cli"]["console"] is True
    for kwargs in exes.values():
        assert kwargs["strip"] is False and kwargs["upx"] is False
        version_text = Path(kwargs["version"]).read_text(encoding="utf-8")
        assert f"'ProductVersion', '{rules.app_version()}'" in version_text
    [(collected, _kwargs)] = recorder.named("COLLECT")
    assert [item[2]["name"] for item in collected[:2]] == ["relay-wizard", "relay-wizard-cli"]
    kept = {dest.rsplit("/", 1)[1] for dest in _dests(collected[2])}
    assert kept == {name for _f, name, keep in _FAKE_PLUGINS["win32"] if keep}
    assert recorder.named("BUNDLE") == []


def test_spec_macos_makes_a_signed_app_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    identity = "Developer ID Application: Example (TEAM123456)"
    entitlements = str(BUILD / "entitlements.plist")
    recorder = _run_spec(
        tmp_path,
        monkeypatch,
        spec_args=["--codesign-identity", identity, "--entitlements", entitlements],
        platform="darwin",
    )
    [(_args, exe)] = recorder.named("EXE")
    assert exe["console"] is False and exe["strip"] is False
    assert exe["codesign_identity"] == identity and exe["entitlements_file"] == entitlements
    [(collected, _kwargs)] = recorder.named("COLLECT")
    kept = {dest.rsplit("/", 1)[1] for dest in _dests(collected[1])}
    assert kept == {name for _f, name, keep in _FAKE_PLUGINS["darwin"] if keep}
    [(_args, bundle)] = recorder.named("BUNDLE")
    assert bundle["name"] == "Relay Wizard.app"
    assert bundle["bundle_identifier"] == rules.MAC_BUNDLE_ID
    assert bundle["info_plist"]["CFBundleShortVersionString"] == rules.app_version()
    assert bundle["info_plist"]["NSHighResolutionCapable"] is True


def test_windows_version_text_fits_pyinstallers_version_classes() -> None:
    """PyInstaller evaluates the text with its versioninfo classes, on Windows only;
    here it is evaluated with stand-ins that take exactly those classes' arguments."""
    found = importlib.util.find_spec("PyInstaller")
    if found is None or not found.submodule_search_locations:
        pytest.skip("the build extra is not installed")
    source = Path(next(iter(found.submodule_search_locations)), "utils/win32/versioninfo.py")
    classes: dict[str, Any] = {}
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.ClassDef):
            continue
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                params = [a.arg for a in item.args.args[1:]]
                classes[node.name] = _stand_in(node.name, params)
    assert {"VSVersionInfo", "FixedFileInfo", "StringTable", "StringStruct"} <= set(classes)
    made = eval(rules.windows_version_text("1.2.3"), {"__builtins__": {}}, classes)
    assert made.kind == "VSVersionInfo"
    ffi = made.args["ffi"]
    assert ffi.args["filevers"] == ffi.args["prodvers"] == (1, 2, 3, 0)
    table = made.args["kids"][0].args["kids"][0]
    strings = {s.args["name"]: s.args["val"] for s in table.args["kids"]}
    assert strings["ProductVersion"] == "1.2.3"
    assert strings["OriginalFilename"] == "relay-wizard.exe"


def _stand_in(kind: str, params: list[str]) -> Callable[..., Any]:
    def make(*args: Any, **kwargs: Any) -> Any:
        assert len(args) <= len(params), f"{kind} takes at most {len(params)} arguments"
        assert set(kwargs) <= set(params), f"{kind} has no {set(kwargs) - set(params)}"
        made = type(kind, (), {})()
        made.kind = kind
        made.args = {**dict(zip(params, args, strict=False)), **kwargs}
        return made

    return make


# --- The frozen app's own needs ------------------------------------------------------


def test_mac_entitlements_relax_only_what_python_needs() -> None:
    with (BUILD / "entitlements.plist").open("rb") as file:
        entitlements = plistlib.load(file)
    assert entitlements == {"com.apple.security.cs.allow-unsigned-executable-memory": True}


@pytest.mark.parametrize(("argv", "code"), [(["--version"], 0), (["--no-such-option"], 2)])
def test_a_windowed_build_without_console_streams_does_not_crash(
    argv: list[str], code: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wizard import app, cli

    # main() installs its excepthooks; put pytest's back afterwards.
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    # What a Windows executable built without a console starts with.
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", None)
    try:
        with pytest.raises(SystemExit) as exited:
            app.main(argv)
        assert exited.value.code == code
        cli.print_json({"schema_version": 1})  # a --json subcommand's output
        assert sys.stdout is not None and sys.stdout.name == os.devnull
    finally:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.close()
