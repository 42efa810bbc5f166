"""PosePanel: sliders and buttons emit their signals; set_state shows a pose without echo."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore, QtGui
from PySide6.QtTest import QTest

from widgets.pose_panel import PosePanel


@pytest.fixture
def panel(qtbot, fingers):
    p = PosePanel(fingers)
    qtbot.addWidget(p)
    thumb = np.zeros((32, 24), dtype=np.uint8)
    p.set_presets([("flat", thumb), ("fist", thumb), ("fist loose", np.zeros((8, 8, 3), np.uint8)),
                   ("point", thumb)])
    return p


def test_curl_and_spread_sliders_emit_normalised_values(panel, qtbot):
    with qtbot.waitSignal(panel.fingerCurlChanged) as curl:
        panel._curl["ring"].setValue(40)
    assert curl.args == ["ring", pytest.approx(0.4)]
    with qtbot.waitSignal(panel.fingerSpreadChanged) as spread:
        panel._spread["index"].setValue(-25)
    assert spread.args == ["index", pytest.approx(-0.25)]


def test_rotation_slider_and_spinbox_stay_in_step(panel, qtbot):
    with qtbot.waitSignal(panel.globalRotationChanged) as rotated:
        panel._rotation_sliders[1].setValue(30)
    assert rotated.args == [0.0, 30.0, 0.0]
    assert panel._rotation_boxes[1].value() == 30
    with qtbot.waitSignal(panel.globalRotationChanged) as rotated:
        panel._rotation_boxes[2].setValue(-45)
    assert rotated.args == [0.0, 30.0, -45.0]
    assert panel._rotation_sliders[2].value() == -45


def test_thickness_slider_and_spinbox_emit_the_thickness_in_step(panel, qtbot):
    assert panel.thickness() == 1.0 and panel._thickness.minimum() == 90 and panel._thickness.maximum() == 110
    with qtbot.waitSignal(panel.thicknessChanged) as changed:
        panel._thickness.setValue(95)
    assert changed.args == [pytest.approx(0.95)] and panel._thickness_box.value() == 95
    with qtbot.waitSignal(panel.thicknessChanged) as changed:
        panel._thickness_box.setValue(108)
    assert changed.args == [pytest.approx(1.08)] and panel.thickness() == pytest.approx(1.08)


def test_set_state_updates_controls_without_echo(panel, qtbot):
    signals = [panel.fingerCurlChanged, panel.fingerSpreadChanged, panel.globalRotationChanged,
               panel.handednessChanged, panel.fingerSelected, panel.thicknessChanged]
    with qtbot.assertNotEmitted(signals[0]), qtbot.assertNotEmitted(signals[1]), \
            qtbot.assertNotEmitted(signals[2]), qtbot.assertNotEmitted(signals[3]), \
            qtbot.assertNotEmitted(signals[4]), qtbot.assertNotEmitted(signals[5]):
        panel.set_state(curls={"index": 0.7}, spreads={"little": 0.5}, rotation=(10, 190, -30),
                        handedness="left", thickness=0.93)
        panel.set_selected_finger("ring")
    assert panel.thickness() == pytest.approx(0.93) and panel._thickness_box.value() == 93
    assert panel.curl("index") == pytest.approx(0.7)
    assert panel.spread("little") == pytest.approx(0.5)
    assert panel.rotation() == (10.0, -170.0, -30.0)   # wrapped into [-180, 180)
    assert panel._rotation_boxes[1].value() == -170
    assert panel.handedness() == "left"
    assert panel.selected_finger == "ring"


def test_preset_search_filters_and_choosing_emits(panel, qtbot):
    QTest.keyClicks(panel._search, "FIST")
    assert panel.visible_presets() == ["fist", "fist loose"]
    with qtbot.waitSignal(panel.presetChosen) as chosen:
        QTest.keyClick(panel._search, QtCore.Qt.Key.Key_Return)
    assert chosen.args == ["fist"]
    item = panel._preset_list.item(2)
    with qtbot.waitSignal(panel.presetChosen) as clicked:
        panel._preset_list.itemClicked.emit(item)
    assert clicked.args == ["fist loose"]


def test_buttons_emit_requests(panel, qtbot):
    buttons = {b.text(): b for b in panel.findChildren(type(panel._hand_buttons.button(0)))}
    panel.set_selected_finger("middle")
    with qtbot.waitSignal(panel.fingerResetRequested) as reset:
        buttons["Reset finger"].click()
    assert reset.args == ["middle"]
    for text, signal in (("Reset hand", panel.handResetRequested),
                         ("Random pose", panel.randomPoseRequested),
                         ("Mirror L↔R", panel.mirrorRequested)):
        with qtbot.waitSignal(signal):
            buttons[text].click()
    with qtbot.waitSignal(panel.handednessChanged) as side:
        buttons["Left"].click()
    assert side.args == ["left"]
    with qtbot.waitSignal(panel.fingerSelected) as selected:
        panel._finger_buttons.button(0).click()
    assert selected.args == ["thumb"]


def _mean_colour(widget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return pixels[:, :image.width() * 4].reshape(image.height(), image.width(), 4)[..., :3].mean(axis=(0, 1))


def test_left_and_right_show_which_hand_is_selected(panel, qtbot):
    left, right = (panel._hand_buttons.button(i) for i in range(2))
    assert left.text() == "Left" and right.text() == "Right"
    assert left.isCheckable() and right.isCheckable() and panel._hand_buttons.exclusive()
    panel.show()
    qtbot.waitExposed(panel)
    assert right.isChecked() and not left.isChecked()
    unchecked, checked = _mean_colour(left), _mean_colour(right)
    assert np.abs(checked - unchecked).max() > 60  # not ~15 grey levels: the selection shows
    with qtbot.waitSignal(panel.handednessChanged) as chosen:
        QTest.mouseClick(left, QtCore.Qt.MouseButton.LeftButton)
    assert chosen.args == ["left"] and left.isChecked() and not right.isChecked()
    assert np.abs(_mean_colour(left) - checked).max() < 10  # the same look, now on Left
