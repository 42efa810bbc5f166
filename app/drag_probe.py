"""A continuous fingertip drag on the real main window, recorded: shared by the drag test (which
asserts behaviour) and `python main.py bench app` (which reports the figures).

For `drag_s` seconds a timer moves the mouse over the 3D view in a circle around the index
fingertip while the event loop runs freely. Recorded:
  moves      mouse moves sent, and those that reached the IK (the viewport's jointDragged);
  stall      gaps between ticks of a TICK_MS timer on the GUI thread, from press to release +
             RELEASE_TAIL_MS: how long the event loop could not run;
  frames     every runtime frame finished (worker), every frame handed to the depth view
             (frameDisplayed) and every frame shown: it counts as shown once the paint pass
             that drew it is over, when a user sees it (frames/s and latency count these).
             "Frames behind" is, at each tick, how many finished frames are newer than the one
             the depth view holds: the app's own backlog (a frame that finishes while the one
             before it is still being painted replaces it, which is no lag);
  latency    for every pose change, the time until a frame computed from it (or a later pose)
             is on screen, and each runtime frame's own compute time: wall, and the worker's
             CPU time within it (the difference is waiting for a core or the GIL); for a frame
             computed in the frame process, the wall time is the runtime thread's round trip.
Imports Qt: loaded only by the GUI tests and `bench app`, never by the headless commands.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest

from engine.hand.skeleton import FINGER_JOINTS

INDEX_TIP = FINGER_JOINTS["index"][3]
# Small enough for a 1280x1024 virtual screen, the narrowest the docks allow.
WINDOW_SIZE = (1500, 760)
# A mouse moved by hand reaches the app about once per display frame (Qt compresses moves to one
# per event-loop pass): about 60 moves a second.
MOVE_INTERVAL_MS = 16
# vispy drops a mouse move within 10 ms of the previous one, timed from when it took that one:
# never send one that close, so every move sent is one the viewport must deliver. The gap counts
# from the end of the previous (synchronous) send, since vispy's clock starts somewhere inside
# it and a busy machine can make that send last milliseconds. Well below MOVE_INTERVAL_MS, so a
# timer's jitter does not skip a move (it would halve the rate).
MIN_MOVE_GAP_S = 0.0105
TICK_MS = 5
RELEASE_TAIL_MS = 300
CIRCLE_PX, CIRCLE_PERIOD_S = 45.0, 1.5
LEFT = QtCore.Qt.MouseButton.LeftButton
NO_MOD = QtCore.Qt.KeyboardModifier.NoModifier


@dataclass
class DragRecord:
    """What one drag did (times in seconds from time.perf_counter)."""

    drag_s: float
    moves_sent: int = 0
    moves_delivered: int = 0  # jointDragged signals: moves that reached the IK
    pose_changes: list[float] = field(default_factory=list)
    ticks: list[float] = field(default_factory=list)
    submitted: dict[int, float] = field(default_factory=dict)  # request id -> submit time
    finished: list[tuple[float, int, float, float]] = field(default_factory=list)  # time, id, compute ms, its CPU ms
    given: list[tuple[float, int]] = field(default_factory=list)  # time handed to the view, id
    shown: list[tuple[float, int]] = field(default_factory=list)  # time painted, id
    frames_behind: list[int] = field(default_factory=list)  # sampled at every tick
    process_ms: list[float] = field(default_factory=list)  # a frame process's own ms, per frame it made
    press_time: float = 0.0
    release_time: float = 0.0

    @property
    def frames_shown_during_drag(self) -> int:
        return sum(self.press_time <= t <= self.release_time for t, _ in self.shown)

    @property
    def stalls_ms(self) -> np.ndarray:
        return np.diff(np.asarray(self.ticks)) * 1e3

    def pose_to_screen_ms(self) -> list[float]:
        """For each pose change, the time until a frame submitted after it was on screen."""
        lags = []
        for t in self.pose_changes:
            later = [ts for ts, rid in self.shown if self.submitted.get(rid, -np.inf) >= t]
            if later:
                lags.append((later[0] - t) * 1e3)
        return lags


def _wait(ms: int) -> None:
    """Run the event loop for `ms` (the drag's own duration, not a wait for an event)."""
    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(ms, loop.quit)
    loop.exec()


class _PaintWatch(QtCore.QObject):
    """Records frames handed to the depth view (`given`), and each as shown once a paint of
    the view's image surface is over (Qt paints and flushes a window in one event, so what
    runs next runs after the flush)."""

    def __init__(self, record: DragRecord, surface: QtWidgets.QWidget) -> None:
        super().__init__()
        self._record = record
        self._surface = surface
        self._given: int | None = None  # handed to the view, not yet painted

    def given(self, request_id: int) -> None:
        self._given = request_id
        self._record.given.append((time.perf_counter(), request_id))

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if watched is self._surface and event.type() == QtCore.QEvent.Type.Paint \
                and self._given is not None:
            rid, self._given = self._given, None
            QtCore.QTimer.singleShot(0, lambda: self._record.shown.append((time.perf_counter(), rid)))
        return False


def drag_fingertip(window, drag_s: float) -> DragRecord:
    """Drag the index fingertip in circles for `drag_s` seconds on `window` (a MainWindow)."""
    c, vp = window.controller, window.viewport
    rec = DragRecord(drag_s=drag_s)
    submit = c.runtime.submit

    def recording_submit(request, callback, on_error=None):
        def done(result):
            t = result.timings_ms
            rec.finished.append((time.perf_counter(), result.request_id, t.get("total", np.nan),
                                 t.get("total_cpu", np.nan)))
            if "process_total" in t:
                rec.process_ms.append(t["process_total"])
            callback(result)
        rid = submit(request, done, on_error)
        rec.submitted[rid] = time.perf_counter()
        return rid

    window.flush_display()
    shown_before = c.shown_frame.request_id if c.shown_frame is not None else 0

    def on_tick():
        rec.ticks.append(time.perf_counter())
        held = rec.given[-1][1] if rec.given else shown_before
        rec.frames_behind.append(sum(rid > held for _, rid, *_ in list(rec.finished)))

    def on_delivered(*_):
        rec.moves_delivered += 1

    def on_pose(_):
        rec.pose_changes.append(time.perf_counter())

    surface = window.depth_view.image_surface()
    paints = _PaintWatch(rec, surface)

    tip = vp.joint_canvas_positions()[INDEX_TIP]
    native = vp.canvas.native
    last_move = [0.0]

    def move():
        now = time.perf_counter()
        if now - last_move[0] < MIN_MOVE_GAP_S:
            return
        phase = 2 * np.pi * (now - rec.press_time) / CIRCLE_PERIOD_S
        xy = tip + CIRCLE_PX * np.array([np.sin(phase), 1 - np.cos(phase)])
        rec.moves_sent += 1
        QTest.mouseMove(native, _point(xy))
        last_move[0] = time.perf_counter()

    c.runtime.submit = recording_submit
    connections = [(c.poseChanged, on_pose), (window.frameDisplayed, paints.given),
                   (vp.jointDragged, on_delivered)]
    for signal, slot in connections:
        signal.connect(slot)
    surface.installEventFilter(paints)
    ticker = QtCore.QTimer(interval=TICK_MS, timerType=QtCore.Qt.TimerType.PreciseTimer)
    ticker.timeout.connect(on_tick)
    mover = QtCore.QTimer(interval=MOVE_INTERVAL_MS, timerType=QtCore.Qt.TimerType.PreciseTimer)
    mover.timeout.connect(move)
    try:
        ticker.start()
        rec.press_time = last_move[0] = time.perf_counter()
        QTest.mousePress(native, LEFT, NO_MOD, _point(tip))
        if not c.dragging:
            raise RuntimeError("the press did not start a joint drag (is the fingertip visible?)")
        mover.start()
        _wait(int(drag_s * 1000))
        mover.stop()
        QTest.mouseRelease(native, LEFT, NO_MOD, _point(tip))
        rec.release_time = time.perf_counter()
        _wait(RELEASE_TAIL_MS)
    finally:
        ticker.stop()
        mover.stop()
        surface.removeEventFilter(paints)
        for signal, slot in connections:
            signal.disconnect(slot)
        c.runtime.submit = submit
    return rec


def figures(rec: DragRecord) -> dict[str, float | None]:
    """The benchmark's numbers for one drag (the keys `bench app` prints per source); None where
    the drag gave nothing to measure (e.g. no frame finished on a very slow machine)."""
    def pct(values, q: float) -> float | None:
        return round(float(np.percentile(values, q)), 1) if len(values) else None

    stalls = rec.stalls_ms
    return {
        "frames_per_s": round(rec.frames_shown_during_drag / rec.drag_s, 2),
        "pose_to_screen_ms_p50": pct(rec.pose_to_screen_ms(), 50),
        "pose_to_screen_ms_p95": pct(rec.pose_to_screen_ms(), 95),
        "stall_ms_max": round(float(stalls.max()), 1) if len(stalls) else None,
        "stall_ms_p95": pct(stalls, 95),
        "runtime_frame_ms_p50": pct([ms for _, _, ms, _ in rec.finished], 50),
        "runtime_frame_ms_p95": pct([ms for _, _, ms, _ in rec.finished], 95),
        "runtime_frame_cpu_ms_p50": pct([cpu for *_, cpu in rec.finished], 50),
        # Frames computed in the frame process (engine.frame_process): their share, and the
        # child's own time (runtime_frame_ms counts from the runtime's thread: round trip included).
        "frames_from_process": round(len(rec.process_ms) / len(rec.finished), 3) if rec.finished else None,
        "process_frame_ms_p95": pct(rec.process_ms, 95),
        "mouse_moves_sent": rec.moves_sent,
        "mouse_moves_delivered": rec.moves_delivered,
        "frames_behind_max": max(rec.frames_behind, default=0),
    }


def _point(xy) -> QtCore.QPoint:
    return QtCore.QPoint(round(float(xy[0])), round(float(xy[1])))
