"""FpsMeter: frames per second over the last second, fed frame times directly (no clock)."""
from __future__ import annotations

import pytest

from app.fps_meter import FpsMeter


def test_the_rate_counts_only_the_last_second():
    meter = FpsMeter()
    for i in range(300):  # ten seconds at 30 fps
        meter.tick(i / 30.0)
    assert meter.rate(299 / 30.0) == pytest.approx(30.0)
    for i in range(5):  # a pause, then a slow second: 5 frames
        meter.tick(11.0 + 0.2 * i)
    assert meter.rate(11.9) == pytest.approx(5.0)  # not (300 + 5) / 11.9 since start


def test_the_rate_falls_to_zero_when_frames_stop():
    meter = FpsMeter()
    for i in range(60):
        meter.tick(i / 60.0)
    assert meter.rate(1.0 - 1e-9) == pytest.approx(60.0)
    assert meter.rate(1.5) == pytest.approx(29.0)  # frames 31..59: the rest are a second old
    assert meter.rate(3.0) == 0.0


def test_a_window_must_be_positive():
    with pytest.raises(ValueError, match="window_s"):
        FpsMeter(0.0)
