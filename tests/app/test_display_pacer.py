"""DisplayPacer: depth frames drawn the moment they come, the 3D view at most once per display
frame with the newest pose (behaviour only: no test here reads the clock)."""
from __future__ import annotations

from app.display_pacer import DisplayPacer


def _pacer(qtbot):
    poses, frames = [], []
    pacer = DisplayPacer(poses.append, frames.append)
    return pacer, poses, frames


def test_a_frame_is_drawn_at_once(qtbot):
    pacer, poses, frames = _pacer(qtbot)
    pacer.show_frame("frame 1")
    assert frames == ["frame 1"] and not pacer.pending
    pacer.show_frame("frame 2")
    assert frames == ["frame 1", "frame 2"] and poses == []


def test_poses_wait_for_a_tick_and_the_newest_wins(qtbot):
    pacer, poses, frames = _pacer(qtbot)
    pacer.show_pose("pose 1")
    qtbot.waitUntil(lambda: poses == ["pose 1"])
    # right after a draw, poses wait in the slot (never drawn inside the caller) ...
    for pose in ("pose 2", "pose 3", "pose 4"):
        pacer.show_pose(pose)
    assert poses == ["pose 1"] and pacer.pending
    # ... and the tick draws only the newest of them
    qtbot.waitUntil(lambda: not pacer.pending)
    assert poses == ["pose 1", "pose 4"] and frames == []


def test_flush_draws_the_waiting_pose_now(qtbot):
    pacer, poses, _ = _pacer(qtbot)
    pacer.show_pose("pose 1")
    pacer.flush()
    assert poses == ["pose 1"] and not pacer.pending
    pacer.stop()
