"""evaluate's 95 % bootstrap intervals: they hold the point estimate, pool pixel-weighted
metrics as the point estimate does, and are reproducible."""
from __future__ import annotations

import numpy as np

from engine.eval.evaluate import bootstrap_ci95, pooled_ratio


def test_intervals_contain_the_estimate_and_repeat():
    rng = np.random.default_rng(0)
    iou = rng.uniform(0.8, 1.0, 200)
    errors = np.stack([rng.uniform(0, 1000, 200), rng.integers(100, 2000, 200)], axis=1).astype(float)
    fingers = rng.uniform(0.5, 1.0, (200, 5))
    fingers[::7, 2] = np.nan  # a finger not visible in some images
    ci = bootstrap_ci95({"iou": iou, "mae": errors, "fingers": fingers})
    assert ci["iou"][0] < iou.mean() < ci["iou"][1]
    assert ci["mae"][0] < pooled_ratio(errors) < ci["mae"][1]
    point = np.mean(np.nanmean(fingers, axis=0))
    assert ci["fingers"][0] < point < ci["fingers"][1]
    assert ci == bootstrap_ci95({"iou": iou, "mae": errors, "fingers": fingers})


def test_constant_values_give_a_point_interval_and_too_few_give_none():
    ci = bootstrap_ci95({"iou": np.full(10, 0.9)})
    assert np.allclose(ci["iou"], [0.9, 0.9])
    assert bootstrap_ci95({"iou": np.array([0.5])}) == {"iou": None}
