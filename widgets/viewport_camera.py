"""The 3D view's orbit camera: snap views, framing the hand, its state as plain data, and a signal
once the user has moved it.

Kept apart from the hand viewport (which draws the hand and turns mouse gestures into edits) so
each has one job. The app keeps the orbit in its view state: `orbitChanged` tells it when the
camera has settled after a gesture (not per mouse move, so an orbit drag writes no state while
it lasts), and `restore_orbit` is how the app puts a state back (it emits nothing).
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PySide6 import QtCore

from . import orbit

SNAP_VIEWS: tuple[str, ...] = ("camera", "side", "top")
# TurntableCamera angles (azimuth, elevation) with up='-y', i.e. up is the camera frame's -y.
# azimuth 90 looks along +z with x right and y down, exactly like the depth image.
VIEW_ANGLES = {"camera": (90.0, 0.0), "side": (180.0, 0.0), "top": (90.0, 90.0)}
ORBIT_FOV_DEG = 35.0
DEFAULT_HAND_Z_MM = 500.0
# Framing: the hand's bounding sphere (grown by a joint's drawn size) fits the narrower of the
# view's two angles of view with this much room to spare.
FRAME_MARGIN = 1.25
MIN_HAND_RADIUS_MM = 60.0
JOINT_ALLOWANCE_MM = 12.0
ORBIT_SETTLE_MS = 250  # after the last wheel step or mouse release: the orbit is reported


def hand_centre(joints: np.ndarray) -> np.ndarray:
    """The middle of the joints' bounding box (a default depth when there are none)."""
    if not len(joints):
        return np.array([0.0, 0.0, DEFAULT_HAND_Z_MM])
    return 0.5 * (joints.min(axis=0) + joints.max(axis=0))


class ViewportCamera(QtCore.QObject):
    """Drives `view.camera` (a vispy TurntableCamera) of a canvas; `joints()` is the hand now."""

    orbitChanged = QtCore.Signal(object)  # orbit_state() once the camera settled after a gesture

    def __init__(self, canvas, view, joints: Callable[[], np.ndarray],
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._canvas = canvas
        self._view = view
        self._joints = joints
        self._depth_camera_fov_deg = ORBIT_FOV_DEG
        self._settle = QtCore.QTimer(self, singleShot=True, interval=ORBIT_SETTLE_MS)
        self._settle.timeout.connect(lambda: self.orbitChanged.emit(self.orbit_state()))
        canvas.events.mouse_release.connect(lambda _event: self._settle.start())
        canvas.events.mouse_wheel.connect(lambda _event: self._settle.start(), position="last")
        self.set_distance(DEFAULT_HAND_Z_MM)

    @property
    def camera(self):
        return self._view.camera

    def set_depth_camera_fov(self, fov_deg: float) -> None:
        """The depth camera's vertical angle of view, which the 'camera' view takes."""
        self._depth_camera_fov_deg = fov_deg

    def snap_view(self, view: str) -> None:
        """Look at the hand from the depth camera ('camera'), from its +x side ('side') or from
        above ('top')."""
        azimuth, elevation = VIEW_ANGLES[view]
        cam = self.camera
        cam.azimuth, cam.elevation, cam.roll = azimuth, elevation, 0.0
        if view == "camera":
            joints = self._joints()
            z = float(np.mean(joints[:, 2])) if len(joints) else DEFAULT_HAND_Z_MM
            cam.fov = self._depth_camera_fov_deg
            cam.center = (0.0, 0.0, z)
            self.set_distance(z)  # the eye sits at the origin, where the depth camera is
        else:
            cam.fov = ORBIT_FOV_DEG
            self.frame_hand()
        self._settle.start()

    def frame_hand(self) -> None:
        """Keep the direction of view, centre the hand and step back until all of it shows,
        whichever of the view's width and height is the narrower."""
        cam = self.camera
        joints = self._joints()
        centre = hand_centre(joints)
        radius = float(np.linalg.norm(joints - centre, axis=1).max()) if len(joints) else 0.0
        radius = max(MIN_HAND_RADIUS_MM, radius + JOINT_ALLOWANCE_MM)
        width, height = self._canvas.size
        half = math.radians(cam.fov) / 2.0
        narrow = math.atan(math.tan(half) * min(1.0, width / max(height, 1)))
        cam.center = tuple(centre)
        self.set_distance(FRAME_MARGIN * radius / math.sin(narrow))
        self._settle.start()

    def orbit_state(self) -> dict:
        """The camera as plain data (a scene file keeps it)."""
        return orbit.orbit_state(self.camera)

    def restore_orbit(self, state: dict) -> None:
        """Put the camera back as `orbit_state` gave it (TypeError/ValueError: bad); says nothing."""
        orbit.restore_orbit(self.camera, state)

    def set_distance(self, distance: float) -> None:
        cam = self.camera
        cam.distance = distance
        # Panning speed follows scale_factor: keep it the height visible at the centre.
        cam.scale_factor = 2.0 * distance * math.tan(math.radians(cam.fov) / 2.0)
