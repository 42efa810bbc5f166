"""StylePicker and CameraPanel: user edits emit signals, app updates do not."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore
from PySide6.QtTest import QTest

from widgets.camera_panel import CUSTOM, CameraPanel
from widgets.style_picker import NO_STYLE, StylePicker

PRESETS = {"Kinect v1 / NYU 640×480": (588.03, 587.07, 320.0, 240.0, 640, 480),
           "ICVL-MSRA 320×240": (241.42, 241.42, 160.0, 120.0, 320, 240)}


@pytest.fixture
def picker(qtbot):
    p = StylePicker()
    qtbot.addWidget(p)
    thumb = np.full((40, 30), 128, dtype=np.uint8)
    p.set_styles([("kinect", "Kinect v1", thumb), ("sr300", "SR300", np.dstack([thumb] * 3))])
    return p


@pytest.fixture
def camera(qtbot):
    c = CameraPanel(PRESETS, distance_mm=450.0)
    qtbot.addWidget(c)
    return c


def test_style_choice_none_and_add_image(picker, qtbot):
    assert picker.style_names() == [NO_STYLE, "kinect", "sr300"]
    with qtbot.waitSignal(picker.styleChosen) as chosen:
        picker._list.itemClicked.emit(picker._list.item(2))
    assert chosen.args == ["sr300"]
    with qtbot.waitSignal(picker.styleChosen) as none:
        picker._list.itemClicked.emit(picker._list.item(0))
    assert none.args == [NO_STYLE]
    assert not picker._strength.isEnabled()
    with qtbot.waitSignal(picker.styleImageRequested):
        picker._add_button.click()
    picker.add_style("mine", "my_depth.png", np.zeros((4, 4), np.uint8))
    assert picker.style_names()[-1] == "mine"


def test_style_strength_and_quiet_setters(picker, qtbot):
    picker.set_current_style("kinect")
    with qtbot.waitSignal(picker.strengthChanged) as strength:
        picker._strength.setValue(25)
    assert strength.args == [pytest.approx(0.25)]
    with qtbot.assertNotEmitted(picker.strengthChanged), qtbot.assertNotEmitted(picker.styleChosen):
        picker.set_strength(0.8)
        picker.set_current_style("sr300")
    assert picker.strength == pytest.approx(0.8)
    assert picker.current_style == "sr300"
    with pytest.raises(KeyError):
        picker.set_current_style("missing")


def test_camera_preset_choice_emits_intrinsics(camera, qtbot):
    with qtbot.waitSignal(camera.cameraChanged) as changed:
        camera._preset_box.setCurrentText("ICVL-MSRA 320×240")
    assert changed.args[0] == {"name": "ICVL-MSRA 320×240", "fx": 241.42, "fy": 241.42,
                               "cx": 160.0, "cy": 120.0, "width": 320, "height": 240}


def test_camera_custom_edit_and_quiet_set_camera(camera, qtbot):
    fx = camera._fields["fx"]
    with qtbot.waitSignal(camera.cameraChanged) as changed:
        fx.setValue(600.0)
    assert changed.args[0]["name"] == CUSTOM
    assert changed.args[0]["fx"] == 600.0
    with qtbot.assertNotEmitted(camera.cameraChanged):
        camera.set_camera(dict(zip(("fx", "fy", "cx", "cy", "width", "height"),
                                   PRESETS["Kinect v1 / NYU 640×480"])))
    assert camera.camera()["name"] == "Kinect v1 / NYU 640×480"


def test_camera_field_commits_on_enter_not_per_keystroke(camera, qtbot):
    fx = camera._fields["fx"]
    fx.setFocus()
    fx.selectAll()
    with qtbot.assertNotEmitted(camera.cameraChanged):
        QTest.keyClicks(fx, "512")
    with qtbot.waitSignal(camera.cameraChanged) as changed:
        QTest.keyClick(fx, QtCore.Qt.Key.Key_Return)
    assert changed.args[0]["fx"] == 512.0


def test_camera_distance(camera, qtbot):
    assert camera.distance == 450.0
    with qtbot.waitSignal(camera.distanceChanged) as moved:
        camera._distance_slider.setValue(600)
    assert moved.args == [600.0]
    assert camera._distance_box.value() == 600.0
    with qtbot.assertNotEmitted(camera.distanceChanged):
        camera.set_distance(350.0)
    assert camera._distance_slider.value() == 350


def test_the_chosen_style_is_shown_large_with_its_caption(picker, qtbot):
    assert not picker.preview_shown  # "None"
    picker._list.itemClicked.emit(picker._list.item(1))
    assert picker.preview_shown
    picker.set_caption("Style: Kinect v1 · style image uint16, 1 mm per unit (given)")
    assert "1 mm per unit" in picker.caption
    picker.set_current_style(NO_STYLE)
    assert not picker.preview_shown and picker.caption == ""
