"""Pose files: round trip, the minimal external form, and one-line errors for bad input."""
import json

import numpy as np
import pytest

from engine.camera import KINECT_V1
from engine.hand.model import HandPose, HandShape
from engine.hand.pose_io import PoseFileError, PoseRecord, load_pose, record_to_dict, save_pose
from engine.hand.presets import DEFAULT_PRESET, load_preset, preset_names

REQUIRED_PRESETS = {"relaxed", "fist", "open_palm", "point", "pinch", "ok", "victory", "thumbs_up", "grasp"}


def test_round_trip_keeps_model_and_provenance(tmp_path):
    hand = HandPose(angles=np.linspace(0, 0.5, 20), shape=HandShape(1.1, (1, 1.05, 1, 0.95, 1), 0.9),
                    rotation=[0.1, -0.2, 0.3], translation=[5, 60, 480], handedness="left")
    rec = PoseRecord.from_hand(hand, KINECT_V1, name="mine", extra={"seed": 3})
    save_pose(tmp_path / "p.json", rec)
    back = load_pose(tmp_path / "p.json")
    np.testing.assert_allclose(back.joints, rec.joints, atol=1e-3)
    assert back.handedness == "left" and back.camera == KINECT_V1 and back.name == "mine"
    assert back.extra == {"seed": 3}
    np.testing.assert_allclose(back.hand.joints(), hand.joints(), atol=1e-3)
    assert back.hand.shape.thickness == 0.9


def test_joints_and_camera_alone_are_accepted(tmp_path):
    joints = HandPose().joints()
    path = tmp_path / "ext.json"
    path.write_text(json.dumps({"joints": joints.tolist(), "camera": KINECT_V1.to_dict()}))
    rec = load_pose(path)
    assert rec.hand is None and rec.handedness == "right"
    np.testing.assert_allclose(rec.joints, joints)


def _good() -> dict:
    return record_to_dict(PoseRecord.from_hand(HandPose(), KINECT_V1))


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.pop("joints"), "missing key 'joints'"),
    (lambda d: d.pop("camera"), "missing key 'camera'"),
    (lambda d: d.update(joints=d["joints"][:20]), "shape (21, 3)"),
    (lambda d: d["joints"][3].__setitem__(1, float("nan")), "NaN"),
    (lambda d: d.update(handedness="both"), "handedness"),
    (lambda d: d["camera"].pop("fx"), "missing fx"),
    (lambda d: d["camera"].update(width=0), "width and height"),
    (lambda d: d["angles_deg"].update(index_pip_flex=80.0), "disagree"),
    (lambda d: d["angles_deg"].update(bogus=1.0), "unknown angle"),
    (lambda d: d.pop("global"), "needs 'global'"),
    (lambda d: d.update(joints="many"), "joints"),
])
def test_bad_files_give_one_line_errors_naming_the_file(tmp_path, mutate, message):
    d = _good()
    mutate(d)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(d))
    with pytest.raises(PoseFileError) as err:
        load_pose(path)
    text = str(err.value)
    assert message in text and str(path) in text and "\n" not in text


@pytest.mark.parametrize("content, message", [("{not json", "not valid JSON"), ("[1, 2]", "JSON object")])
def test_non_json_and_wrong_top_level(tmp_path, content, message):
    path = tmp_path / "x.json"
    path.write_text(content)
    with pytest.raises(PoseFileError, match=message):
        load_pose(path)


def test_missing_file(tmp_path):
    with pytest.raises(PoseFileError, match="no such file"):
        load_pose(tmp_path / "nope.json")


def test_presets_ship_and_load():
    names = preset_names()
    assert len(names) >= 20 and REQUIRED_PRESETS <= set(names) and DEFAULT_PRESET == "relaxed"
    for name in names:
        rec = load_preset(name)
        assert rec.hand is not None and rec.name == name
        assert 550 < rec.joints[:, 2].min() and rec.joints[:, 2].max() < 850  # wrist at 700 mm
    with pytest.raises(ValueError, match="unknown preset"):
        load_preset("jazz_hands_3000")


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path):
    save_pose(tmp_path / "a.json", PoseRecord.from_hand(HandPose(), KINECT_V1))
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
