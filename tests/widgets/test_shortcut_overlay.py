"""ShortcutOverlay covers its window when toggled and goes away on Esc or a click."""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest

from widgets.shortcut_overlay import ShortcutOverlay


def test_toggle_cover_and_dismiss(qtbot):
    window = QtWidgets.QWidget()
    qtbot.addWidget(window)
    window.resize(500, 400)
    overlay = ShortcutOverlay(window, [("F1", "Shortcuts"), ("Ctrl+Z", "Undo")])
    window.show()
    qtbot.waitExposed(window)
    assert not overlay.isVisible()
    overlay.toggle()
    assert overlay.isVisible() and overlay.geometry() == window.rect()
    window.resize(640, 480)
    qtbot.waitUntil(lambda: overlay.geometry() == window.rect())
    QTest.keyClick(overlay, QtCore.Qt.Key.Key_Escape)
    assert not overlay.isVisible()
    overlay.toggle()
    QTest.mouseClick(overlay, QtCore.Qt.MouseButton.LeftButton)
    assert not overlay.isVisible()
    texts = [label.text() for label in overlay.findChildren(QtWidgets.QLabel)]
    assert {"F1", "Shortcuts", "Ctrl+Z", "Undo"} <= set(texts)
