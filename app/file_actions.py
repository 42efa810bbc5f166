"""The File menu's scene and export actions: dialogs, the remembered scene path and export
folder, and one-line messages for what failed. The controller does the writing."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6 import QtWidgets

from app import scene as scene_io
from app.controller import StudioController
from engine.export import ExportError


class FileActions:
    """Open/save a scene, export the current pair; remembers where, for Ctrl+S and Ctrl+E."""

    def __init__(self, parent: QtWidgets.QWidget, controller: StudioController,
                 show_message: Callable[[str], None]) -> None:
        self._parent = parent
        self._controller = controller
        self._show_message = show_message
        self.scene_path: Path | None = None
        self.export_folder: Path | None = None

    def on_open_scene(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self._parent, "Open scene", "",
                                                        "Scenes (*.json)")
        if path:
            self.open_scene(path)

    def open_scene(self, path: str | Path) -> bool:
        try:
            self._controller.open_scene(path)
        except scene_io.SceneFileError as e:
            self._show_message(str(e))
            return False
        self.scene_path = Path(path)
        return True

    def on_save_scene(self) -> None:
        if self.scene_path is None:
            self.on_save_scene_as()
        else:
            self.save_scene(self.scene_path)

    def on_save_scene_as(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self._parent, "Save scene", "scene.json",
                                                        "Scenes (*.json)")
        if path:
            self.save_scene(path)

    def save_scene(self, path: str | Path) -> bool:
        try:
            self._controller.save_scene(path)
        except OSError as e:
            self._show_message(f"Could not save {path}: {e}")
            return False
        self.scene_path = Path(path)
        return True

    def on_export(self) -> None:
        if self.export_folder is None:
            self.on_export_to()
        else:
            self.export_pair(self.export_folder)

    def on_export_to(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self._parent, "Export pairs to")
        if folder:
            self.export_pair(folder)

    def export_pair(self, folder: str | Path) -> dict[str, Path] | None:
        """Export the current pair into `folder` (remembered for the next Ctrl+E)."""
        try:
            paths = self._controller.export_current(folder)
        except (ExportError, OSError) as e:
            self._show_message(f"Export failed: {e}")
            return None
        self.export_folder = Path(folder)
        return paths
