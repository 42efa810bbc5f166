"""The window mirrors the controller's one view state; the 3D view keeps the hand in frame;
status lines stay current. Driven through the real window."""
from __future__ import annotations

import json

import pytest
from gui_helpers import joints_on_canvas
from PySide6 import QtCore
from PySide6.QtTest import QTest

from engine.hand.skeleton import JOINT_NAMES

EVENT_TIMEOUT_MS = 20000


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


def test_the_widgets_feed_the_view_state_through_signals_and_mirror_it(window, qtbot, tmp_path):
    """Levels, colormap and orbit: the user's gesture in a widget reaches the controller's view
    state (and so a saved scene) with no getter reading the widget back; a view state set by the
    app shows in the widgets."""
    c, dv = window.controller, window.depth_view
    assert not hasattr(c, "view_provider")  # nothing pulls the widgets' state back
    dv._near_box.setValue(455.0)  # the user types a near level
    assert c.view.levels == (455.0, dv.levels[1])
    dv._colormap_box.setCurrentText("viridis")
    assert c.view.colormap == "viridis"
    with qtbot.waitSignal(window.viewport.orbitChanged, timeout=EVENT_TIMEOUT_MS):
        window.viewport.snap_view("side")
    assert c.view.orbit["azimuth"] == 180.0
    c.undo()  # undo leaves the view state alone (it is not an edit)
    c.save_scene(tmp_path / "s.json")
    view = json.loads((tmp_path / "s.json").read_text())["view"]
    assert view["levels"][0] == 455.0 and view["colormap"] == "viridis"
    assert view["orbit"]["azimuth"] == 180.0
    c.set_view(levels=(400.0, 900.0), colormap="turbo",
               orbit={**c.view.orbit, "azimuth": 100.0})  # the app sets it: the widgets mirror
    assert dv.levels == (400.0, 900.0) and dv.colormap == "turbo"
    assert window.viewport.view.camera.azimuth == 100.0


def test_the_hand_is_framed_in_the_3d_view_at_start(window):
    assert joints_on_canvas(window) == len(JOINT_NAMES)


@pytest.mark.parametrize("gesture", ["preset", "mirror", "reset", "random"])
def test_the_3d_view_frames_the_hand_after_a_preset_mirror_reset_or_random_pose(window, gesture):
    window.viewport.view.camera.center = (500.0, 500.0, 0.0)  # the user panned away
    assert joints_on_canvas(window) < len(JOINT_NAMES)
    pp = window.pose_panel
    {"preset": lambda: pp.presetChosen.emit("fist"), "mirror": pp.mirrorRequested.emit,
     "reset": pp.handResetRequested.emit, "random": pp.randomPoseRequested.emit}[gesture]()
    window.flush_display()
    assert joints_on_canvas(window) == len(JOINT_NAMES)
