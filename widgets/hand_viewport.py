"""The 3D hand viewport: a vispy SceneCanvas showing the skeleton, an optional translucent
surface, the depth camera's frustum and a ground grid, with joint hover and drag.

Scene coordinates are the depth camera's frame in millimetres (x right, y down, z forward), so
the app passes joints straight from forward kinematics. The widget never changes the pose
itself: it emits what the user did and waits for the app to call ``set_hand`` again.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from PySide6 import QtCore, QtWidgets

import vispy

vispy.use("pyside6")
from vispy import scene  # noqa: E402  (the backend must be chosen first)
from vispy.color import Color  # noqa: E402
from vispy.util import keys  # noqa: E402

from . import theme  # noqa: E402
from .viewport_math import darken, drag_target, ground_grid, nearest_point, project_to_canvas  # noqa: E402
from .viewport_camera import DEFAULT_HAND_Z_MM, ORBIT_FOV_DEG, SNAP_VIEWS, ViewportCamera, hand_centre  # noqa: E402
from .viewport_toolbar import ViewportToolbar  # noqa: E402

_START_ANGLES = (130.0, 22.0)        # a three-quarter view that shows depth and the frustum

PICK_RADIUS_PX = 12.0
ROTATE_DEG_PER_PX = 0.5              # same feel as TurntableCamera's orbit
_JOINT_SIZE_PX = 11.0
_HOVER_SIZE_PX = 22.0
_BONE_WIDTH_PX = 4.0
_LIMIT_EDGE_PX = 3.0
_DEFAULT_JOINT_COLOR = (0.92, 0.92, 0.95, 1.0)
_SURFACE_COLOR = (0.93, 0.78, 0.66, 0.22)

_AXIS_LENGTH_MM = 40.0


@dataclass
class _Drag:
    """State of one left-button drag, from press to release."""

    joint: int                       # -1 for a hand rotation
    anchor: np.ndarray               # the plane facing the viewer passes through here
    offset: np.ndarray               # joint - first ray hit, so the joint does not jump
    last_pos: np.ndarray
    camera_was_interactive: bool


class HandViewport(QtWidgets.QWidget):
    """Shows the hand in 3D and turns mouse gestures into joint and rotation requests.

    Hover over a joint: ``jointHovered(index)`` (-1 when the mouse leaves it). Left-drag a joint:
    ``jointDragStarted``, then ``jointDragged(index, target_xyz_mm)`` with the point under the
    mouse on the plane through the joint facing the viewer, then ``jointDragFinished``.
    Shift + left-drag on the hand: ``handRotateStarted``, ``handRotateDragged(dx_deg, dy_deg)``
    per mouse move (incremental; to turn the hand like a turntable rotate it by -dx_deg about
    ``view_axes()[1]`` (down) and by +dy_deg about ``view_axes()[0]`` (right)), then
    ``handRotateFinished``. Elsewhere the mouse orbits (left), pans (Shift+left) and zooms
    (right or wheel).
    """

    jointHovered = QtCore.Signal(int)
    jointDragStarted = QtCore.Signal(int)
    jointDragged = QtCore.Signal(int, object)
    jointDragFinished = QtCore.Signal(int)
    handRotateStarted = QtCore.Signal()
    handRotateDragged = QtCore.Signal(float, float)
    handRotateFinished = QtCore.Signal()
    orbitChanged = QtCore.Signal(object)  # the 3D view's orbit (plain data) after the user moved it

    def __init__(self, joint_names: Sequence[str] = (), parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self._joint_names = list(joint_names)
        self._joints = np.zeros((0, 3))
        self._bones = np.zeros((0, 2), dtype=np.int32)
        self._colors = np.zeros((0, 4))
        self._limited: frozenset[int] = frozenset()
        self._hovered = -1
        self._drag: _Drag | None = None
        self._surface_kind: str | None = None

        self.canvas = scene.SceneCanvas(keys=None, bgcolor=theme.BACKGROUND, show=False)
        self.view = self.canvas.central_widget.add_view()
        self.view.camera = scene.TurntableCamera(
            up="-y", fov=ORBIT_FOV_DEG, azimuth=_START_ANGLES[0], elevation=_START_ANGLES[1],
            center=(0.0, 0.0, DEFAULT_HAND_Z_MM))
        self.orbit = ViewportCamera(self.canvas, self.view, lambda: self._joints, self)
        self.orbit.orbitChanged.connect(self.orbitChanged)
        self._build_visuals()
        self._build_layout()
        self._connect_controls()

    # -- construction -------------------------------------------------------------------------
    def _build_visuals(self) -> None:
        parent = self.view.scene
        self._grid = scene.visuals.Line(ground_grid(), color=theme.GRID, connect="segments",
                                        method="gl", parent=parent)
        self._axes = scene.visuals.XYZAxis(width=2, parent=parent)
        self._axes.transform = scene.transforms.STTransform(scale=(_AXIS_LENGTH_MM,) * 3)
        self._frustum = scene.visuals.Line(color=theme.FRUSTUM, connect="segments", method="gl",
                                           parent=parent)
        self._bones_visual = scene.visuals.Line(width=_BONE_WIDTH_PX, method="gl", parent=parent)
        self._joint_markers = scene.visuals.Markers(parent=parent)
        self._surface_spheres = scene.visuals.Markers(scaling="scene", spherical=True,
                                                      light_color="white", parent=parent)
        self._surface_mesh = scene.visuals.Mesh(shading="smooth", parent=parent)
        # The surface does not write depth so the skeleton shows through it. Joints and the
        # hover ring are drawn last and over everything, so an occluded joint can still be seen
        # and grabbed; they turn depth writes back on, because the depth buffer is only cleared
        # for the next frame while depth writes are enabled.
        for visual in (self._surface_spheres, self._surface_mesh):
            visual.set_gl_state("translucent", depth_test=True, depth_mask=False)
            visual.order = 5
            visual.visible = False
        self._label = scene.visuals.Text("", color="white", bold=True, font_size=9, anchor_x="left",
                                         anchor_y="bottom", parent=self.canvas.scene)
        for order, visual in ((10, self._joint_markers), (12, self._label)):
            visual.set_gl_state("translucent", depth_test=False, depth_mask=True)
            visual.order = order
        self._label.visible = False

    def _build_layout(self) -> None:
        self.toolbar = ViewportToolbar(SNAP_VIEWS)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.canvas.native, 1)
        self.canvas.native.setMinimumSize(320, 240)
        # A native window of its own: else Qt composites the whole window in OpenGL on every
        # repaint of any widget (software GL: ~10 ms of CPU for a depth frame or a status message).
        self.canvas.native.setAttribute(QtCore.Qt.WidgetAttribute.WA_NativeWindow)

    def _connect_controls(self) -> None:
        # vispy calls the newest connection first, so these run before the camera sees the event.
        self.canvas.events.mouse_press.connect(self._on_mouse_press)
        self.canvas.events.mouse_move.connect(self._on_mouse_move)
        self.canvas.events.mouse_release.connect(self._on_mouse_release)
        # After the camera has zoomed, so the hover follows the joint now under the mouse.
        self.canvas.events.mouse_wheel.connect(self._on_mouse_wheel, position="last")
        self.canvas.native.installEventFilter(self)
        self.toolbar.viewSnapped.connect(self.snap_view)
        self.toolbar.surfaceToggled.connect(self._on_surface_toggled)
        self.toolbar.frustumToggled.connect(self._on_frustum_toggled)

    # -- public API ---------------------------------------------------------------------------
    def set_hand(self, joints: np.ndarray, bones: Iterable[tuple[int, int]],
                 joint_colors: np.ndarray | None = None,
                 limited_joints: Iterable[int] = ()) -> None:
        """Show the skeleton: (N, 3) joints in mm, (parent, child) bones, optional (N, 3|4) RGB(A)
        colours in 0..1, and the joints that sit at a joint limit (drawn with a red ring).

        Updates the existing visuals in place and leaves the camera and any drag alone.
        """
        self._joints = np.asarray(joints, dtype=np.float64).reshape(-1, 3)
        self._bones = np.asarray(list(bones), dtype=np.int32).reshape(-1, 2)
        n = len(self._joints)
        if joint_colors is None:
            self._colors = np.tile(_DEFAULT_JOINT_COLOR, (n, 1))
        else:
            rgba = np.asarray(joint_colors, dtype=np.float64).reshape(n, -1)
            self._colors = rgba if rgba.shape[1] == 4 else np.hstack([rgba, np.ones((n, 1))])
        self._limited = frozenset(int(j) for j in limited_joints)
        self._update_hover()

    def set_joint_names(self, names: Sequence[str]) -> None:
        """Names shown next to the hovered joint."""
        self._joint_names = list(names)
        self._update_hover()

    def set_surface_spheres(self, centres: np.ndarray, radii: np.ndarray) -> None:
        """Show the hand volume as translucent spheres ((M, 3) centres and (M,) radii in mm)."""
        centres = np.asarray(centres, dtype=np.float32).reshape(-1, 3)
        diameters = 2.0 * np.broadcast_to(np.asarray(radii, dtype=np.float32), (len(centres),))
        self._surface_spheres.set_data(centres, size=diameters, edge_width=0,
                                       face_color=_SURFACE_COLOR)
        self._surface_kind = "spheres"
        self._show_surface()

    def set_surface_mesh(self, vertices: np.ndarray, faces: np.ndarray) -> None:
        """Show the hand volume as a translucent triangle mesh ((V, 3) mm and (F, 3) indices)."""
        self._surface_mesh.set_data(vertices=np.asarray(vertices, dtype=np.float32),
                                    faces=np.asarray(faces, dtype=np.uint32),
                                    color=_SURFACE_COLOR)
        self._surface_kind = "mesh"
        self._show_surface()

    def clear_surface(self) -> None:
        self._surface_kind = None
        self._show_surface()

    def set_camera_intrinsics(self, fx: float, fy: float, cx: float, cy: float, width: int,
                              height: int, near_mm: float = 150.0, far_mm: float = 1000.0) -> None:
        """Draw the depth camera's frustum between near and far and use its field of view
        for the camera view."""
        corners_px = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)
        rays = np.column_stack([(corners_px[:, 0] - cx) / fx, (corners_px[:, 1] - cy) / fy,
                                np.ones(4)])
        near, far = rays * near_mm, rays * far_mm
        segments = []
        for i in range(4):
            j = (i + 1) % 4
            segments += [near[i], near[j], far[i], far[j], np.zeros(3), far[i]]
        self._frustum.set_data(np.array(segments, dtype=np.float32))
        self.orbit.set_depth_camera_fov(math.degrees(2.0 * math.atan(0.5 * height / fy)))

    def snap_view(self, view: str) -> None:
        """One of SNAP_VIEWS (see ViewportCamera.snap_view)."""
        self.orbit.snap_view(view)

    def frame_hand(self) -> None:
        """Centre the hand and step back until all of it shows (ViewportCamera.frame_hand)."""
        self.orbit.frame_hand()

    def view_axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Unit vectors (right, down, forward) of the current view in camera-frame coordinates."""
        m = self.view.camera.transform.matrix  # camera-local (GL: x right, y up, -z ahead) to scene
        right, up, back = (m[i, :3] / np.linalg.norm(m[i, :3]) for i in range(3))
        return right, -up, -back

    def scene_to_canvas(self) -> np.ndarray:
        """The 4x4 row-vector matrix from scene mm to canvas pixels (see viewport_math)."""
        return self._joint_markers.get_transform("visual", "canvas").map(np.eye(4))

    def joint_canvas_positions(self) -> np.ndarray:
        """Where each joint is drawn, in canvas pixels (what picking compares the mouse with)."""
        return project_to_canvas(self._joints, self.scene_to_canvas())

    @property
    def hovered_joint(self) -> int:
        return self._hovered

    @property
    def is_dragging(self) -> bool:
        return self._drag is not None

    # -- drawing ------------------------------------------------------------------------------
    def _update_skeleton(self) -> None:
        pos = self._joints.astype(np.float32)
        if len(self._bones):
            self._bones_visual.set_data(pos=pos, color=darken(self._colors, 0.8),
                                        connect=self._bones)
        self._bones_visual.visible = bool(len(self._bones))
        limited = np.array([j in self._limited for j in range(len(pos))], dtype=bool)
        edge = np.where(limited[:, None], Color(theme.WARNING).rgba, (0.05, 0.05, 0.07, 1.0))
        size = np.full(len(pos), _JOINT_SIZE_PX)
        face, width = self._colors, np.where(limited, _LIMIT_EDGE_PX, 1.0)
        j = self._hovered
        if 0 <= j < len(pos):
            # The hover ring is one more marker drawn after the joints, not a visual of its own:
            # each vispy visual costs the GUI thread ~0.4 ms a redraw, and a drag redraws at 30 Hz.
            pos, size = np.vstack([pos, pos[j]]), np.append(size, _HOVER_SIZE_PX)
            face, edge = np.vstack([face, (0, 0, 0, 0)]), np.vstack([edge, Color(theme.ACCENT).rgba])
            width = np.append(width, 2.5)
        self._joint_markers.set_data(pos, size=size, face_color=face, edge_color=edge, edge_width=width)

    def _update_hover(self) -> None:
        j = self._hovered
        if j >= len(self._joints):
            j = self._hovered = -1
        self._update_skeleton()  # the joints and the hover ring
        self._label.visible = j >= 0
        if j < 0:
            return
        name = self._joint_names[j] if j < len(self._joint_names) else f"joint {j}"
        text = f"{name}  (at limit)" if j in self._limited else name
        if text != self._label.text:  # setting it lays the glyphs out again, on every draw
            self._label.text = text
        self._label.pos = self.joint_canvas_positions()[j] + (_HOVER_SIZE_PX / 2, -4.0)

    def _show_surface(self) -> None:
        shown = self._surface_kind if self.toolbar.surface_toggle.isChecked() else None
        self._surface_spheres.visible = shown == "spheres"
        self._surface_mesh.visible = shown == "mesh"

    def _set_hovered(self, joint: int) -> None:
        if joint == self._hovered:
            return
        self._hovered = joint
        self._update_hover()
        self.jointHovered.emit(joint)

    def _hand_centre(self) -> np.ndarray:
        return hand_centre(self._joints)

    def _pick(self, pos: np.ndarray) -> int:
        if not len(self._joints):
            return -1
        return nearest_point(self.joint_canvas_positions(), pos, PICK_RADIUS_PX)

    def _on_hand(self, pos: np.ndarray) -> bool:
        """True over the hand's screen-space bounding box (grown by the pick radius)."""
        if not len(self._joints):
            return False
        xy = self.joint_canvas_positions()
        lo, hi = xy.min(axis=0) - PICK_RADIUS_PX, xy.max(axis=0) + PICK_RADIUS_PX
        return bool(np.all(pos >= lo) and np.all(pos <= hi))

    # -- mouse --------------------------------------------------------------------------------
    def _on_mouse_press(self, event) -> None:
        if event.button != 1 or self._drag is not None:
            return
        pos = np.asarray(event.pos[:2], dtype=np.float64)
        rotate = keys.SHIFT in event.modifiers
        joint = -1 if rotate else self._pick(pos)
        if joint < 0 and not (rotate and self._on_hand(pos)):
            self._set_hovered(-1)  # the camera takes this press: orbit or pan
            return
        cam = self.view.camera
        anchor = self._joints[joint] if joint >= 0 else self._hand_centre()
        hit = drag_target(pos, self.scene_to_canvas(), anchor)
        offset = anchor - hit if hit is not None else np.zeros(3)
        self._drag = _Drag(joint, anchor.copy(), offset, pos, cam.interactive)
        cam.interactive = False
        if joint >= 0:
            self._set_hovered(joint)
            self.jointDragStarted.emit(joint)
        else:
            self.handRotateStarted.emit()

    def _on_mouse_move(self, event) -> None:
        pos = np.asarray(event.pos[:2], dtype=np.float64)
        drag = self._drag
        if drag is None:
            if not event.buttons:
                self._set_hovered(self._pick(pos))
            return
        if drag.joint < 0:
            dx, dy = (pos - drag.last_pos) * ROTATE_DEG_PER_PX
            drag.last_pos = pos
            self.handRotateDragged.emit(float(dx), float(dy))
            return
        hit = drag_target(pos, self.scene_to_canvas(), drag.anchor)
        if hit is not None:
            self.jointDragged.emit(drag.joint, hit + drag.offset)

    def _on_mouse_release(self, event) -> None:
        if event.button != 1 or self._drag is None:
            return
        drag, self._drag = self._drag, None
        self.view.camera.interactive = drag.camera_was_interactive
        if drag.joint >= 0:
            self.jointDragFinished.emit(drag.joint)
        else:
            self.handRotateFinished.emit()

    def _on_mouse_wheel(self, event) -> None:
        if self._drag is None:
            self._set_hovered(self._pick(np.asarray(event.pos[:2], dtype=np.float64)))
            self._update_hover()

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if watched is self.canvas.native and event.type() == QtCore.QEvent.Type.Leave \
                and self._drag is None:
            self._set_hovered(-1)
        return False

    # -- toolbar ------------------------------------------------------------------------------
    def _on_surface_toggled(self, checked: bool) -> None:
        self._show_surface()

    def _on_frustum_toggled(self, checked: bool) -> None:
        self._frustum.visible = checked

    def closeEvent(self, event) -> None:
        self.canvas.native.removeEventFilter(self)
        self.canvas.close()
        super().closeEvent(event)

