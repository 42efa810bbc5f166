"""House rule: widgets/ import neither app nor engine; viewport_math stays free of Qt."""
from __future__ import annotations

import ast
from pathlib import Path

WIDGETS = Path(__file__).resolve().parents[2] / "widgets"
FORBIDDEN = {"app", "engine"}
QT_LIKE = {"PySide6", "shiboken6", "vispy", "pyqtgraph"}


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_widgets_import_neither_app_nor_engine():
    modules = sorted(WIDGETS.glob("*.py"))
    assert modules
    offenders = {p.name: _imported_roots(p) & FORBIDDEN for p in modules}
    assert not {name: bad for name, bad in offenders.items() if bad}


def test_viewport_math_is_pure_numpy():
    assert not _imported_roots(WIDGETS / "viewport_math.py") & QT_LIKE
