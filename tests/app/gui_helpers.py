"""Helpers for driving the real window with synthesized mouse events (imported by the tests)."""
from __future__ import annotations

from timeit import default_timer

import numpy as np
from PySide6 import QtCore
from PySide6.QtTest import QTest

# Small enough for the virtual screen, the narrowest the docks allow.
WINDOW_SIZE = (1500, 760)
LEFT = QtCore.Qt.MouseButton.LeftButton
NO_MOD = QtCore.Qt.KeyboardModifier.NoModifier


def point(xy) -> QtCore.QPoint:
    return QtCore.QPoint(round(float(xy[0])), round(float(xy[1])))


def move_mouse(qtbot, viewport, xy) -> None:
    """Move over the canvas, first letting vispy's 100 Hz mouse-move throttle reopen (a move
    within 10 ms of the previous one would be dropped)."""
    backend = viewport.canvas._backend
    qtbot.waitUntil(lambda: default_timer() - backend._last_time >= 0.011, timeout=1000)
    QTest.mouseMove(viewport.canvas.native, point(xy))


def drag(qtbot, viewport, joint: int, offsets, modifier=NO_MOD) -> None:
    """Press on a joint, move through `offsets` (canvas pixels from it), release."""
    start = viewport.joint_canvas_positions()[joint]
    QTest.mousePress(viewport.canvas.native, LEFT, modifier, point(start))
    for offset in offsets:
        move_mouse(qtbot, viewport, start + np.asarray(offset, dtype=float))
    QTest.mouseRelease(viewport.canvas.native, LEFT, modifier,
                       point(start + np.asarray(offsets[-1], dtype=float)))


def use_stand_in_generator(c) -> None:
    """A generator that draws a flat disk, installed as the loader would (no torch, instant)."""
    from engine.data.crop import CROP_SIZE

    disk = np.hypot(*np.mgrid[-1:1:CROP_SIZE * 1j, -1:1:CROP_SIZE * 1j]) < 0.5
    c.runtime.generator = lambda y, transform, cut=True, thickness=1.0: np.where(disk, -0.2, 1.0).astype(np.float32)
    c.generator_available = True
    c.generatorChanged.emit(True)
    c.request_frame()


def joints_on_canvas(window) -> int:
    """How many of the hand's joints the 3D view shows."""
    positions = window.viewport.joint_canvas_positions()
    w, h = window.viewport.canvas.size
    inside = (positions[:, 0] >= 0) & (positions[:, 0] < w) & (positions[:, 1] >= 0) & (positions[:, 1] < h)
    return int(np.count_nonzero(inside))
