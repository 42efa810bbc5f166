"""A continuous fingertip drag on the real window, for both depth sources: behaviour, not speed.

The drag is driven and recorded by app/drag_probe.py, the same code `python main.py bench app`
uses to report the speed figures (stall, frames/s, pose to screen). Nothing here depends on how
fast the machine is: moves are counted against moves sent, frames are counted, and the GUI
keeps its event loop by never computing a frame itself during the drag (every frame is made on
the runtime's worker thread, or a generator's in the frame process, the app's default); the
stall figures are `bench app`'s.
"""
from __future__ import annotations

import threading

import pytest

from app.drag_probe import INDEX_TIP, drag_fingertip, figures
import engine.runtime
from app.scene import same_pose
from engine.hand.limits import within_limits
from engine.hand.skeleton import JOINT_NAMES

DRAG_S = 3.0  # how long the mouse moves; the drag's length, not a bound
MIN_FRAMES_DURING_DRAG = 3  # the depth stays live: new frames keep arriving while the mouse moves
MAX_FRAMES_BEHIND = 1  # the frame in flight when the pose changed, no more
EVENT_TIMEOUT_S = 60.0


@pytest.mark.parametrize("source, in_process", [("simulator", False), ("generator", True), ("generator", False)])
def test_a_continuous_drag_reaches_the_ik_keeps_the_depth_live_and_undoes(open_window, qtbot, monkeypatch, source,
                                                                          in_process):
    window = open_window(load_generator=source == "generator", frames_in_process=in_process)
    c, vp = window.controller, window.viewport
    if source == "generator":
        assert c.wait_for_generator(EVENT_TIMEOUT_S)
        assert c.wait_for_frame_process(EVENT_TIMEOUT_S) == in_process
        assert c.wait_for_frame(EVENT_TIMEOUT_S)
    assert c.source == source
    vp.snap_view("camera")
    window.flush_display()
    before = c.hand
    computed_on: list[threading.Thread] = []
    compute_frame = engine.runtime.compute_frame

    def recorded_compute_frame(*args, **kwargs):
        computed_on.append(threading.current_thread())
        return compute_frame(*args, **kwargs)

    monkeypatch.setattr(engine.runtime, "compute_frame", recorded_compute_frame)

    rec = drag_fingertip(window, DRAG_S)
    assert c.wait_for_frame(EVENT_TIMEOUT_S)
    window.flush_display()
    print(f"\ndrag figures ({source}, not asserted):", figures(rec))

    # every move sent reached the IK, and each gave a new pose
    assert rec.moves_sent > 0 and rec.moves_delivered == rec.moves_sent
    assert len(rec.pose_changes) >= rec.moves_delivered
    # the depth kept arriving during the drag, from the chosen source
    assert rec.frames_shown_during_drag >= MIN_FRAMES_DURING_DRAG
    assert (c.shown_frame.generated is not None) == (source == "generator")
    # a frame counts as shown once painted, after it was handed to the view
    handed = {}
    for t, rid in rec.given:
        handed.setdefault(rid, t)
    assert rec.shown and all(rid in handed and handed[rid] <= t for t, rid in rec.shown)
    # the view was never more than one finished frame behind, and the last pose is on screen
    assert max(rec.frames_behind) <= MAX_FRAMES_BEHIND

    def last_pose_on_screen() -> bool:
        # a busy machine may still deliver the release's own request after wait_for_frame
        window.flush_display()
        return c.frames.frame_is_current and rec.shown[-1][1] == c.frames.last_request_id

    qtbot.waitUntil(last_pose_on_screen, timeout=int(EVENT_TIMEOUT_S * 1000))
    # the GUI kept running its event loop: every frame of the drag was made off the GUI thread,
    # in the frame process when there is one (none computed in this process at all)
    assert threading.main_thread() not in computed_on
    assert rec.finished and len(rec.process_ms) == (len(rec.finished) if in_process else 0)
    assert bool(computed_on) != in_process
    # the pose is a legal hand, the drag is one undo step, and undo brings the start back
    assert within_limits(c.hand.angles) and not same_pose(c.hand, before)
    assert c.history.undo_label == f"Drag {JOINT_NAMES[INDEX_TIP]}"
    c.undo()
    assert same_pose(c.hand, before)
    assert c.wait_for_frame(EVENT_TIMEOUT_S)
