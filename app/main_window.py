"""The main window: wires the widgets to the controller. No engine work happens here.

Layout: the pose panel on the left, the 3D viewport and the depth view side by side in the
middle, style and camera on the right, a status bar with device, latency and frame rate.
Widgets report gestures; the controller edits the scene and answers with signals; frames
arrive from the runtime through the controller on the GUI thread.
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from app import scene as scene_io
from app.compare_panels import crop_outline, frame_panels
from app.controller import StudioController
from app.display_pacer import DISPLAY_INTERVAL_MS, DRAG_INTERVAL_MS, DisplayPacer
from app.file_actions import FileActions
from app.menus import build_menus
from app.presenter import hand_drawing, pose_panel_state, screen_rotation
from app.scene import Scene
from app.shortcuts import SHORTCUTS
from app.status_readout import StatusReadout
from app.style_controls import StyleControls
from app.task_progress import TaskProgress
from app.thumbnails import pose_thumbnail
from app.view_binding import ViewBinding
from engine.camera import CAMERA_PRESETS, CAMERA_TITLES, Camera
from engine.hand import controls
from engine.hand.model import HandPose
from engine.hand.presets import load_preset, preset_names
from engine.hand.sampler import THICKNESS_RANGE
from engine.hand.skeleton import FINGERS, JOINT_NAMES, finger_of_joint
from engine.runtime import FrameResult
from widgets.camera_panel import CUSTOM, CameraPanel
from widgets.depth_view import DepthView
from widgets.hand_viewport import HandViewport
from widgets.pose_panel import PosePanel
from widgets.shortcut_overlay import ShortcutOverlay
from widgets.style_picker import StylePicker

log = logging.getLogger(__name__)

APP_NAME = "HandDepth Studio"
DEFAULT_SIZE = (1600, 960)
STYLE_DOCK_WIDTH = 230  # two thumbnails a row


class MainWindow(QtWidgets.QMainWindow):
    """HandDepth Studio's window. `restore` loads the autosave, `autosave` writes it."""

    frameDisplayed = QtCore.Signal(int)  # request id of the frame now in the depth view

    def __init__(self, *, restore: bool = True, autosave: bool = True, load_generator: bool = True,
                 frames_in_process: bool = True, scene: Scene | None = None) -> None:
        super().__init__()
        self.setWindowTitle(APP_NAME)
        self.resize(*DEFAULT_SIZE)
        startup_message = None
        if scene is None and restore:
            scene, startup_message = scene_io.load_autosave()
        self.controller = StudioController(scene, autosave=autosave, load_generator=load_generator,
                                           frames_in_process=frames_in_process, parent=self)
        self.files = FileActions(self, self.controller, self._show_message)
        self._presets_filled = False
        self._pacer = DisplayPacer(self._draw_pose, self._draw_frame, self)
        self._frames_drawn = 0
        self._surface_hidden = False
        self._frame_hand_pending = False  # frame the hand once its new pose is drawn
        self._frame_on_show = False  # frame it again once the 3D view has its size on screen

        self._build_widgets()
        self._build_actions()
        self._build_status_bar()
        self._connect_controls()
        self._show_scene(first=True)
        self.statusBar().showMessage(startup_message or "Drag a fingertip to pose the hand · F1 for shortcuts")
        self.controller.request_frame()

    # -- construction -------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.viewport = HandViewport(JOINT_NAMES)
        self.depth_view = DepthView()
        self._split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self._split.addWidget(self.viewport)
        self._split.addWidget(self.depth_view)
        self._split.setSizes([1000, 1000])
        self._split.setChildrenCollapsible(False)
        self.setCentralWidget(self._split)

        # Pose and camera share the left column (the camera changes rarely); the style bank gets
        # a narrow right column, so the 3D view and the depth image keep most of the width.
        self.pose_panel = PosePanel(FINGERS, THICKNESS_RANGE)
        pose_dock = self._add_dock("Pose", self.pose_panel, QtCore.Qt.DockWidgetArea.LeftDockWidgetArea)
        cam_presets = {CAMERA_TITLES.get(k, k): (c.fx, c.fy, c.cx, c.cy, c.width, c.height)
                       for k, c in CAMERA_PRESETS.items()}
        self.camera_panel = CameraPanel(cam_presets, controls.hand_distance(self.controller.hand))
        camera_dock = self._add_dock("Camera", self.camera_panel, QtCore.Qt.DockWidgetArea.LeftDockWidgetArea)
        self.tabifyDockWidget(pose_dock, camera_dock)
        pose_dock.raise_()
        self.style_picker = StylePicker()
        style_dock = self._add_dock("Style", self.style_picker, QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
        self.resizeDocks([style_dock], [STYLE_DOCK_WIDTH], QtCore.Qt.Orientation.Horizontal)
        self.overlay = ShortcutOverlay(self, SHORTCUTS)

    def _add_dock(self, title: str, widget: QtWidgets.QWidget, area) -> QtWidgets.QDockWidget:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(f"{title.lower()}Dock")
        dock.setWidget(widget)
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    def _build_actions(self) -> None:
        build_menus(self)
        self._on_generator_changed(False)

    def _build_status_bar(self) -> None:
        self.status_readout = StatusReadout(self.statusBar(), self.controller)
        self.frameDisplayed.connect(self.status_readout.frame_shown)
        self.task_progress = TaskProgress(self.controller, self)
        self.statusBar().addPermanentWidget(self.task_progress)

    def _connect_controls(self) -> None:
        c = self.controller
        c.poseChanged.connect(self._on_pose_changed)
        c.frameReady.connect(self._on_frame_ready)
        c.cameraChanged.connect(self._on_camera_changed)
        c.styleReady.connect(self._on_style_ready)
        c.historyChanged.connect(self._on_history_changed)
        c.generatorChanged.connect(self._on_generator_changed)
        c.statusMessage.connect(self._show_message)
        c.sceneReplaced.connect(lambda: self._show_scene(first=False))
        c.frames.paced_by_view = True  # _draw_frame reports each drawn frame
        self.view_binding = ViewBinding(c, self.depth_view, self.viewport, {
            "crop": self.crop_action, "compare": self.compare_action, "source": self.source_action},
            self)
        self.view_binding.redraw.connect(self._redraw_frame)

        vp = self.viewport
        vp.jointDragStarted.connect(self._on_joint_drag_started)
        vp.jointDragged.connect(c.pose_edits.drag_joint)
        vp.jointDragFinished.connect(lambda j: self._on_drag_finished(f"Drag {JOINT_NAMES[j]}"))
        vp.handRotateStarted.connect(lambda: self._on_joint_drag_started(-1))
        vp.handRotateDragged.connect(self._on_hand_rotate_dragged)
        vp.handRotateFinished.connect(lambda: self._on_drag_finished("Rotate hand"))

        pp = self.pose_panel
        pp.presetChosen.connect(self._on_preset_chosen)
        pp.fingerCurlChanged.connect(c.pose_edits.set_curl)
        pp.fingerSpreadChanged.connect(c.pose_edits.set_spread)
        pp.globalRotationChanged.connect(c.pose_edits.set_rotation)
        pp.randomPoseRequested.connect(self._framing(c.pose_edits.random_pose))
        pp.mirrorRequested.connect(self._framing(c.pose_edits.mirror))
        pp.handednessChanged.connect(c.pose_edits.set_handedness)
        pp.thicknessChanged.connect(c.pose_edits.set_thickness)
        pp.fingerResetRequested.connect(c.pose_edits.reset_finger)
        pp.handResetRequested.connect(self._framing(c.pose_edits.reset_hand))

        self.style_controls = StyleControls(self.style_picker, c, self._show_message, self)
        self.camera_panel.cameraChanged.connect(self._on_camera_edited)
        self.camera_panel.distanceChanged.connect(self._on_distance_edited)

    # -- scene -> views -----------------------------------------------------------------------
    def _show_scene(self, first: bool) -> None:
        """Make every view show the controller's scene (at start and after opening a scene)."""
        scene = self.controller.scene
        self.style_controls.refresh()
        self._on_camera_changed(scene.camera)
        self._on_pose_changed(scene.hand)
        self._pacer.flush()  # the hand is in the 3D view before the view frames it
        self.view_binding.show_view(scene.view)
        self._frame_on_show = first and not scene.view.orbit
        self._on_generator_changed(self.controller.generator_available)
        self._on_history_changed()

    def fill_presets(self) -> None:
        """Render the preset library's thumbnails (~0.1 s; done once, after the window shows)."""
        if self._presets_filled:
            return
        self._presets_filled = True
        camera = self.controller.scene.camera
        presets = []
        for name in preset_names():
            record = load_preset(name)
            thickness = record.hand.shape.thickness if record.hand else 1.0
            presets.append((name, pose_thumbnail(record.joints, camera, thickness)))
        self.pose_panel.set_presets(presets)

    # -- controller signals -------------------------------------------------------------------
    @QtCore.Slot(object)
    def _on_pose_changed(self, hand: HandPose) -> None:
        self._pacer.show_pose(hand)

    @QtCore.Slot(object)
    def _on_frame_ready(self, result: FrameResult) -> None:
        self.view_binding.on_frame(result)
        self._pacer.show_frame(result)

    def _redraw_frame(self) -> None:
        if self.controller.shown_frame is not None:
            self._pacer.show_frame(self.controller.shown_frame)

    def flush_display(self) -> None:
        """Draw whatever is pending now (tests and the screenshot command)."""
        self._pacer.flush()

    def _draw_pose(self, hand: HandPose) -> None:
        dragging = self.controller.dragging
        drawing = hand_drawing(hand, with_surface=not dragging)
        self.viewport.set_hand(drawing.joints, drawing.bones, drawing.colors, drawing.at_limit)
        if drawing.surface is None:  # the surface comes back on release
            if not self._surface_hidden:
                self.viewport.clear_surface()
                self._surface_hidden = True
        else:
            self.viewport.set_surface_spheres(*drawing.surface)
            self._surface_hidden = False
        if self._frame_hand_pending:
            self._frame_hand_pending = False
            self.viewport.frame_hand()
        if dragging:
            return  # the panels catch up on release
        panel = pose_panel_state(hand)
        self.pose_panel.set_state(curls=panel.curls, spreads=panel.spreads, rotation=panel.rotation,
                                  handedness=panel.handedness, thickness=panel.thickness)
        self.camera_panel.set_distance(panel.distance_mm)

    def _draw_frame(self, result: FrameResult) -> None:
        c = self.controller
        source, depth = c.shown_depth(result)
        entry = c.style_entry
        self.depth_view.set_images(frame_panels(
            result, (f"{source} · {c.style_title()}", depth), c.style_title(),
            entry.reference if entry is not None else None, c.compare, c.view.crop))
        self.depth_view.set_crop_box(crop_outline(result, c.view.crop))
        if not self._frames_drawn:  # `main.py -v` says when the app is up (tests wait for it)
            log.info("first depth frame on screen")
        self._frames_drawn += 1
        c.frame_drawn(result.request_id)
        self.frameDisplayed.emit(result.request_id)

    @QtCore.Slot(object)
    def _on_camera_changed(self, camera: Camera) -> None:
        self.viewport.set_camera_intrinsics(camera.fx, camera.fy, camera.cx, camera.cy,
                                            camera.width, camera.height)
        self.camera_panel.set_camera(camera.to_dict())

    @QtCore.Slot(str)
    def _on_style_ready(self, name: str) -> None:
        """The chosen style is prepared: A/B can show its image."""
        self._redraw_frame()

    def _on_history_changed(self) -> None:
        h = self.controller.history
        self.undo_action.setEnabled(h.can_undo)
        self.redo_action.setEnabled(h.can_redo)
        self.undo_action.setText(f"&Undo {h.undo_label}".rstrip())
        self.redo_action.setText(f"&Redo {h.redo_label}".rstrip())

    @QtCore.Slot(bool)
    def _on_generator_changed(self, available: bool) -> None:
        missing = "Needs the generator (resources/models/generator_default.safetensors)"
        self.compare_action.setEnabled(available)
        self.compare_action.setToolTip(
            "Generator | generator + style | the style image, side by side" if available else missing)
        self.source_action.setEnabled(available)
        self.source_action.setToolTip(
            "Show the generator's depth G(y) + style; off: the simulator + style" if available
            else missing)
        self.source_action.setChecked(self.controller.source == "generator")

    def _show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    # -- user gestures ------------------------------------------------------------------------
    def _on_joint_drag_started(self, joint: int) -> None:
        self.controller.begin_drag()
        self._pacer.interval_ms = DRAG_INTERVAL_MS
        self._frame_hand_pending = False  # a pose the edit did not change must not jump mid-drag
        finger = finger_of_joint(joint) if joint >= 0 else None
        if finger is not None:
            self.pose_panel.set_selected_finger(finger)

    def _on_drag_finished(self, label: str) -> None:
        self.controller.end_drag(label)
        self._pacer.interval_ms = DISPLAY_INTERVAL_MS
        self._on_pose_changed(self.controller.hand)  # brings the surface back

    def _on_hand_rotate_dragged(self, dx_deg: float, dy_deg: float) -> None:
        right, down, _ = self.viewport.view_axes()
        self.controller.pose_edits.rotate_by(screen_rotation(dx_deg, dy_deg, right, down))

    def _framing(self, edit):
        """`edit` that also frames the hand once its new pose is drawn: a preset, reset, mirror
        or distance change can move the hand out of the 3D view."""
        def run(*_args) -> None:
            self._frame_hand_pending = True
            edit()
        return run

    def _on_preset_chosen(self, name: str) -> None:
        self._frame_hand_pending = True
        self.controller.pose_edits.apply_preset(name)
        self._show_message(f"Preset {name}")

    def add_style_image(self, path: str | Path) -> None:
        self.style_controls.add_style_image(path)

    def _on_camera_edited(self, values: dict) -> None:
        camera = Camera.from_dict(values)
        key = next((k for k, title in CAMERA_TITLES.items() if title == values.get("name")), None)
        self.controller.set_camera(camera, key if values.get("name") != CUSTOM else scene_io.CUSTOM_CAMERA)

    def _on_distance_edited(self, distance_mm: float) -> None:
        self._frame_hand_pending = True
        self.controller.pose_edits.set_distance(distance_mm)
        self.view_binding.relevel()

    # -- files (app.file_actions) -------------------------------------------------------------
    def open_scene(self, path: str | Path) -> bool:
        return self.files.open_scene(path)

    def save_scene(self, path: str | Path) -> bool:
        return self.files.save_scene(path)

    def export_pair(self, folder: str | Path) -> dict[str, Path] | None:
        """Export the current pair into `folder` (remembered for the next Ctrl+E)."""
        return self.files.export_pair(folder)

    # -- lifetime -----------------------------------------------------------------------------
    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        self.viewport.canvas.native.setFocus()  # keys go to the window's shortcuts, not a text field
        if self._frame_on_show:  # the 3D view has its size on screen now
            self._frame_on_show = False
            self.viewport.frame_hand()
        QtCore.QTimer.singleShot(0, self.fill_presets)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        """Stop the runtime and close the GL canvas before Qt tears the window down."""
        self.status_readout.stop()
        self.task_progress.stop()
        self._pacer.stop()
        self.controller.shutdown()
        self.viewport.close()  # a child gets no closeEvent of its own: this closes its canvas
        super().closeEvent(event)

