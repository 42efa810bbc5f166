"""The window mirrors the controller's one view state; the 3D view keeps the hand in frame;
status lines stay current. Driven through the real window."""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore
from PySide6.QtTest import QTest

from engine.hand.skeleton import JOINT_NAMES

EVENT_TIMEOUT_MS = 20000


def joints_on_canvas(window) -> int:
    positions = window.viewport.joint_canvas_positions()
    w, h = window.viewport.canvas.size
    inside = (positions[:, 0] >= 0) & (positions[:, 0] < w) & (positions[:, 1] >= 0) & (positions[:, 1] < h)
    return int(np.count_nonzero(inside))


def test_crop_is_one_view_state_mirrored_by_the_action_and_the_depth_view(window):
    c = window.controller
    views = []
    c.viewChanged.connect(views.append)
    c.set_view(crop=False)
    assert not window.crop_action.isChecked() and views[-1].crop is False
    window.crop_action.trigger()  # the action edits the state, and the mirror does not echo
    assert c.view.crop is True and len(views) == 2
    assert not c.history.can_undo  # a view setting, not an edit


def test_the_3d_view_frames_the_hand_after_a_distance_change_and_on_the_f_key(window, qtbot):
    window.camera_panel.distanceChanged.emit(1200.0)
    window.flush_display()
    assert joints_on_canvas(window) == len(JOINT_NAMES)
    window.viewport.view.camera.center = (500.0, 500.0, 0.0)  # the user panned away
    assert joints_on_canvas(window) < len(JOINT_NAMES)
    QTest.keyClick(window, QtCore.Qt.Key.Key_F)
    assert joints_on_canvas(window) == len(JOINT_NAMES)


def test_a_range_warning_is_taken_back_when_the_hand_is_in_range_again(window, qtbot):
    c = window.controller
    messages: list[str] = []
    c.statusMessage.connect(messages.append)
    c.set_style("tof")
    qtbot.waitUntil(lambda: c.style_entry is not None and c.frames.frame_is_current, timeout=EVENT_TIMEOUT_MS)
    c.pose_edits.set_distance(300.0)
    qtbot.waitUntil(lambda: any("Change Camera > Distance" in m for m in messages), timeout=EVENT_TIMEOUT_MS)
    c.pose_edits.set_distance(700.0)
    qtbot.waitUntil(lambda: "range again" in messages[-1], timeout=EVENT_TIMEOUT_MS)


def test_the_status_bar_names_the_source_and_style_shown(window, qtbot):
    c = window.controller
    c.set_style("realsense")
    c.set_strength(0.5)
    window.status_readout.refresh()
    assert window.status_readout.shown_label.text() == f"simulator · {c.style_title()}"
    c.undo()  # undo covers the strength, then the style
    c.undo()
    window.status_readout.refresh()
    assert window.status_readout.shown_label.text() == "simulator · clean"


def test_levels_come_from_the_hands_own_depths_once_its_frame_arrives(window, qtbot):
    from app.presenter import hand_levels

    c = window.controller
    window.camera_panel.distanceChanged.emit(650.0)  # a distance edit re-levels the view
    qtbot.waitUntil(lambda: c.wait_for_frame(0.05), timeout=EVENT_TIMEOUT_MS)
    window.flush_display()
    frame = c.shown_frame
    # the levels come from the frame of the new distance, from the hand's own depths
    assert tuple(window.depth_view.levels) == hand_levels(frame.clean, frame.labels, c.hand)
    near, far = window.depth_view.levels
    assert near < 650.0 < far
