"""Every shipped preset is seen whole by every shipped sensor (issue 12: no all-zero depth)."""
from __future__ import annotations

import numpy as np
import pytest

from engine.camera import DEFAULT_CAMERA
from engine.hand.presets import load_preset, preset_names
from engine.sim.render import render_hand
from engine.sim.sensors import SENSOR_NAMES, apply_sensor, range_warning, sensor_range_mm

SENSORS = [s for s in SENSOR_NAMES if s != "none"]
# A sensor model drops edge, shadow and grazing pixels by design: RealSense erodes every edge by
# 0.5-2 px, 35 % of the thin side view flat_side at 700 mm (median over presets: 19 %). Losing
# the hand to the range limit loses far more: at the old 450 mm, ToF kept 0 % of most presets.
MIN_KEPT_SHARE = 0.6


def test_there_are_24_presets():
    assert len(preset_names()) == 24


@pytest.mark.parametrize("name", preset_names())
def test_every_sensor_sees_the_whole_preset(name):
    record = load_preset(name)
    clean = render_hand(record.joints, DEFAULT_CAMERA, record.hand.shape.thickness).depth
    hand = clean > 0
    for sensor in SENSORS:
        near, far = sensor_range_mm(sensor)
        assert near < clean[hand].min() and clean[hand].max() < far, sensor
        assert range_warning(clean, sensor) is None
        kept = (apply_sensor(clean, DEFAULT_CAMERA, sensor, 0) > 0)[hand].mean()
        assert kept >= MIN_KEPT_SHARE, f"{sensor} kept {kept:.0%} of {name}"
