"""A translucent sheet over a window listing its keyboard shortcuts (shown on F1 or ?)."""
from __future__ import annotations

from collections.abc import Sequence

from PySide6 import QtCore, QtGui, QtWidgets

from . import theme

_SHADE = QtGui.QColor(8, 10, 14, 190)
_KEY_STYLE = (f"QLabel {{ color: {theme.TEXT}; background: #2f343d; border: 1px solid #4a505c;"
              " border-radius: 4px; padding: 2px 7px; font-family: monospace; }")


class ShortcutOverlay(QtWidgets.QWidget):
    """Covers its parent while shown; a click or Escape hides it again."""

    def __init__(self, parent: QtWidgets.QWidget, shortcuts: Sequence[tuple[str, str]] = ()):
        super().__init__(parent)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self._card = QtWidgets.QFrame(self)
        self._card.setObjectName("shortcutCard")
        self._card.setStyleSheet(f"#shortcutCard {{ background: {theme.PANEL};"
                                 " border: 1px solid #3a3f4a; border-radius: 10px; }")
        self._grid = QtWidgets.QGridLayout()
        self._grid.setHorizontalSpacing(16)
        self._grid.setVerticalSpacing(6)
        title = QtWidgets.QLabel("Keyboard shortcuts")
        title.setStyleSheet(f"color: {theme.TEXT}; font-size: 15px; font-weight: 600;")
        hint = QtWidgets.QLabel("Click anywhere or press Esc to close")
        hint.setStyleSheet(f"color: {theme.MUTED_TEXT};")
        column = QtWidgets.QVBoxLayout(self._card)
        column.setContentsMargins(24, 18, 24, 18)
        column.setSpacing(12)
        column.addWidget(title)
        column.addLayout(self._grid)
        column.addWidget(hint)
        self.set_shortcuts(shortcuts)
        parent.installEventFilter(self)
        self.hide()

    def set_shortcuts(self, shortcuts: Sequence[tuple[str, str]]) -> None:
        """List (keys, description) pairs, e.g. ("Ctrl+Z", "Undo")."""
        while self._grid.count():
            self._grid.takeAt(0).widget().deleteLater()
        for row, (keys, description) in enumerate(shortcuts):
            key_label = QtWidgets.QLabel(keys)
            key_label.setStyleSheet(_KEY_STYLE)
            text = QtWidgets.QLabel(description)
            text.setStyleSheet(f"color: {theme.TEXT};")
            self._grid.addWidget(key_label, row, 0, QtCore.Qt.AlignmentFlag.AlignRight)
            self._grid.addWidget(text, row, 1)
        self._card.adjustSize()
        self._place()

    def toggle(self) -> None:
        self.setVisible(not self.isVisible())

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        self._place()
        self.raise_()
        self.setFocus()
        super().showEvent(event)

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        QtGui.QPainter(self).fillRect(self.rect(), _SHADE)

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        self.hide()

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        if event.key() == QtCore.Qt.Key.Key_Escape:
            self.hide()
        else:
            super().keyPressEvent(event)

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if watched is self.parentWidget() and event.type() == QtCore.QEvent.Type.Resize:
            self._place()
        return False

    def _place(self) -> None:
        """Cover the parent and centre the card."""
        self.setGeometry(self.parentWidget().rect())
        card = self._card.sizeHint()
        self._card.setGeometry(QtWidgets.QStyle.alignedRect(
            QtCore.Qt.LayoutDirection.LeftToRight, QtCore.Qt.AlignmentFlag.AlignCenter, card,
            self.rect()))
