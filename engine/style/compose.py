"""From the style stage's per-pixel maps to a styled depth: seeded holes and high-passed noise.

Why this is not in the network: depth must stay metric and the hand must keep its shape, so
the stage predicts only *where* and *how much* (hole log-odds, noise std in mm) and this module
draws them from a seeded generator. The noise is high-passed (its local mean over the hand, the
window of stats.geometry_shift_mm, is removed) and clipped to RESIDUAL_MAX_MM, so it cannot
move a surface; holes only remove pixels. The same seed gives the same frame, which the app
relies on while a pose is dragged. Numpy and cv2 only.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.style.random_sensor import DROP_CORRELATION_PX, blob_uniform
from engine.style.stats import GEOMETRY_KERNEL_PX

RESIDUAL_MAX_MM = 15.0  # a bound on any pixel's change: 3 sigma of the stage's largest noise
NOISE_CLIP_SIGMA = 3.0  # Gaussian tails beyond 3 sigma would be flying pixels, not noise


@dataclass(frozen=True)
class Calibration:
    """A style's level set at prepare (engine.style.learned.calibrate): the noise gain."""

    noise_gain: float = 1.0


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function without overflow warnings (log-odds are clipped to +-30)."""
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))


def _hand_mean(r: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """stats.masked_lowpass(r, valid, GEOMETRY_KERNEL_PX) at the valid pixels, bit for bit, in
    fewer passes: r is 0 off the hand already (so r * valid is r), and every valid pixel has
    itself in its window (so no NaN is needed where no weight is in reach, and there is none)."""
    k = (GEOMETRY_KERNEL_PX, GEOMETRY_KERNEL_PX)
    num = cv2.boxFilter(r.astype(np.float64), -1, k, normalize=False, borderType=cv2.BORDER_CONSTANT)
    den = cv2.boxFilter(valid.astype(np.float64), -1, k, normalize=False, borderType=cv2.BORDER_CONSTANT)
    return num / np.maximum(den, 1.0)


def compose(depth: np.ndarray, logit: np.ndarray, noise_mm: np.ndarray, cal: Calibration,
            seed: int | np.random.Generator | None) -> np.ndarray:
    """Styled float32 mm of `depth` (float32 mm, 0 = no data) given the stage's maps there."""
    rng = np.random.default_rng(seed)
    valid = depth > 0
    n = np.clip(rng.standard_normal(depth.shape, dtype=np.float32), -NOISE_CLIP_SIGMA, NOISE_CLIP_SIGMA)
    r = np.where(valid, np.float32(cal.noise_gain) * noise_mm * n, 0.0)
    r = np.clip(r - _hand_mean(r, valid), -RESIDUAL_MAX_MM, RESIDUAL_MAX_MM)
    u = blob_uniform(rng, depth.shape, DROP_CORRELATION_PX)
    holes = valid & (u < sigmoid(logit))
    return np.where(valid & ~holes, depth + r, 0.0).astype(np.float32)
