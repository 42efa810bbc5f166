"""Never freeze: a continuous fingertip drag on the real window, measured.

For DRAG_S seconds a timer moves the mouse over the 3D view at ~90 Hz in a circle around the
index fingertip while the event loop runs freely. Measured:
  stall      the longest gap between ticks of a 5 ms timer on the GUI thread (press to release
             + RELEASE_TAIL_MS): how long the event loop was unable to run;
  frame lag  for every pose change, how many frames of older poses the runtime finished between
             that change and the display of a frame computed from it (or a later pose): "the
             displayed depth lags the pose by at most one frame of the runtime" (the one that
             was in flight when the pose changed);
  and, for the report, the time from a pose change to its frame on screen.
The numbers are printed (pytest -s) and written to HANDDEPTH_MEASURE_FILE when that is set.

Without a GPU every repaint of the window is composed in software OpenGL (llvmpipe) and sent
through Xvfb, so the stall is wall-clock time that other processes' CPU use stretches. The test
measures that use during the drag itself (/proc/stat busy time minus this process's own): with
less than OTHER_LOAD_LIMIT cores taken by others the 50 ms bound is asserted (idle 2-core
machine: max 26-28 ms). When other work saturated the machine the bound is not a property of
the app any more; the test warns with the numbers and asserts looser bounds that still catch
work put back into the drag path: with a frame rendered and the 3D view repainted synchronously
per mouse move, this machine measured a p95 stall of 81 ms and a max of 120 ms.
"""
from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from gui_helpers import LEFT, NO_MOD, point
from PySide6 import QtCore
from PySide6.QtTest import QTest

from engine.hand.limits import within_limits

STALL_LIMIT_MS = 50.0
OVERLOADED_STALL_LIMIT_MS = 150.0
OVERLOADED_P95_LIMIT_MS = 65.0
MAX_FRAMES_BEHIND = 1
# A one-off stall from the shared machine's scheduler is not the app's: the bound is checked on
# the best of up to DRAG_ATTEMPTS drags (every one printed). Work put back into the drag path
# stalls every drag, so it still fails.
DRAG_ATTEMPTS = 3
OTHER_LOAD_LIMIT = 0.5  # cores used by other processes during the drag
DRAG_S = 3.0
MOVE_INTERVAL_MS = 11  # vispy drops mouse moves closer than 10 ms
TICK_MS = 5
RELEASE_TAIL_MS = 300
CIRCLE_PX, CIRCLE_PERIOD_S = 45.0, 1.5
INDEX_TIP = 8


def _busy_cpu_seconds() -> float | None:
    """CPU seconds all cores spent busy since boot (Linux /proc/stat), None elsewhere."""
    try:
        fields = [float(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    return (sum(fields[:8]) - idle) / ticks


@pytest.mark.parametrize("source", ["simulator", "generator"])
def test_a_continuous_drag_never_stalls_and_the_depth_keeps_up(open_window, qtbot, source):
    # "generator" is the app's default once the shipped model has loaded: G(y) on every frame
    window = open_window(load_generator=source == "generator")
    c, vp = window.controller, window.viewport
    if source == "generator":
        assert c.wait_for_generator(30.0)
        assert c.wait_for_frame(20.0)
    assert c.source == source
    vp.snap_view("camera")
    qtbot.wait(200)
    attempts = []
    for _ in range(DRAG_ATTEMPTS):
        result = _drag_once(window, qtbot, source)
        attempts.append(result)
        assert result["frames_behind_max"] <= MAX_FRAMES_BEHIND, result
        assert result["frames_per_s"] >= 5, result  # the depth really was live during the drag
        if result["stall_max_ms"] < STALL_LIMIT_MS:
            break
    result = min(attempts, key=lambda r: r["stall_max_ms"])
    other_cores = result["other_processes_cores"]
    if other_cores < OTHER_LOAD_LIMIT:
        assert result["stall_max_ms"] < STALL_LIMIT_MS, result
    else:
        warnings.warn(f"other processes used {other_cores:.1f} cores during the drag: the "
                      f"{STALL_LIMIT_MS:.0f} ms stall bound was not checked; measured "
                      f"max {result['stall_max_ms']} ms, p95 {result['stall_p95_ms']} ms")
        assert result["stall_p95_ms"] < OVERLOADED_P95_LIMIT_MS, result
        assert result["stall_max_ms"] < OVERLOADED_STALL_LIMIT_MS, result


def _drag_once(window, qtbot, source: str) -> dict:
    """One DRAG_S-second fingertip drag on the real window: the measurements (module docstring)."""
    c, vp = window.controller, window.viewport
    submitted: dict[int, float] = {}  # request id -> submit time
    completed: list[tuple[float, int]] = []  # runtime frames done (worker), time and id
    submit = c.runtime.submit

    def timed_submit(request, callback):
        def done(result):
            completed.append((time.perf_counter(), result.request_id))
            callback(result)
        rid = submit(request, done)
        submitted[rid] = time.perf_counter()
        return rid

    c.runtime.submit = timed_submit
    pose_changes: list[float] = []
    c.poseChanged.connect(lambda hand: pose_changes.append(time.perf_counter()))
    shown: list[tuple[float, int]] = []
    window.frameDisplayed.connect(lambda rid: shown.append((time.perf_counter(), rid)))

    ticks: list[float] = []
    ticker = QtCore.QTimer(interval=TICK_MS, timerType=QtCore.Qt.TimerType.PreciseTimer)
    ticker.timeout.connect(lambda: ticks.append(time.perf_counter()))
    tip = vp.joint_canvas_positions()[INDEX_TIP]
    native = vp.canvas.native
    t0 = time.perf_counter()
    busy0, own0 = _busy_cpu_seconds(), time.process_time()

    def move():
        phase = 2 * np.pi * (time.perf_counter() - t0) / CIRCLE_PERIOD_S
        QTest.mouseMove(native, point(tip + CIRCLE_PX * np.array([np.sin(phase), 1 - np.cos(phase)])))

    mover = QtCore.QTimer(interval=MOVE_INTERVAL_MS)
    mover.timeout.connect(move)
    ticker.start()
    QTest.mousePress(native, LEFT, NO_MOD, point(tip))
    assert c.dragging
    mover.start()
    qtbot.wait(int(DRAG_S * 1000))
    mover.stop()
    QTest.mouseRelease(native, LEFT, NO_MOD, point(tip))
    qtbot.wait(RELEASE_TAIL_MS)
    ticker.stop()
    busy1, own1, wall = _busy_cpu_seconds(), time.process_time(), time.perf_counter() - t0
    other_cores = 0.0 if busy0 is None else max(0.0, (busy1 - busy0) - (own1 - own0)) / wall
    assert c.wait_for_frame(10.0)
    window.flush_display()
    c.runtime.submit = submit

    # -- the drag did what a drag does --------------------------------------------------------
    assert len(pose_changes) > DRAG_S * 20, "the mouse moves did not reach the IK"
    assert within_limits(c.hand.angles)
    assert c.history.undo_label == "Drag index_tip"
    assert shown[-1][1] == c.last_request_id  # the last pose is on screen

    # -- stall -------------------------------------------------------------------------------
    gaps_ms = np.diff(np.array(ticks)) * 1e3

    # -- frame lag in runtime frames, and in time -----------------------------------------------
    done_times = np.array([t for t, _ in completed])
    shown_t = np.array([t for t, _ in shown])
    shown_id = np.array([i for _, i in shown])
    submit_of = {rid: t for rid, t in submitted.items()}
    behind, lag_ms = [], []
    for t in pose_changes:
        # the first displayed frame whose request went out after this pose change
        later = [k for k, rid in enumerate(shown_id) if submit_of.get(int(rid), -1.0) >= t]
        if not later:
            continue
        k = later[0]
        stale = np.array([submit_of.get(int(rid), np.inf) < t for _, rid in completed], dtype=bool)
        behind.append(int(((done_times > t) & (done_times < shown_t[k]) & stale).sum()))
        lag_ms.append((shown_t[k] - t) * 1e3)
    behind = np.array(behind)
    frame_ms = [r.timings_ms.get("total", np.nan) for r in [c.shown_frame]]

    result = {
        "window": [window.width(), window.height()],
        "drag_s": DRAG_S,
        "mouse_moves_handled": len(pose_changes),
        "frames_shown": len(shown),
        "frames_per_s": len(shown) / DRAG_S,
        "stall_max_ms": round(float(gaps_ms.max()), 1),
        "stall_p95_ms": round(float(np.percentile(gaps_ms, 95)), 1),
        "stall_p50_ms": round(float(np.median(gaps_ms)), 1),
        "frames_behind_max": int(behind.max()),
        "frames_behind_mean": round(float(behind.mean()), 2),
        "pose_to_screen_ms_p50": round(float(np.median(lag_ms)), 1),
        "pose_to_screen_ms_p95": round(float(np.percentile(lag_ms, 95)), 1),
        "source": source,
        "runtime_frame_ms_last": round(float(frame_ms[0]), 1),
        "other_processes_cores": round(other_cores, 2),
        "cores": os.cpu_count(),
    }
    print("\ndrag measurement:", json.dumps(result))
    if os.environ.get("HANDDEPTH_MEASURE_FILE"):
        Path(os.environ["HANDDEPTH_MEASURE_FILE"]).write_text(json.dumps(result, indent=2) + "\n")
    return result
