"""Choice of the depth style (thumbnails of the style bank or none), the chosen style's picture
and caption, and its strength."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from . import theme
from .images import thumbnail_icon

NO_STYLE = ""                    # what styleChosen carries for "None"
_THUMBNAIL_PX = 72
_PREVIEW_PX = 120  # the chosen style's thumbnail, big enough to see its holes and edges
_STRENGTH_STEPS = 100
_NAME_ROLE = QtCore.Qt.ItemDataRole.UserRole


class StylePicker(QtWidgets.QWidget):
    """Style bank as thumbnails, with "None" first, and the chosen style's thumbnail large with
    a caption under it. The app loads images and applies styles: "Add style image…" only emits
    ``styleImageRequested`` so the app can open its file dialog and then call ``add_style``.
    """

    styleChosen = QtCore.Signal(str)       # style name, or NO_STYLE
    styleImageRequested = QtCore.Signal()
    strengthChanged = QtCore.Signal(float)  # 0 … 1

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self._thumbnails: dict[str, np.ndarray] = {}
        self._preview = QtWidgets.QLabel()
        self._preview.setFixedHeight(_PREVIEW_PX)
        self._preview.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self._caption = QtWidgets.QLabel()
        self._caption.setWordWrap(True)
        self._caption.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self._caption.setStyleSheet(f"color: {theme.MUTED_TEXT};")
        self._list = QtWidgets.QListWidget()
        self._list.setViewMode(QtWidgets.QListView.ViewMode.IconMode)
        self._list.setIconSize(QtCore.QSize(_THUMBNAIL_PX, _THUMBNAIL_PX))
        self._list.setGridSize(QtCore.QSize(_THUMBNAIL_PX + 20, _THUMBNAIL_PX + 26))
        self._list.setResizeMode(QtWidgets.QListView.ResizeMode.Adjust)
        self._list.setMovement(QtWidgets.QListView.Movement.Static)
        self._list.setWordWrap(True)
        self._list.setMinimumHeight(_THUMBNAIL_PX + 36)
        self._add_button = QtWidgets.QPushButton("Add style image…")
        self._add_button.setToolTip("Use any depth PNG as a style")
        self._strength = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self._strength.setRange(0, _STRENGTH_STEPS)
        self._strength.setValue(_STRENGTH_STEPS)
        self._strength.setToolTip("How much of the style to apply")
        self._strength_label = QtWidgets.QLabel()
        self._strength_label.setMinimumWidth(32)

        strength_row = QtWidgets.QHBoxLayout()
        strength_row.addWidget(QtWidgets.QLabel("Strength"))
        strength_row.addWidget(self._strength, 1)
        strength_row.addWidget(self._strength_label)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self._list, 1)
        layout.addWidget(self._preview)
        layout.addWidget(self._caption)
        layout.addWidget(self._add_button)
        layout.addLayout(strength_row)

        self._list.itemClicked.connect(self._on_item_clicked)
        self._add_button.clicked.connect(self.styleImageRequested)
        self._strength.valueChanged.connect(self._on_strength_moved)
        self.set_styles([])

    # -- public API ---------------------------------------------------------------------------
    def set_styles(self, styles: Sequence[tuple[str, str, np.ndarray]]) -> None:
        """Replace the bank with (name, title, thumbnail uint8 HxW or HxWx3) entries."""
        current = self.current_style
        self._list.clear()
        self._thumbnails.clear()
        none = QtWidgets.QListWidgetItem(_none_icon(), "None")
        none.setData(_NAME_ROLE, NO_STYLE)
        none.setToolTip("The generator's output without a style")
        self._list.addItem(none)
        for name, title, thumbnail in styles:
            self.add_style(name, title, thumbnail)
        self.set_current_style(current if self._row_of(current) >= 0 else NO_STYLE)

    def add_style(self, name: str, title: str, thumbnail: np.ndarray) -> None:
        """Append one style (e.g. after the user added an image); does not select it."""
        item = QtWidgets.QListWidgetItem(thumbnail_icon(thumbnail, _THUMBNAIL_PX), title)
        item.setData(_NAME_ROLE, name)
        item.setToolTip(title)
        self._list.addItem(item)
        self._thumbnails[name] = thumbnail

    def set_current_style(self, name: str) -> None:
        """Select a style by name without emitting styleChosen."""
        row = self._row_of(name)
        if row < 0:
            raise KeyError(name)
        with QtCore.QSignalBlocker(self._list):
            self._list.setCurrentRow(row)
        self._strength.setEnabled(name != NO_STYLE)
        self._show_preview(name)

    def set_caption(self, text: str) -> None:
        """The line under the chosen style's picture (e.g. what was assumed about its units)."""
        self._caption.setText(text)
        self._caption.setToolTip(text)

    @property
    def caption(self) -> str:
        return self._caption.text()

    @property
    def preview_shown(self) -> bool:
        """A style's picture is shown (none for "None")."""
        pixmap = self._preview.pixmap()
        return pixmap is not None and not pixmap.isNull()

    def set_strength(self, value: float) -> None:
        """Show the strength (0 … 1) without emitting strengthChanged."""
        with QtCore.QSignalBlocker(self._strength):
            self._strength.setValue(round(float(value) * _STRENGTH_STEPS))
        self._show_strength()

    @property
    def current_style(self) -> str:
        item = self._list.currentItem()
        return item.data(_NAME_ROLE) if item is not None else NO_STYLE

    @property
    def strength(self) -> float:
        return self._strength.value() / _STRENGTH_STEPS

    def style_names(self) -> list[str]:
        return [self._list.item(i).data(_NAME_ROLE) for i in range(self._list.count())]

    # -- handlers -----------------------------------------------------------------------------
    def _row_of(self, name: str) -> int:
        names = self.style_names()
        return names.index(name) if name in names else -1

    def _on_item_clicked(self, item: QtWidgets.QListWidgetItem) -> None:
        name = item.data(_NAME_ROLE)
        self._strength.setEnabled(name != NO_STYLE)
        self._show_preview(name)
        self.styleChosen.emit(name)

    def _show_preview(self, name: str) -> None:
        thumbnail = self._thumbnails.get(name)
        if thumbnail is None:
            self._preview.clear()
            self.set_caption("")
            return
        self._preview.setPixmap(thumbnail_icon(thumbnail, _PREVIEW_PX).pixmap(_PREVIEW_PX, _PREVIEW_PX))

    def _on_strength_moved(self, value: int) -> None:
        self._show_strength()
        self.strengthChanged.emit(value / _STRENGTH_STEPS)

    def _show_strength(self) -> None:
        self._strength_label.setText(f"{self.strength:.2f}")


def _none_icon() -> QtGui.QIcon:
    """A crossed-out empty frame, the usual picture for "no style"."""
    pix = QtGui.QPixmap(_THUMBNAIL_PX, _THUMBNAIL_PX)
    pix.fill(QtCore.Qt.GlobalColor.transparent)
    painter = QtGui.QPainter(pix)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    painter.setPen(QtGui.QPen(QtGui.QColor(theme.MUTED_TEXT), 2))
    inset = 8
    rect = QtCore.QRectF(inset, inset, _THUMBNAIL_PX - 2 * inset, _THUMBNAIL_PX - 2 * inset)
    painter.drawRoundedRect(rect, 6, 6)
    painter.drawLine(rect.bottomLeft(), rect.topRight())
    painter.end()
    return QtGui.QIcon(pix)
