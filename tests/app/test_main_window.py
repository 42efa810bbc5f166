"""The real main window, driven like a user: drag, undo, style, export, scenes, start and quit."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from gui_helpers import LEFT, drag, use_stand_in_generator
from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest

from app import scene as scene_io
from engine.hand.controls import finger_curl
from engine.hand.ik import joints_at_limit
from engine.hand.limits import within_limits
from engine.hand.skeleton import FINGER_JOINTS
from engine.sim.sensors import apply_sensor

ROOT = Path(__file__).resolve().parents[2]
INDEX_TIP = FINGER_JOINTS["index"][3]
CTRL = QtCore.Qt.KeyboardModifier.ControlModifier
CTRL_SHIFT = CTRL | QtCore.Qt.KeyboardModifier.ShiftModifier


def settle(window) -> None:
    assert window.controller.wait_for_frame(20.0)
    window.flush_display()


def click_style(window, qtbot, name: str) -> None:
    """Click the style's thumbnail in the picker, as a user would."""
    lst = window.style_picker.findChild(QtWidgets.QListWidget)
    for row in range(lst.count()):
        item = lst.item(row)
        if item.data(QtCore.Qt.ItemDataRole.UserRole) == name:
            lst.scrollToItem(item)
            QTest.mouseClick(lst.viewport(), LEFT, QtCore.Qt.KeyboardModifier.NoModifier,
                             lst.visualItemRect(item).center())
            return
    raise AssertionError(f"no style {name!r} in the picker")


def test_app_starts_with_a_frame_and_closes_cleanly(window):
    c = window.controller
    frame = c.shown_frame
    assert frame is not None and (frame.depth > 0).sum() > 1000
    assert window.depth_view.panel_count == 1
    assert window.depth_view.panel_titles()[0].startswith("simulator ·")  # no generator loaded
    assert c.source == "simulator" and not window.source_action.isEnabled()
    assert "Device: CPU" in window.status_readout.device_label.text()
    window.close()
    assert c.closed and not c.runtime._thread.is_alive()


def test_dragging_a_fingertip_moves_it_within_limits_and_undo_restores(window, qtbot):
    c, vp = window.controller, window.viewport
    vp.snap_view("camera")
    before = c.hand
    tip_before = c.joints[INDEX_TIP].copy()
    drag(qtbot, vp, INDEX_TIP, [(10, 0), (25, 10), (40, 25)])  # right and down on screen
    after = c.hand
    tip = c.joints[INDEX_TIP]
    assert tip[0] - tip_before[0] > 5.0 and tip[1] - tip_before[1] > 5.0  # x right, y down
    assert within_limits(after.angles)
    changed = np.flatnonzero(after.angles != before.angles)
    assert set(changed) <= {4, 5, 6, 7}  # only the index finger's angles
    np.testing.assert_array_equal(after.translation, before.translation)
    assert finger_curl(after, "index") > finger_curl(before, "index")
    assert c.history.undo_label == "Drag index_tip"  # the whole drag is one step
    settle(window)
    assert c.shown_frame.request.joints[INDEX_TIP] == pytest.approx(tip)

    QTest.keyClick(window, QtCore.Qt.Key.Key_Z, CTRL)
    assert scene_io.same_pose(c.hand, before)
    assert not c.history.can_undo
    QTest.keyClick(window, QtCore.Qt.Key.Key_Z, CTRL_SHIFT)
    assert scene_io.same_pose(c.hand, after)
    settle(window)
    assert c.shown_frame.request.joints[INDEX_TIP] == pytest.approx(tip)


def test_a_far_drag_stops_at_the_joint_limits_and_flags_them(window, qtbot):
    c, vp = window.controller, window.viewport
    vp.snap_view("camera")
    drag(qtbot, vp, INDEX_TIP, [(0, 60), (0, 160), (0, 260)])  # far down: curl into the palm
    assert within_limits(c.hand.angles)
    assert joints_at_limit(c.hand) & set(FINGER_JOINTS["index"])


def test_wrist_drag_moves_the_hand_and_shift_drag_rotates_it(window, qtbot):
    c, vp = window.controller, window.viewport
    vp.snap_view("camera")
    before = c.hand
    drag(qtbot, vp, 0, [(20, 0), (40, 0)])
    assert c.hand.translation[0] - before.translation[0] > 10.0
    np.testing.assert_array_equal(c.hand.angles, before.angles)
    moved = c.hand
    drag(qtbot, vp, 9, [(15, 0), (30, 0)], modifier=QtCore.Qt.KeyboardModifier.ShiftModifier)
    assert not np.allclose(c.hand.rotation, moved.rotation)
    np.testing.assert_array_equal(c.hand.angles, moved.angles)
    assert c.history.undo_label == "Rotate hand"


def test_sliders_presets_mirror_edit_the_pose_without_echo(window, qtbot):
    c, panel = window.controller, window.pose_panel
    slider = next(s for s in panel.findChildren(QtWidgets.QSlider) if "ring curl" in s.toolTip())
    slider.setValue(80)
    assert finger_curl(c.hand, "ring") == pytest.approx(0.8)
    slider.setValue(90)
    assert c.history.undo_label == "Curl ring"
    c.undo()
    assert finger_curl(c.hand, "ring") < 0.5  # both slider moves were one step
    window.flush_display()
    assert panel.curl("ring") == pytest.approx(finger_curl(c.hand, "ring"), abs=0.01)

    panel.presetChosen.emit("fist")
    assert finger_curl(c.hand, "middle") > 0.7
    c.pose_edits.mirror()
    assert c.hand.handedness == "left"
    window.flush_display()
    assert panel.handedness() == "left"
    assert len(panel.visible_presets()) >= 20  # thumbnails rendered after the window showed


def test_style_change_changes_the_depth_view_and_holds_still(window, qtbot):
    c = window.controller
    clean = c.shown_frame.depth.copy()
    before = window.depth_view.grab().toImage()
    click_style(window, qtbot, "kinect_v1")
    assert c.scene.style.name == "kinect_v1"
    settle(window)
    styled = c.shown_frame.depth
    assert not np.array_equal(styled, clean)
    np.testing.assert_array_equal(styled, apply_sensor(c.shown_frame.clean, c.scene.camera, "kinect_v1", c.scene.seed))
    assert window.depth_view.grab().toImage() != before
    assert "Kinect" in window.depth_view.panel_titles()[0]

    c.request_frame()  # same scene, same seed: the same noise, no shimmer
    settle(window)
    np.testing.assert_array_equal(c.shown_frame.depth, styled)

    window.style_picker.strengthChanged.emit(0.0)
    settle(window)
    np.testing.assert_array_equal(c.shown_frame.depth, c.shown_frame.clean)


def test_ctrl_e_exports_depth_png16_and_pose(window, qtbot, tmp_path):
    c = window.controller
    c.set_style("tof")
    settle(window)
    window.files.export_folder = tmp_path / "out"
    QTest.keyClick(window, QtCore.Qt.Key.Key_E, CTRL)
    QTest.keyClick(window, QtCore.Qt.Key.Key_E, CTRL)
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    kinds = ["controlnet.png", "depth.png", "labels.png", "mask.png", "pose.json", "preview.png",
             "skeleton.png", "unstyled.png"]  # engine.export's layout; tof changed the depth
    assert files == [f"pair_000{n}_{k}" for n in (1, 2) for k in kinds]
    depth = cv2.imread(str(tmp_path / "out/pair_0001_depth.png"), cv2.IMREAD_UNCHANGED)
    assert depth.dtype == np.uint16
    np.testing.assert_array_equal(depth, np.rint(c.shown_frame.depth).astype(np.uint16))
    pose = json.loads((tmp_path / "out/pair_0001_pose.json").read_text())
    prov = pose["provenance"]
    assert prov["style"] == "tof" and prov["seed"] == c.scene.seed and prov["source"] == "simulator"
    np.testing.assert_allclose(pose["joints"], c.joints, atol=1e-3)
    labels = cv2.imread(str(tmp_path / "out/pair_0001_labels.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(labels > 0, depth > 0)  # the labels of the written depth


def test_an_exported_pose_is_not_called_by_a_preset_it_no_longer_is(window, tmp_path):
    c = window.controller
    c.pose_edits.apply_preset("victory")
    settle(window)
    first = window.export_pair(tmp_path)
    assert json.loads(first["pose"].read_text())["name"] == "victory"
    c.pose_edits.random_pose()
    c.pose_edits.mirror()
    settle(window)
    second = window.export_pair(tmp_path)
    assert "name" not in json.loads(second["pose"].read_text())


def wait_for_styles(qtbot, c) -> None:
    qtbot.waitUntil(lambda: not c.styles.busy, timeout=20000)


def test_choosing_a_bank_image_style_updates_the_view_and_says_its_unit(window, qtbot):
    c = window.controller
    clean = c.shown_frame.depth.copy()
    click_style(window, qtbot, "sr305_palm_a")
    wait_for_styles(qtbot, c)
    settle(window)
    assert c.scene.style.name == "sr305_palm_a"
    assert not np.array_equal(c.shown_frame.depth, clean)
    assert window.depth_view.panel_titles()[0].startswith("simulator · SR305 real")
    message = window.statusBar().currentMessage()
    assert message == "Style: SR305 real: open palm (a) · style image uint16, 0.125 mm per unit (given)"
    assert "not available" not in message and "Learned" not in message
    assert window.style_picker.preview_shown and "0.125 mm" in window.style_picker.caption


def test_a_user_style_image_is_prepared_off_the_gui_thread_and_chosen(window, qtbot, tmp_path, monkeypatch):
    import threading

    from app.style_bank import StyleBank

    c = window.controller
    threads = []
    load = StyleBank.load_image

    def recording_load(path, scale_mm=None):
        threads.append(threading.current_thread())
        return load(path, scale_mm)

    monkeypatch.setattr(StyleBank, "load_image", staticmethod(recording_load))
    realsense = apply_sensor(c.shown_frame.clean, c.scene.camera, "realsense", 5)
    path = tmp_path / "my_style.png"
    cv2.imwrite(str(path), np.rint(realsense * 8).astype(np.uint16))  # SR305 units: mm x 8
    window.add_style_image(path)
    qtbot.waitUntil(lambda: c.scene.style.name == str(path.resolve()), timeout=20000)
    assert threads and threads[0] is not threading.main_thread()
    assert window.style_picker.style_names()[-1] == str(path.resolve())
    assert window.style_picker.current_style == str(path.resolve()) and window.style_picker.preview_shown
    wait_for_styles(qtbot, c)
    assert "0.125 mm per unit (guessed)" in window.statusBar().currentMessage()
    settle(window)
    assert window.depth_view.panel_titles()[0].startswith("simulator · my_style")

    (tmp_path / "junk.png").write_bytes(b"not a png")
    window.add_style_image(tmp_path / "junk.png")
    wait_for_styles(qtbot, c)
    message = window.statusBar().currentMessage()
    assert "junk.png" in message and "\n" not in message
    assert c.scene.style.name == str(path.resolve())  # the good style stays


def test_a_scene_whose_style_image_is_gone_opens_without_a_style(window, qtbot, tmp_path):
    c = window.controller
    d = scene_io.scene_to_dict(c.scene)
    d.update(version=1, style={"sensor": "realsense", "strength": 0.7, "image": str(tmp_path / "gone.png")})
    (tmp_path / "old.json").write_text(json.dumps(d))
    assert window.open_scene(tmp_path / "old.json")
    wait_for_styles(qtbot, c)
    message = window.statusBar().currentMessage()
    assert "gone.png" in message and "\n" not in message
    assert c.scene.style.name == "none" and c.scene.style.strength == 0.7
    settle(window)
    np.testing.assert_array_equal(c.shown_frame.simulator, c.shown_frame.clean)


def test_an_old_scene_with_a_style_image_restores_it(window, qtbot, tmp_path):
    c = window.controller
    d = scene_io.scene_to_dict(c.scene)
    image = ROOT / "resources/styles/nyu_kinect_test1.png"
    d.update(version=1, style={"sensor": "tof", "strength": 1.0, "image": str(image)})
    (tmp_path / "old.json").write_text(json.dumps(d))
    assert window.open_scene(tmp_path / "old.json")
    qtbot.waitUntil(lambda: c.scene.style.name == str(image), timeout=20000)
    wait_for_styles(qtbot, c)
    assert window.style_picker.current_style == str(image)


def test_the_thickness_control_reshapes_the_hand_the_frame_draws_and_undo_restores(window, qtbot):
    c, panel = window.controller, window.pose_panel
    before = c.hand
    panel._thickness.setValue(107)  # as the user drags it: one undo step however many moves
    panel._thickness.setValue(108)
    assert c.hand.shape.thickness == pytest.approx(1.08) and c.frame_request().thickness == pytest.approx(1.08)
    assert np.array_equal(c.hand.angles, before.angles)  # the pose itself is untouched
    c.undo()
    assert c.hand.shape.thickness == before.shape.thickness
    qtbot.waitUntil(lambda: panel.thickness() == pytest.approx(before.shape.thickness), timeout=5000)


def test_scene_save_and_open_restore_pose_camera_style_and_view(window, qtbot, tmp_path):
    """The view settings reach the file through the widgets' signals and the view state: the
    user's colormap, levels and orbit are saved without reading any widget back."""
    c = window.controller
    c.pose_edits.set_curl("little", 0.9)
    c.set_style("realsense")
    c.set_strength(0.5)
    window.depth_view._colormap_box.setCurrentText("turbo")  # as the user picks it
    window.depth_view._near_box.setValue(333.0)
    window.depth_view._far_box.setValue(666.0)
    assert c.view.colormap == "turbo" and c.view.levels == (333.0, 666.0)
    window.viewport.snap_view("top")
    qtbot.waitUntil(lambda: bool(c.view.orbit) and c.view.orbit["elevation"] == 90.0, timeout=5000)
    assert window.save_scene(tmp_path / "s.json")
    saved_hand = c.hand
    c.pose_edits.reset_hand()
    c.set_style("none")
    window.depth_view._colormap_box.setCurrentText("grey")
    window.viewport.snap_view("side")
    assert window.open_scene(tmp_path / "s.json")
    assert np.allclose(c.hand.angles, saved_hand.angles, atol=1e-6)
    assert c.scene.style.name == "realsense" and c.scene.style.strength == 0.5
    assert window.style_picker.current_style == "realsense"
    assert window.depth_view.colormap == "turbo" and window.depth_view.levels == (333.0, 666.0)
    assert window.viewport.view.camera.elevation == pytest.approx(90.0)
    assert not c.history.can_undo
    (tmp_path / "bad.json").write_text("{}")
    assert not window.open_scene(tmp_path / "bad.json")
    assert "bad.json" in window.statusBar().currentMessage()


def test_autosave_on_exit_and_restore_on_start(open_window, home):
    first = open_window(autosave=True)
    first.controller.pose_edits.set_curl("thumb", 1.0)
    first.controller.set_style("tof")
    hand = first.controller.hand
    first.close()
    assert (home / "autosave.json").is_file()
    second = open_window(restore=True)
    assert np.allclose(second.controller.hand.angles, hand.angles, atol=1e-6)
    assert second.controller.scene.style.name == "tof"


@pytest.mark.parametrize("content", ["{ this is not json", "future version"])
def test_a_bad_autosave_does_not_stop_the_app(open_window, home, content):
    if content == "future version":
        d = scene_io.scene_to_dict(scene_io.default_scene())
        content = json.dumps({**d, "version": scene_io.VERSION + 1, "seed": 99})
    home.mkdir(parents=True)
    (home / "autosave.json").write_text(content)
    window = open_window(restore=True)
    message = window.statusBar().currentMessage()
    assert message.startswith("Autosave ignored") and "\n" not in message
    assert window.controller.shown_frame is not None
    assert window.controller.scene.seed == scene_io.default_scene().seed  # the default scene
    assert (home / "autosave.json.unreadable").read_text() == content  # set aside, intact


def test_missing_generator_is_reported_and_a_b_is_disabled(open_window, qtbot):
    window = open_window(load_generator=True)
    messages = []
    window.controller.statusMessage.connect(messages.append)
    qtbot.waitUntil(lambda: window.controller._generator_thread is not None
                    and not window.controller._generator_thread.is_alive(), timeout=60000)
    qtbot.wait(50)
    if window.controller.generator_available:  # the shipped generator has landed
        assert window.compare_action.isEnabled()
        assert window.source_action.isEnabled() and window.source_action.isChecked()
        settle(window)  # the app switched to the generator's depth by itself
        assert window.depth_view.panel_titles()[0].startswith("generator ·")
    else:
        assert not window.compare_action.isEnabled()
        assert not window.source_action.isEnabled() and window.controller.source == "simulator"
        assert any("simulator only" in m for m in messages) or \
            "simulator only" in window.statusBar().currentMessage()


def test_overlay_toggles_on_f1(window, qtbot):
    assert not window.overlay.isVisible()
    QTest.keyClick(window, QtCore.Qt.Key.Key_F1)
    assert window.overlay.isVisible()
    QTest.keyClick(window.overlay, QtCore.Qt.Key.Key_Escape)
    assert not window.overlay.isVisible()


def test_screenshot_command_exits_cleanly(tmp_path, home):
    out = tmp_path / "shot.png"
    r = subprocess.run([sys.executable, "main.py", "screenshot", "--out", str(out), "--preset", "fist",
                        "--style", "kinect_v1", "--size", "1520x800"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert "Fatal Python error" not in r.stderr and "Traceback" not in r.stderr
    image = cv2.imread(str(out))
    assert image is not None and image.shape[0] == 800 and image.shape[1] >= 1500
    assert image.std() > 10  # a real picture, not a blank grab
    assert not (home / "autosave.json").exists()  # the screenshot never touches the autosave
    assert [p.name for p in tmp_path.iterdir()] == ["shot.png"]  # written atomically: no temp left


def test_a_b_mode_shows_generator_styled_generator_and_the_style_image(window, qtbot):
    c = window.controller
    assert not window.compare_action.isEnabled()  # no generator in this test's window
    use_stand_in_generator(c)
    c.set_style("sr305_palm_c")
    wait_for_styles(qtbot, c)
    window.compare_action.trigger()
    settle(window)
    assert window.depth_view.panel_count == 3
    titles = window.depth_view.panel_titles()
    assert titles[0] == "generator" and titles[1].startswith("generator · SR305 real")
    assert titles[2].startswith("style image · SR305 real")
    frame = c.shown_frame
    assert frame.generated is not None and not np.array_equal(frame.depth, frame.generated)
    style_image = window.depth_view.panel_depth(2)
    assert style_image.shape == window.depth_view.panel_depth(1).shape and (style_image > 0).sum() > 500
    near = np.percentile(window.depth_view.panel_depth(1)[window.depth_view.panel_depth(1) > 0], 1)
    assert np.percentile(style_image[style_image > 0], 1) == pytest.approx(near, abs=1.0)  # met the hand
    window.compare_action.trigger()
    settle(window)
    assert window.depth_view.panel_count == 1


def test_a_sensor_out_of_range_is_explained(window):
    c = window.controller
    c.set_style("tof")
    c.pose_edits.set_distance(400.0)
    settle(window)
    message = window.statusBar().currentMessage()
    assert "outside the" in message and "500-4500 mm" in message and "\n" not in message


def test_python_main_py_quits_cleanly_on_sigterm_with_a_corrupt_autosave(home):
    import signal
    import threading

    home.mkdir(parents=True)
    (home / "autosave.json").write_text("garbage")
    proc = subprocess.Popen([sys.executable, "main.py", "-v", "gui"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    up, answered = threading.Event(), threading.Event()

    def read_log():  # the app says when its first frame is on screen (main.py -v)
        for line in proc.stderr:
            lines.append(line)
            if "first depth frame on screen" in line:
                up.set()
                answered.set()
        answered.set()  # the process ended (without a frame, `up` stays unset)

    reader = threading.Thread(target=read_log, daemon=True)
    reader.start()
    try:
        answered.wait(60)
        assert up.is_set(), "".join(lines)
        assert (home / "autosave.json.unreadable").exists()  # set aside while the window was built
        assert proc.poll() is None, "".join(lines)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        reader.join(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = "".join(lines)
    assert proc.returncode == 0, err
    assert "Fatal Python error" not in err and "Traceback" not in err
    assert scene_io.load_scene(home / "autosave.json")  # a fresh, valid autosave on exit


def test_g_switches_the_single_view_between_generator_and_simulator(window, qtbot, tmp_path):
    c = window.controller
    use_stand_in_generator(c)
    c.set_style("realsense")
    c.set_view(crop=False)  # full frame: the panel holds the frame's own arrays
    settle(window)
    assert window.source_action.isEnabled() and window.source_action.isChecked()
    frame = c.shown_frame
    assert frame.generated is not None and window.depth_view.panel_count == 1
    assert window.depth_view.panel_depth() is frame.depth  # G(y) + style, the third A/B panel
    assert not np.array_equal(frame.depth, frame.simulator)
    assert window.depth_view.panel_titles()[0].startswith("generator · RealSense")
    window.files.export_folder = tmp_path / "out"
    QTest.keyClick(window, QtCore.Qt.Key.Key_E, CTRL)
    exported = cv2.imread(str(tmp_path / "out/pair_0001_depth.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(exported, np.rint(frame.depth).astype(np.uint16))
    pose = json.loads((tmp_path / "out/pair_0001_pose.json").read_text())
    assert pose["provenance"]["source"] == "generator"
    labels = cv2.imread(str(tmp_path / "out/pair_0001_labels.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(labels > 0, exported > 0)  # G's own silhouette, not the simulator's

    undo_label = c.history.undo_label
    QTest.keyClick(window, QtCore.Qt.Key.Key_G)
    assert c.source == "simulator" and not window.source_action.isChecked()
    settle(window)
    frame = c.shown_frame
    assert frame.generated is None  # the generator is not run for a view that does not show it
    assert window.depth_view.panel_depth() is frame.simulator
    assert window.depth_view.panel_titles()[0].startswith("simulator · RealSense")
    assert c.history.undo_label == undo_label  # a view setting, not an edit
    QTest.keyClick(window, QtCore.Qt.Key.Key_E, CTRL)
    exported = cv2.imread(str(tmp_path / "out/pair_0002_depth.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(exported, np.rint(frame.simulator).astype(np.uint16))
    assert json.loads((tmp_path / "out/pair_0002_pose.json").read_text())["provenance"]["source"] == "simulator"

    assert window.save_scene(tmp_path / "s.json")
    assert json.loads((tmp_path / "s.json").read_text())["view"]["source"] == "simulator"
    QTest.keyClick(window, QtCore.Qt.Key.Key_G)
    assert c.source == "generator" and window.source_action.isChecked()
    assert window.open_scene(tmp_path / "s.json")
    assert c.source == "simulator" and not window.source_action.isChecked()
    settle(window)
    assert window.depth_view.panel_titles()[0].startswith("simulator ·")


def test_a_b_mode_keeps_three_panels_and_exports_the_chosen_source(window, tmp_path):
    c = window.controller
    use_stand_in_generator(c)
    c.set_source("simulator")
    window.compare_action.trigger()
    settle(window)
    assert window.depth_view.panel_count == 3
    assert window.depth_view.panel_titles()[0] == "generator"
    paths = window.export_pair(tmp_path)
    exported = cv2.imread(str(paths["depth"]), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(exported, np.rint(c.shown_frame.simulator).astype(np.uint16))
    assert json.loads(paths["pose"].read_text())["provenance"]["source"] == "simulator"
    window.compare_action.trigger()
    settle(window)
    assert window.depth_view.panel_count == 1
    assert window.depth_view.panel_titles()[0].startswith("simulator ·")
