"""From the style stage's per-pixel maps to a styled depth: seeded holes, high-passed noise and,
for a style quieter than the clean render, edge-preserving smoothing.

Why this is not in the network: depth must stay metric and the hand must keep its shape, so
the stage predicts only *where* and *how much* (hole log-odds, noise std in mm) and this module
draws them from a seeded generator. The noise is high-passed (its local mean over the hand, the
window of stats.geometry_shift_mm, is removed) and clipped to RESIDUAL_MAX_MM, so it cannot
move a surface; holes only remove pixels. The same seed gives the same frame, which the app
relies on while a pose is dragged. Numpy and cv2 only.

A style's Calibration (set once at prepare, engine.style.learned.calibrate) shifts the hole
log-odds, separately in the band along the hand's outline and inside it, and sets the noise
gain or, where the style is quieter than the render itself, a smoothing amount: coded-light
firmware (the SR305) smooths depth, so a stage that could only add noise could never reach it.
The smoothing is a normalised box over the measured pixels, kept only where it moves a pixel by
at most SMOOTH_STEP_MM (a depth step or the outline keeps its value: edge-preserving); its
window is under stats.GEOMETRY_KERNEL_PX, so it evens out facets without moving the hand.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.sim.random_fields import LOGISTIC_PROBIT, blob_normal, standard_normal
from engine.style.random_sensor import DROP_CORRELATION_PX
from engine.style.stats import EDGE_BAND_PX, GEOMETRY_KERNEL_PX

RESIDUAL_MAX_MM = 15.0  # a bound on any pixel's change: 3 sigma of the stage's largest noise
NOISE_CLIP_SIGMA = 3.0  # Gaussian tails beyond 3 sigma would be flying pixels, not noise
# The SR305 samples' plane-fit residual is 0.06 mm over 5x5 px (engine.sim.sensors): its firmware
# smooths over at least that window.
SMOOTH_KERNEL_PX = 5
# A clean hand's 5x5 residual is under 1 mm at the median (its curvature and render facets);
# a pixel the box would move further sits at a depth step or on the outline, and keeps its depth.
SMOOTH_STEP_MM = 3.0
# Pixels kept around the hand's bounding box (hand_box): the holes' field's blur reach (3 sigma),
# so every measured pixel's value is blurred from drawn values, not from a reflected border;
# the outline band's erosion, which replicates the border, needs one.
HAND_MARGIN_PX = max(int(np.ceil(3 * DROP_CORRELATION_PX)), 1)


@dataclass(frozen=True)
class Calibration:
    """A style's levels set at prepare (engine.style.learned.calibrate): the noise gain, the
    smoothing amount in [0, 1] (0 = none; used only with no noise), and the log-odds added to the
    stage's hole map in the band of stats.EDGE_BAND_PX along the outline and inside it."""

    noise_gain: float = 1.0
    smoothing: float = 0.0
    edge_bias: float = 0.0
    interior_bias: float = 0.0


def _hand_mean(r: np.ndarray, valid: np.ndarray, kernel_px: int = GEOMETRY_KERNEL_PX) -> np.ndarray:
    """stats.masked_lowpass(r, valid, kernel_px) at the valid pixels, bit for bit, in fewer
    passes: r is 0 off the hand already (so r * valid is r), and every valid pixel has itself in
    its window (so no NaN is needed where no weight is in reach, and there is none). The sums
    are float64 read straight from r's float32 and valid's bytes (the same sums as of their
    float64 copies, without making them). A new float64 array."""
    k = (kernel_px, kernel_px)
    num = cv2.boxFilter(r, cv2.CV_64F, k, normalize=False, borderType=cv2.BORDER_CONSTANT)
    den = cv2.boxFilter(valid.view(np.uint8), cv2.CV_64F, k, normalize=False, borderType=cv2.BORDER_CONSTANT)
    return np.divide(num, np.maximum(den, 1.0, out=den), out=num)


def draw(depth: np.ndarray, seed: int | np.random.Generator | None,
         noise: bool = True) -> tuple[np.ndarray | None, np.ndarray]:
    """A seed's random fields over the hand's box of `depth` (the shape of
    depth[hand_box(depth > 0)]; empty when nothing is measured): a standard normal per measured
    pixel for the noise (0 elsewhere; None when not `noise`) and a blob-correlated normal field
    for the holes. The holes' field is drawn first, so a seed's holes do not depend on the noise
    level, and a style without noise skips the other draw. On the box, and the noise only where
    it is used, not over the whole crop window: the draws were most of a styled frame's cost,
    and each measured pixel's values have the same distribution (the box keeps the blur's reach
    of drawn values around every measured pixel, HAND_MARGIN_PX)."""
    valid = depth > 0
    box = hand_box(valid)
    valid = valid[box] if box is not None else np.zeros((0, 0), bool)
    rng = np.random.default_rng(seed)
    holes = blob_normal(rng, valid.shape, DROP_CORRELATION_PX) if valid.size else np.zeros((0, 0), np.float32)
    if not noise:
        return None, holes
    n = np.zeros(valid.shape, np.float32)
    n[valid] = standard_normal(rng, (np.count_nonzero(valid),))
    return n, holes


def compose(depth: np.ndarray, logit: np.ndarray, noise_mm: np.ndarray | None, cal: Calibration,
            seed: int | np.random.Generator | None,
            fields: tuple[np.ndarray | None, np.ndarray] | None = None) -> np.ndarray:
    """Styled float32 mm of `depth` (float32 mm, 0 = no data) given the stage's maps there
    (`noise_mm` may be None for a calibration without noise, which never reads it); `fields`
    are draw(depth, seed) when the caller has them already (a calibration search composes the
    same crops many times). The work is done on the hand's box (hand_box) only."""
    valid = depth > 0
    box = hand_box(valid)
    if box is None:
        return np.zeros(depth.shape, np.float32)
    n, z = fields if fields is not None else draw(depth, seed, noise=cal.noise_gain > 0.0)
    styled = _compose(depth[box], valid[box], logit[box], None if noise_mm is None else noise_mm[box], cal, n, z)
    if styled.shape == depth.shape:  # the box is the whole image (a caller cut it to the hand's box)
        return styled
    out = np.zeros(depth.shape, np.float32)
    out[box] = styled
    return out


def hand_box(valid: np.ndarray) -> tuple[slice, slice] | None:
    """(rows, columns) of the measured pixels' bounding box grown by HAND_MARGIN_PX, within the
    image; None when nothing is measured. compose's steps give the same bits there as on the
    whole image: it is 0 (no data) outside the hand; its sums (the noise's local mean, the
    smoothing) take 0 beyond the box's border as the unmeasured pixels there are; the outline
    band's erosion replicates the border, an unmeasured row or column where the box is grown,
    else the image's own. Why: the crop window around a hand is about twice the hand's area,
    and compose's filters were most of a styled frame's cost."""
    x, y, w, h = cv2.boundingRect(np.ascontiguousarray(valid).view(np.uint8))
    if w == 0:
        return None
    m = HAND_MARGIN_PX
    return slice(max(y - m, 0), min(y + h + m, valid.shape[0])), slice(max(x - m, 0), min(x + w + m, valid.shape[1]))


def _compose(depth: np.ndarray, valid: np.ndarray, logit: np.ndarray, noise_mm: np.ndarray | None,
             cal: Calibration, n: np.ndarray | None, z: np.ndarray) -> np.ndarray:
    if cal.smoothing > 0.0:
        depth = smooth(depth, valid, cal.smoothing)
    if cal.edge_bias or cal.interior_bias:
        logit = logit + np.where(outline_band(valid), np.float32(cal.edge_bias), np.float32(cal.interior_bias))
    # A pixel is a hole with probability sigmoid(logit): logistic(LOGISTIC_PROBIT z), about
    # uniform, below it; compared on the log-odds side, without two exponentials a pixel.
    kept = np.less(np.float32(LOGISTIC_PROBIT) * z, np.clip(logit, -30.0, 30.0))
    np.logical_not(kept, out=kept)
    kept &= valid
    if cal.noise_gain > 0.0:
        n = np.clip(n, -NOISE_CLIP_SIGMA, NOISE_CLIP_SIGMA)
        r = np.where(valid, np.float32(cal.noise_gain) * noise_mm * n, 0.0)
        r = np.clip(r - _hand_mean(r, valid), -RESIDUAL_MAX_MM, RESIDUAL_MAX_MM)
        return np.where(kept, depth + r, 0.0).astype(np.float32)
    return np.where(kept, depth, np.float32(0.0))  # a kept pixel's depth is > 0: depth + 0 is depth


def smooth(depth: np.ndarray, valid: np.ndarray, amount: float) -> np.ndarray:
    """`depth` (0 off the hand) moved `amount` of the way to its edge-preserving local mean
    (module docstring), in float64 as depth + amount * step, in place on one array."""
    step = _hand_mean(depth, valid, SMOOTH_KERNEL_PX)
    step -= depth
    moved = np.abs(step) <= SMOOTH_STEP_MM
    moved &= valid
    step *= float(np.float32(amount))
    step *= moved  # 0 (or -0, which adds the same) where the pixel keeps its depth
    step += depth
    return step.astype(np.float32)


def outline_band(valid: np.ndarray, band_px: int = EDGE_BAND_PX) -> np.ndarray:
    """Measured pixels within `band_px` of the no-data around them (stats.edge_band's band,
    except that the image's border is not an outline: a crop window cuts an arm, not the hand)."""
    kernel = np.ones((2 * band_px + 1,) * 2, np.uint8)
    inner = cv2.erode(valid.astype(np.uint8), kernel, borderType=cv2.BORDER_REPLICATE)
    return valid & ~inner.astype(bool)
