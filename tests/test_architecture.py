"""The house rule: imports flow main -> app -> {widgets, engine}; engine is Qt-free."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUI_LIBS = {"PySide6", "shiboken6", "vispy", "pyqtgraph"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def files(package: str) -> list[Path]:
    found = sorted((ROOT / package).rglob("*.py"))
    assert found, f"{package}/ has no modules"
    return found


@pytest.mark.parametrize("path", files("engine"), ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_imports_no_gui_and_nothing_above_it(path):
    bad = imported_roots(path) & (GUI_LIBS | {"app", "widgets"})
    assert not bad, f"{path} imports {bad}"


@pytest.mark.parametrize("path", files("widgets"), ids=lambda p: str(p.relative_to(ROOT)))
def test_widgets_know_neither_app_nor_engine(path):
    bad = imported_roots(path) & {"app", "engine"}
    assert not bad, f"{path} imports {bad}"


def test_weights_are_never_unpickled():
    offenders = []
    for path in [*ROOT.glob("*.py"), *ROOT.glob("engine/**/*.py"), *ROOT.glob("app/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "load" \
                    and getattr(node.func.value, "id", None) == "torch":
                if not any(k.arg == "weights_only" and getattr(k.value, "value", None) is True for k in node.keywords):
                    offenders.append(str(path))
    assert not offenders


def test_viewport_math_is_pure_numpy():
    assert not imported_roots(ROOT / "widgets" / "viewport_math.py") & GUI_LIBS


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


# Inside engine/, lower rooms never import higher ones: the hand's anatomy lives in engine/hand
# (the renderer imports it, not the reverse), and data caches know nothing of trainers.
ENGINE_FLOORS = {"engine/hand": ("engine.sim", "engine.data", "engine.models", "engine.train"),
                 "engine/data": ("engine.train", "engine.eval")}


@pytest.mark.parametrize("room", sorted(ENGINE_FLOORS))
def test_engine_rooms_import_only_downwards(room):
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p) if m.startswith(ENGINE_FLOORS[room]))
                 for p in files(room)}
    assert not {p: m for p, m in offenders.items() if m}
