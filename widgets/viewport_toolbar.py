"""The 3D view's toolbar: snap-view buttons, the surface and frustum toggles, and the mouse hint.

The hint has a row of its own and wraps: squeezed beside the buttons it was cut off mid-word
at 1280x800 in A/B mode, and a hint that is cut off says nothing.
"""
from __future__ import annotations

from collections.abc import Sequence

from PySide6 import QtCore, QtWidgets

from . import theme

HINT = "drag joint: move · Shift+drag: rotate · wheel: zoom"
HINT_TIP = ("Drag a joint to move it (in the plane facing you) · Shift+drag the hand to rotate "
            "it · drag elsewhere to orbit, Shift+drag elsewhere to pan · right-drag or wheel to zoom")


class ViewportToolbar(QtWidgets.QWidget):
    """Buttons and toggles above the 3D canvas; it says what was pressed, the viewport acts."""

    viewSnapped = QtCore.Signal(str)
    surfaceToggled = QtCore.Signal(bool)
    frustumToggled = QtCore.Signal(bool)

    def __init__(self, views: Sequence[str], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        buttons = QtWidgets.QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.setSpacing(4)
        for view in views:
            button = QtWidgets.QToolButton(text=view.capitalize())
            button.setToolTip(f"Snap to the {view} view")
            button.clicked.connect(lambda _=False, v=view: self.viewSnapped.emit(v))
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.surface_toggle = QtWidgets.QCheckBox("Surface", checked=True)
        self.surface_toggle.setToolTip("Show the translucent hand surface")
        self.surface_toggle.toggled.connect(self.surfaceToggled)
        buttons.addWidget(self.surface_toggle)
        self.frustum_toggle = QtWidgets.QCheckBox("Frustum", checked=True)
        self.frustum_toggle.setToolTip("Show the depth camera's field of view")
        self.frustum_toggle.toggled.connect(self.frustumToggled)
        buttons.addWidget(self.frustum_toggle)

        self.hint = QtWidgets.QLabel(HINT)
        self.hint.setToolTip(HINT_TIP)
        self.hint.setStyleSheet(f"color: {theme.MUTED_TEXT};")
        self.hint.setWordWrap(True)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 2)
        layout.setSpacing(2)
        layout.addLayout(buttons)
        layout.addWidget(self.hint)

    def hint_fits(self) -> bool:
        """True when the whole hint is on screen (its wrapped lines fit its height)."""
        return self.hint.heightForWidth(self.hint.width()) <= self.hint.height()
