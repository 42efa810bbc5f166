"""Display pacing: at most one heavy view (3D canvas or depth image) drawn per tick.

In software OpenGL (Xvfb + llvmpipe) each repaint of the window costs tens of milliseconds, and
a drag must never stall the GUI for more than 50 ms. So the newest pose and the newest frame wait
in one slot each, and a tick every DISPLAY_INTERVAL_MS draws one of them, alternating so neither
starves: one pass of the event loop never paints both, and either view still updates ~20 times a
second during a drag, more when only one has news.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from PySide6 import QtCore

DISPLAY_INTERVAL_MS = 25.0


class DisplayPacer(QtCore.QObject):
    """Latest-wins slots for a pose and a frame, drawn by `draw_pose` / `draw_frame` on ticks."""

    def __init__(self, draw_pose: Callable[[object], None], draw_frame: Callable[[object], None],
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._draw_pose = draw_pose
        self._draw_frame = draw_frame
        self._pose: object | None = None
        self._frame: object | None = None
        self._last_drawn = "frame"
        self._last_draw_time = 0.0
        self._timer = QtCore.QTimer(self, singleShot=True)
        self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._on_tick)

    def show_pose(self, pose: object) -> None:
        """Draw `pose` on a coming tick (replacing a pose still waiting)."""
        self._pose = pose
        self._schedule()

    def show_frame(self, frame: object) -> None:
        """Draw `frame` on a coming tick (replacing a frame still waiting)."""
        self._frame = frame
        self._schedule()

    @property
    def pending(self) -> bool:
        return self._pose is not None or self._frame is not None

    def flush(self) -> None:
        """Draw whatever is waiting now (tests and the screenshot command)."""
        while self.pending:
            self._on_tick()

    def stop(self) -> None:
        self._timer.stop()

    def _schedule(self) -> None:
        if not self._timer.isActive():  # restarting it on every event would starve it
            wait = DISPLAY_INTERVAL_MS - (time.perf_counter() - self._last_draw_time) * 1e3
            self._timer.start(max(0, int(wait)))

    def _on_tick(self) -> None:
        self._timer.stop()
        draw_pose, draw_frame = self._pose is not None, self._frame is not None
        if draw_pose and draw_frame:
            draw_pose, draw_frame = self._last_drawn == "frame", self._last_drawn == "pose"
        if draw_pose:
            pose, self._pose, self._last_drawn = self._pose, None, "pose"
            self._draw_pose(pose)
        if draw_frame:
            frame, self._frame, self._last_drawn = self._frame, None, "frame"
            self._draw_frame(frame)
        self._last_draw_time = time.perf_counter()
        if self.pending:
            self._schedule()
