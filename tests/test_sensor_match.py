"""Style images: encoding detection and the closest sensor model."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.camera import DEFAULT_CAMERA
from engine.hand.controls import set_hand_distance
from engine.hand.presets import load_preset
from engine.sim.render import render_hand
from engine.sim.sensor_match import StyleImageError, closest_sensor, read_style_image
from engine.sim.sensors import SENSOR_NAMES, apply_sensor

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "real_depth_samples"
SR305 = SAMPLES / "sr305" / "20210326-230536" / "70.png"
NYU = SAMPLES / "nyu" / "depth_1_0000001.png"


@pytest.fixture(scope="module")
def clean():
    hand = set_hand_distance(load_preset("point").hand, 600.0)
    return render_hand(hand.joints(), DEFAULT_CAMERA).depth


@pytest.mark.parametrize("sensor", SENSOR_NAMES)
def test_each_sensor_model_is_recognised(clean, sensor):
    """A majority of a model's draws are matched to it. Not every one: this pose's RealSense and
    Kinect statistics lie close (over 100 draws 63-78 % of RealSense's are matched to it,
    depending on the random stream), so a test of one seed passed or failed by luck."""
    names = [closest_sensor(apply_sensor(clean, DEFAULT_CAMERA, sensor, seed))[0] for seed in range(11, 26)]
    assert names.count(sensor) >= 8, names


def test_encodings_are_detected(tmp_path, clean):
    mm = np.rint(apply_sensor(clean, DEFAULT_CAMERA, "kinect_v1", 1)).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "mm.png"), mm)
    style = read_style_image(tmp_path / "mm.png")
    assert style.encoding == "uint16"
    np.testing.assert_array_equal(style.depth, mm)

    nyu = np.zeros((*mm.shape, 3), np.uint8)
    nyu[..., 0], nyu[..., 1] = mm & 0xFF, mm >> 8  # B = low byte, G = high byte
    nyu[mm == 0, 0], nyu[mm == 0, 1] = 2001 & 0xFF, 2001 >> 8
    cv2.imwrite(str(tmp_path / "nyu.png"), nyu)
    style = read_style_image(tmp_path / "nyu.png")
    assert style.encoding == "NYU RGB"
    np.testing.assert_array_equal(style.depth, mm)

    grey = np.where(mm > 0, 255 - (mm - 400) // 2, 0).clip(0, 255).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "grey.png"), grey)
    assert read_style_image(tmp_path / "grey.png").encoding == "8-bit grey"


def test_unusable_files_give_one_line(tmp_path):
    (tmp_path / "text.png").write_text("not a png")
    cv2.imwrite(str(tmp_path / "empty.png"), np.zeros((48, 64), np.uint16))
    for name, message in (("missing.png", "no such file"), ("text.png", "not an image"),
                          ("empty.png", "no depth data")):
        with pytest.raises(StyleImageError, match=message) as err:
            read_style_image(tmp_path / name)
        assert "\n" not in str(err.value) and name in str(err.value)


@pytest.mark.skipif(not SR305.is_file(), reason="shared real depth samples not present")
def test_a_real_sr305_frame_matches_the_realsense_model():
    assert closest_sensor(read_style_image(SR305).depth)[0] == "realsense"
    assert read_style_image(NYU).encoding == "NYU RGB"
