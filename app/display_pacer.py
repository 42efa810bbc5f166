"""Display pacing: the 3D view redrawn at most once per display frame, depth frames drawn the
moment they come.

Poses arrive with every mouse move (and a few more from the edits they cause); redrawing the
3D view for each would repaint it more often than a screen shows it, and each redraw costs
milliseconds of the GUI thread and of software OpenGL (Xvfb + llvmpipe). So a pose is drawn on
the next event-loop pass when the previous pose draw is `interval_ms` or more ago; else it waits
in a latest-wins slot for the next pose that comes after that, or at the latest `interval_ms`
(the last pose of a gesture). Drawing right after a pose arrives keeps the redraws in step with
the mouse moves: a timer at the interval's end fired between two moves, and the redraw it
started delayed the next move (`bench app`: 10-20 % fewer moves with the simulator). A depth
frame is drawn as soon as it arrives: the frame scheduler already sends no more than one per
display frame, and every millisecond it waited would be added to the time from the pose to the
screen.

During a drag the 3D view is redrawn at most DRAG_INTERVAL_MS apart (30 Hz) while the depth
view shows a frame for every pose: on a 2-core machine without a GPU each 3D redraw took ~3 ms
of the GUI thread and ~6 ms of software OpenGL raster, and that CPU is what the depth worker
waited for (issue 14: a generator frame of 11-14 ms of CPU took 20-30 ms in the app).
"""
from __future__ import annotations

import time
from collections.abc import Callable

from PySide6 import QtCore

DISPLAY_INTERVAL_MS = 1000.0 / 60.0  # one 3D redraw per frame of a 60 Hz screen
DRAG_INTERVAL_MS = 1000.0 / 30.0  # while a drag edits the pose (see the module docstring)


class DisplayPacer(QtCore.QObject):
    """A latest-wins slot for the pose, drawn by `draw_pose` on ticks; frames go straight to
    `draw_frame`."""

    def __init__(self, draw_pose: Callable[[object], None], draw_frame: Callable[[object], None],
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._draw_pose = draw_pose
        self._draw_frame = draw_frame
        self._pose: object | None = None
        self.interval_ms = DISPLAY_INTERVAL_MS  # the least time between two pose draws
        self._last_draw_time = -1e9
        self._timer = QtCore.QTimer(self, singleShot=True)
        self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._on_tick)

    def show_pose(self, pose: object) -> None:
        """Draw `pose` on the next pass when the last pose draw is `interval_ms` ago, else on a
        later pose's pass or `interval_ms` from now (a pose still waiting is replaced)."""
        self._pose = pose
        if (time.perf_counter() - self._last_draw_time) * 1e3 >= self.interval_ms:
            self._timer.start(0)
        elif not self._timer.isActive():  # restarting it on every pose would starve it
            self._timer.start(int(self.interval_ms))

    def show_frame(self, frame: object) -> None:
        """Draw `frame` now."""
        self._draw_frame(frame)

    @property
    def pending(self) -> bool:
        return self._pose is not None

    def flush(self) -> None:
        """Draw the pose waiting, if any, now (tests and the screenshot command)."""
        while self.pending:
            self._on_tick()

    def stop(self) -> None:
        self._timer.stop()

    def _on_tick(self) -> None:
        self._timer.stop()
        pose, self._pose = self._pose, None
        if pose is not None:
            self._last_draw_time = time.perf_counter()
            self._draw_pose(pose)
