"""The app's Qt-free style parts: the bank as the picker shows it, a user's image as an entry,
and the A/B view's style-image panel."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.compare_panels import style_panel
from app.style_bank import NO_STYLE, StyleBank, style_status, style_title
from engine.style.registry import load_bank

SR305_UNIT_MM = 0.125


def test_the_bank_lists_the_registry_with_its_index_thumbnails():
    bank = StyleBank()
    names = [e.name for e in bank.entries()]
    assert names == [e.name for e in load_bank() if e.name != NO_STYLE]  # "None" is the picker's own
    for entry, index in zip(bank.entries(), [e for e in load_bank() if e.name != NO_STYLE]):
        np.testing.assert_array_equal(entry.thumbnail, cv2.imread(str(index.thumbnail), cv2.IMREAD_GRAYSCALE))
        assert not entry.style.prepared  # nothing is decoded before a style is chosen


def test_preparing_gives_each_style_its_picture_once():
    bank = StyleBank()
    image, sensor = bank.get("sr305_palm_b"), bank.get("tof")
    for entry in (image, sensor):
        StyleBank.prepare(entry)
        assert entry.style.prepared and (entry.reference > 0).sum() > 500
    picture = image.reference
    StyleBank.prepare(image)
    assert image.reference is picture  # cached, not cut again
    assert style_status(image).endswith("style image uint16, 0.125 mm per unit (given)")
    assert style_status(sensor) == "Style: Time of flight (Kinect v2)"
    assert style_title(sensor, 0.5) == "Time of flight (Kinect v2) · 0.50" and style_title(None, 1.0) == "clean"


def test_a_users_image_becomes_a_prepared_entry_with_a_thumbnail(tmp_path):
    depth = np.zeros((240, 320), np.float32)
    depth[60:200, 100:220] = 650.0
    depth[::7, ::5] = 0.0  # holes, as a real camera leaves
    path = tmp_path / "cam.png"
    cv2.imwrite(str(path), np.rint(depth / SR305_UNIT_MM).astype(np.uint16))
    entry = StyleBank.load_image(path, SR305_UNIT_MM)
    assert entry.name == str(path.resolve()) and entry.title == "cam" and entry.scale_mm == SR305_UNIT_MM
    assert entry.style.prepared and entry.style.assumption == "uint16, 0.125 mm per unit (given)"
    assert entry.thumbnail.dtype == np.uint8 and max(entry.thumbnail.shape[:2]) <= 100
    assert entry.reference.max() == pytest.approx(650.0)
    with pytest.raises(ValueError, match="gone.png"):
        StyleBank.load_image(tmp_path / "gone.png")


def test_the_style_panel_meets_the_hand_in_depth_and_fits_its_window():
    reference = np.zeros((40, 80), np.float32)
    reference[10:30, 10:70] = 300.0
    frame = np.zeros((480, 640), np.float32)
    frame[200:260, 300:340] = 700.0
    panel, shift = style_panel(reference, frame, (180, 280, 100, 100))
    assert panel.shape == frame.shape and shift == pytest.approx(400.0)
    rows, cols = np.flatnonzero(panel.any(1)), np.flatnonzero(panel.any(0))
    assert set(np.unique(panel)) == {0.0, 700.0}  # shifted, never blended with the holes
    assert 180 <= rows[0] and rows[-1] < 280 and 280 <= cols[0] and cols[-1] < 380  # in the window
    assert cols[-1] - cols[0] + 1 == pytest.approx(75, abs=2)  # 60 px of 80 wide, scaled to 100
    clipped, _ = style_panel(reference, frame, (-50, 600, 100, 100))  # past the frame's corner
    assert clipped.shape == frame.shape
