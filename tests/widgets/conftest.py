"""Fixtures for the widget tests: a made-up hand skeleton and ready-made widgets.

The skeleton is plain data, as the app would pass it; the widgets never see engine/.
"""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtWidgets  # noqa: F401  (before pyqtgraph, which the widgets import)

FINGERS = ("thumb", "index", "middle", "ring", "little")
# Wrist, then per finger base → tip, like the app's 21-joint order.
PARENTS = (-1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19)
BONES = [(p, c) for c, p in enumerate(PARENTS) if p >= 0]
JOINT_NAMES = ["wrist"] + [f"{f}_{k}" for f in FINGERS for k in ("base", "1", "2", "tip")]
HAND_Z_MM = 500.0


def make_hand(z: float = HAND_Z_MM) -> np.ndarray:
    """An open right hand facing the camera, fingers up (-y), in camera-frame mm."""
    joints = np.zeros((21, 3))
    joints[0] = (0.0, 70.0, z)
    bases = [(-28, 45), (-26, -20), (-6, -26), (14, -22), (32, -12)]
    directions = [(-0.75, -0.65), (-0.12, -1.0), (0.0, -1.0), (0.12, -1.0), (0.25, -1.0)]
    for f, ((bx, by), direction) in enumerate(zip(bases, directions)):
        d = np.array([*direction, 0.0]) / np.hypot(*direction)
        for k in range(4):
            joints[1 + 4 * f + k] = np.array([bx, by, z]) + d * 25.0 * k
    return joints


@pytest.fixture
def hand() -> np.ndarray:
    return make_hand()


@pytest.fixture
def bones() -> list[tuple[int, int]]:
    return list(BONES)


@pytest.fixture
def fingers() -> tuple[str, ...]:
    return FINGERS


@pytest.fixture
def viewport(qtbot, hand):
    """A shown HandViewport looking through the depth camera (x right, y down on screen)."""
    from widgets.hand_viewport import HandViewport

    vp = HandViewport(JOINT_NAMES)
    qtbot.addWidget(vp)  # closes it, and so its canvas, after the test
    vp.resize(480, 400)
    vp.set_camera_intrinsics(588.03, 587.07, 320.0, 240.0, 640, 480)
    vp.set_hand(hand, BONES)
    vp.show()
    qtbot.waitExposed(vp)
    vp.snap_view("camera")
    return vp
