"""Paired differences between two generators scored on the same poses (`evaluate --compare-to`).

Why paired: two models' 95 % intervals overlap long before the models are equal, and a small but
consistent loss (int8 rounding, a retrained checkpoint) hides inside them. Scored image by image
on the same poses, the difference of each metric gets its own bootstrap interval (the same image
draws for both models and every metric), which is what "at least as good as" has to be judged on.
"""
from __future__ import annotations

import numpy as np

from engine.eval.evaluate import BOOTSTRAP_DRAWS, _statistic

# Which way is better for each paired metric.
HIGHER_IS_BETTER = {"silhouette_iou": True, "boundary_f": True, "fg_mae_mm": False, "full_mae_mm": False,
                    "finger_iou_mean": True, "pose_error_mm": False}


def paired_differences(a: dict[str, np.ndarray], b: dict[str, np.ndarray], seed: int = 0,
                       draws: int = BOOTSTRAP_DRAWS) -> dict[str, dict]:
    """Per metric, a − b from per-image values of the same images (engine.eval.evaluate's rows):
    the point difference, its 95 % percentile-bootstrap interval, and a verdict for a ("better" or
    "worse" when the interval excludes zero, else "within noise")."""
    out: dict[str, dict] = {}
    for name, higher in HIGHER_IS_BETTER.items():
        va, vb = a.get(name), b.get(name)
        if va is None or vb is None:
            continue
        if len(va) != len(vb):
            raise ValueError(f"{name}: {len(va)} vs {len(vb)} images; a paired comparison needs the same poses")
        n = len(va)
        every = np.arange(n)[None]
        point = float((_statistic(va, every) - _statistic(vb, every))[0]) if n else float("nan")
        if n < 2:
            out[name] = {"difference": point, "ci95": None, "verdict": "within noise"}
            continue
        idx = np.random.default_rng([seed, 0xB007]).integers(0, n, size=(draws, n))
        diff = _statistic(va, idx) - _statistic(vb, idx)
        diff = diff[np.isfinite(diff)]
        lo, hi = (float(np.percentile(diff, 2.5)), float(np.percentile(diff, 97.5))) if len(diff) else (np.nan, np.nan)
        better, worse = (lo > 0, hi < 0) if higher else (hi < 0, lo > 0)
        out[name] = {"difference": point, "ci95": [lo, hi],
                     "verdict": "better" if better else "worse" if worse else "within noise"}
    return out
