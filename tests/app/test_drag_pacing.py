"""The 3D view during a joint drag: paced at the drag rate, one redraw for a burst of moves with
the newest pose, the display rate back on release, and the pose on screen exact (behaviour
only, no clock)."""
from __future__ import annotations

import numpy as np
import pytest

from app.display_pacer import DISPLAY_INTERVAL_MS, DRAG_INTERVAL_MS
from engine.hand.model import forward_kinematics
from engine.hand.skeleton import FINGER_JOINTS

INDEX_TIP = FINGER_JOINTS["index"][3]


@pytest.fixture
def draws(window, monkeypatch):
    """The joints of every 3D redraw of the skeleton (HandViewport.set_hand)."""
    drawn = []
    set_hand = window.viewport.set_hand

    def counting_set_hand(joints, *args, **kwargs):
        drawn.append(np.array(joints))
        set_hand(joints, *args, **kwargs)

    monkeypatch.setattr(window.viewport, "set_hand", counting_set_hand)
    return drawn


def test_a_burst_of_moves_redraws_once_with_the_last_pose(window, draws, qtbot):
    c, vp = window.controller, window.viewport
    tip = c.joints[INDEX_TIP]
    vp.jointDragStarted.emit(INDEX_TIP)
    assert window._pacer.interval_ms == DRAG_INTERVAL_MS  # the drag's configured rate, not a measured time
    assert DRAG_INTERVAL_MS > DISPLAY_INTERVAL_MS
    poses = []
    for i in range(1, 9):  # one event-loop turn: every move solves, none draws yet
        vp.jointDragged.emit(INDEX_TIP, tip + np.array([2.0 * i, 1.0 * i, 0.0]))
        poses.append(c.hand)
    assert draws == [] and len({p.angles.tobytes() for p in poses}) > 1
    qtbot.waitUntil(lambda: len(draws) == 1)
    np.testing.assert_allclose(draws[0], forward_kinematics(poses[-1]))
    assert c.wait_for_frame(20.0)  # the depth view gets the same pose
    np.testing.assert_allclose(c.shown_frame.request.joints, forward_kinematics(poses[-1]))


def test_the_release_restores_the_display_rate_and_shows_the_last_pose(window, draws):
    c, vp = window.controller, window.viewport
    vp.jointDragStarted.emit(INDEX_TIP)
    vp.jointDragged.emit(INDEX_TIP, c.joints[INDEX_TIP] + np.array([12.0, 6.0, 0.0]))
    vp.jointDragFinished.emit(INDEX_TIP)
    assert window._pacer.interval_ms == DISPLAY_INTERVAL_MS and not c.dragging
    assert c.history.undo_label == "Drag index_tip"
    window.flush_display()
    np.testing.assert_allclose(draws[-1], forward_kinematics(c.hand))
