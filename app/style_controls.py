"""The style dock's wiring: StylePicker <-> controller (the bank, the choice, the strength).

Kept out of the main window so that the window only lays widgets out. The picker reports what
the user did; the controller changes the scene and answers with signals that this mirrors back
into the picker without echo (the picker's setters emit nothing).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from app.controller import StudioController
from app.style_bank import style_status
from widgets.style_picker import NO_STYLE, StylePicker


class StyleControls(QtCore.QObject):
    """Connects one StylePicker to the controller; `refresh` re-reads everything."""

    def __init__(self, picker: StylePicker, controller: StudioController,
                 show_message: Callable[[str], None], parent: QtWidgets.QWidget) -> None:
        super().__init__(parent)
        self.picker = picker
        self.controller = controller
        self._show_message = show_message
        controller.styleChanged.connect(self._on_style_changed)
        controller.stylesChanged.connect(self.fill)
        controller.styleReady.connect(self._on_style_ready)
        picker.styleChosen.connect(controller.set_style)
        picker.styleImageRequested.connect(self._on_add_style_image)
        picker.strengthChanged.connect(controller.set_strength)

    def refresh(self) -> None:
        """The picker shows the bank and the scene's style (at start, after opening a scene)."""
        self.fill()
        self._on_style_changed(self.controller.style_name, self.controller.scene.style.strength)

    def fill(self) -> None:
        entries = self.controller.style_entries()
        self.picker.set_styles([(e.name, e.title, e.thumbnail) for e in entries])
        self._select(self.controller.style_name)

    def add_style_image(self, path: str | Path) -> None:
        """Add a depth PNG to the bank and choose it once prepared (off the GUI thread); a bad
        file is one line in the status bar."""
        self._show_message(f"Preparing style {Path(path).name}…")
        self.controller.add_style_image(path)

    def _select(self, name: str) -> None:
        try:
            self.picker.set_current_style(name or NO_STYLE)
        except KeyError:  # an image still being prepared: "None" until it is
            self.picker.set_current_style(NO_STYLE)

    @QtCore.Slot(str, float)
    def _on_style_changed(self, name: str, strength: float) -> None:
        self._select(name)
        self.picker.set_strength(strength)
        entry = self.controller.style_entry
        if entry is not None:
            self.picker.set_caption(style_status(entry) if entry.style.prepared else entry.title)

    @QtCore.Slot(str)
    def _on_style_ready(self, name: str) -> None:
        entry = self.controller.style_entry
        if entry is not None:
            self.picker.set_caption(style_status(entry))

    def _on_add_style_image(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self.parent(), "Add style image", "",
                                                        "Depth images (*.png);;All files (*)")
        if path:
            self.add_style_image(path)
