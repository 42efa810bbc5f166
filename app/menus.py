"""The window's menus: File, Edit and View, each action with its shortcut, working wherever the
focus is in the window. The window keeps the actions whose state it mirrors (undo, redo, crop,
source, compare, export) as attributes; the silhouette cut's action mirrors the view state itself."""
from __future__ import annotations

from collections.abc import Sequence

from PySide6 import QtCore, QtGui, QtWidgets

from app.dataset_dialog import open_dataset_dialog


def add_action(window: QtWidgets.QMainWindow, menu: QtWidgets.QMenu, text: str, slot,
               shortcut: str | Sequence[str] = (), checkable: bool = False,
               tip: str = "") -> QtGui.QAction:
    """One menu action; its shortcut works wherever the focus is in `window`."""
    action = QtGui.QAction(text, window, checkable=checkable)
    keys = [shortcut] if isinstance(shortcut, str) else list(shortcut)
    if keys:
        action.setShortcuts([QtGui.QKeySequence(k) for k in keys])
        action.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
    if tip:
        action.setToolTip(tip)
        action.setStatusTip(tip)
    action.triggered.connect(slot)
    menu.addAction(action)
    window.addAction(action)  # shortcuts work wherever the focus is in the window
    return action


def silhouette_cut_action(w, menu: QtWidgets.QMenu) -> QtGui.QAction:
    """View > Silhouette cut: the generator's depth with its eval-mode cut (checked, the default)
    or the network's raw output, the switch `generate --no-cut` is. It mirrors the view state
    (a scene opened with the cut off unchecks it) without the echo coming back as an edit."""
    controller = w.controller
    action = add_action(w, menu, "&Silhouette cut", controller.set_silhouette_cut, checkable=True,
                        tip="Generator depth hardened by the silhouette cut; off: the network's raw output")
    action.setChecked(controller.view.silhouette_cut)
    controller.viewChanged.connect(_CutMirror(action).mirror)
    return action


class _CutMirror(QtCore.QObject):
    """Checks the action as the view state says; a child of the action, so the connection ends
    with it (Qt disconnects a destroyed receiver's slots)."""

    def __init__(self, action: QtGui.QAction) -> None:
        super().__init__(action)
        self._action = action

    @QtCore.Slot(object)
    def mirror(self, view) -> None:
        with QtCore.QSignalBlocker(self._action):
            self._action.setChecked(view.silhouette_cut)


def build_menus(w) -> None:
    """File, Edit and View of MainWindow `w` (its handlers); the actions whose state `w`
    mirrors become its attributes."""
    def act(*args, **kwargs) -> QtGui.QAction:
        return add_action(w, *args, **kwargs)

    bar = w.menuBar()
    file = bar.addMenu("&File")
    files = w.files
    act(file, "&Open scene…", files.on_open_scene, "Ctrl+O")
    act(file, "&Save scene", files.on_save_scene, "Ctrl+S")
    act(file, "Save scene &as…", files.on_save_scene_as, "Ctrl+Shift+S")
    file.addSeparator()
    w.export_action = act(file, "&Export pair", files.on_export, "Ctrl+E",
                                      tip="Depth PNG (uint16 mm) + pose JSON + labels + preview")
    act(file, "Export pair &to…", files.on_export_to, "Ctrl+Shift+E")
    act(file, "Generate &dataset…", lambda: open_dataset_dialog(w))
    file.addSeparator()
    act(file, "&Quit", w.close, "Ctrl+Q")

    edit = bar.addMenu("&Edit")
    w.undo_action = act(edit, "&Undo", w.controller.undo, "Ctrl+Z")
    w.redo_action = act(edit, "&Redo", w.controller.redo, ("Ctrl+Shift+Z", "Ctrl+Y"))
    edit.addSeparator()
    act(edit, "&Random pose", w._framing(w.controller.pose_edits.random_pose), "Ctrl+R")
    act(edit, "&Mirror left ↔ right", w._framing(w.controller.pose_edits.mirror), "Ctrl+M")
    act(edit, "Reset &hand", w._framing(w.controller.pose_edits.reset_hand))
    act(edit, "New noise &seed", w.controller.new_seed, "N",
                 tip="Draw new sensor noise (it otherwise holds still)")

    view = bar.addMenu("&View")
    for key, name in (("1", "camera"), ("2", "side"), ("3", "top")):
        act(view, f"{name.capitalize()} view", lambda _=False, n=name: w.viewport.snap_view(n), key)
    act(view, "&Frame hand", w.viewport.frame_hand, "F")
    view.addSeparator()
    c = w.controller
    w.crop_action = act(view, "&Crop", lambda on: c.set_view(crop=bool(on)), "C", checkable=True,
                        tip="Show the hand crop instead of the full frame")
    w.source_action = act(view, "&Generator depth",
                          lambda on: c.set_source("generator" if on else "simulator"), "G",
                          checkable=True)
    w.compare_action = act(view, "A/B &compare", c.set_compare, "B", checkable=True)
    w.cut_action = silhouette_cut_action(w, view)
    view.addSeparator()
    act(view, "Keyboard &shortcuts", w.overlay.toggle, ("F1", "?"))
    w.view_menu = view
    for dock in w.findChildren(QtWidgets.QDockWidget):
        view.addAction(dock.toggleViewAction())
