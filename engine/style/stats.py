"""The style statistics issue 13's evidence is judged on, measured on a depth image and its hand.

Every function takes a depth (float mm, 0 = no data) and a boolean hand mask of the same shape,
the region the statistic refers to. For a stylised image the mask is the *content's* hand, so
a hole the style punched counts as a hole; for a real style image it is `reference_mask`.

  hole_ratio         no-data share inside the hand;
  edge_hole_ratio    no-data share in a band of EDGE_BAND_PX along the inside of the outline
                     (structured light shadows and coded light erosion live there);
  hf_energy          mean squared difference, in mm^2, between the depth and its local low-pass
                     over measured pixels of the hand's interior that lie on one surface (no
                     depth step over STEP_MM inside the window): sensor noise and quantisation
                     steps, not the hand's shape. Without that last condition a simulated hand
                     scored 27 mm^2 clean, from its fingers lying over the palm, while a real
                     flat palm scored ~1 mm^2, and no style could move the one towards the other;
  geometry_shift_mm  mean |low-pass(styled) - low-pass(content)| over the hand where both have
                     data: whether the style moved or reshaped the hand (issue: at most 3 mm).
                     A styled pixel more than OUTLIER_MM off the content is an artefact at a
                     point (a time-of-flight "flying" pixel halfway to the wall), not the
                     surface moving: it is left out like a hole, and its share is reported
                     apart (`outlier_ratio`), so one such pixel cannot pass for a moved hand.
Low-passes are normalised convolutions (Knutsson & Westin, CVPR 1993): box sums of depth x
weight over box sums of weight, with weight = measured pixels of the hand, so a hole or the
background never drags the surface towards 0 mm.
Numpy and cv2 only: the evaluator, the stylize command and tests share these definitions.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from engine.sim.sensor_match import hand_mask

EDGE_BAND_PX = 3  # a sensor's edge artefacts reach 1-4 px into the silhouette at hand range
# hf_energy's window: sensor noise is decorrelated over 1-2 px, while a finger is 15-25 px wide
# at 450-600 mm (fx ~ 590 px), so a 5 px box keeps the finger's curvature in the low-pass.
HF_KERNEL_PX = 5
# geometry_shift's window: wide enough to average out noise and the holes a style adds
# (a few px), narrow enough to see a finger moved by a few mm.
GEOMETRY_KERNEL_PX = 9
# A depth range over this inside the hf window is a surface ending over another (a finger over the
# palm), not noise: at hand range the sensors' noise and disparity steps stay within a few mm.
STEP_MM = 20.0
# A styled pixel further than this from the content is an outlier, not geometry: every sensor's
# noise, quantisation and lateral jitter stay well within it at hand range (Kinect v1's disparity
# step is ~3 mm at 1 m; a finger's edge jittered onto the palm is ~20-40 mm), while time-of-flight
# pixels mixed with the room behind reach hundreds of mm.
OUTLIER_MM = 50.0


@dataclass(frozen=True)
class StyleStats:
    """The three look statistics of one image, as the evaluator's JSON reports them."""

    hole_ratio: float
    edge_hole_ratio: float
    hf_energy: float

    def to_dict(self) -> dict[str, float]:
        return {k: round(v, 6) for k, v in asdict(self).items()}


def _checked(depth: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = np.asarray(depth, dtype=np.float32)
    m = np.asarray(mask, dtype=bool)
    if d.ndim != 2 or d.shape != m.shape:
        raise ValueError(f"depth {d.shape} and hand mask {m.shape} must be 2-D images of one shape")
    if not m.any():
        raise ValueError("the hand mask is empty")
    return d, m


def edge_band(mask: np.ndarray, band_px: int = EDGE_BAND_PX) -> np.ndarray:
    """The mask's pixels within `band_px` (chessboard distance) of its outline, inside it."""
    m = np.asarray(mask, dtype=bool)
    kernel = np.ones((2 * band_px + 1,) * 2, np.uint8)
    # Pad with "outside" so a mask touching the image border has an outline there too.
    padded = np.pad(m.astype(np.uint8), band_px)
    interior = cv2.erode(padded, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return m & ~interior[band_px:-band_px, band_px:-band_px].astype(bool)


def masked_lowpass(depth: np.ndarray, weight: np.ndarray, kernel_px: int) -> np.ndarray:
    """Normalised box convolution of `depth` with 0/1 `weight`; NaN where no weight is in reach."""
    d = np.asarray(depth, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64)
    k = (kernel_px, kernel_px)
    num = cv2.boxFilter(d * w, -1, k, normalize=False, borderType=cv2.BORDER_CONSTANT)
    den = cv2.boxFilter(w, -1, k, normalize=False, borderType=cv2.BORDER_CONSTANT)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0.5, num / np.maximum(den, 1e-12), np.nan)


def hole_ratio(depth: np.ndarray, mask: np.ndarray) -> float:
    """Share of the hand's pixels without data."""
    d, m = _checked(depth, mask)
    return float(np.mean(d[m] <= 0))


def edge_hole_ratio(depth: np.ndarray, mask: np.ndarray, band_px: int = EDGE_BAND_PX) -> float:
    """Share of no-data pixels in the band along the inside of the hand's outline."""
    d, m = _checked(depth, mask)
    band = edge_band(m, band_px)
    return float(np.mean(d[band] <= 0)) if band.any() else 0.0


def hf_energy(depth: np.ndarray, mask: np.ndarray, kernel_px: int = HF_KERNEL_PX,
              step_mm: float | None = STEP_MM) -> float:
    """Mean squared (depth - local low-pass) in mm^2 over measured pixels of the hand's
    interior (the hand eroded by the window's radius, so the low-pass never reaches past the
    outline, where the surface ends and a one-sided average would be biased by the slope) whose
    window spans no depth step over `step_mm` (None: depth steps count too, the definition the
    shipped style stage's encoder takes as an input feature)."""
    d, m = _checked(depth, mask)
    valid = m & (d > 0)
    radius = kernel_px // 2
    interior = m & ~edge_band(m, radius) if radius else m
    where = interior & valid
    if step_mm is not None:
        where &= local_range(d, valid, kernel_px) <= step_mm
    if not where.any():
        return 0.0
    low = masked_lowpass(d, valid, kernel_px)
    return float(np.mean((d[where] - low[where]) ** 2))


def local_range(depth: np.ndarray, valid: np.ndarray, kernel_px: int) -> np.ndarray:
    """Max minus min of the measured depths in each pixel's kernel_px window (0 where none)."""
    kernel = np.ones((kernel_px, kernel_px), np.uint8)
    d = np.asarray(depth, dtype=np.float32)
    high = cv2.dilate(np.where(valid, d, -np.inf).astype(np.float32), kernel)
    low = cv2.erode(np.where(valid, d, np.inf).astype(np.float32), kernel)
    # Windows with no measured pixel hold +-inf, or OpenCV's +-FLT_MAX border where they touch the
    # image's edge; only measured pixels' windows (which hold the pixel itself) are read.
    with np.errstate(invalid="ignore", over="ignore"):
        return np.where(np.isfinite(high) & np.isfinite(low), high - low, 0.0)


def geometry_shift_mm(styled: np.ndarray, content: np.ndarray, mask: np.ndarray,
                      kernel_px: int = GEOMETRY_KERNEL_PX) -> float:
    """Mean |low-pass(styled) - low-pass(content)| in mm over the hand where both have data;
    each low-pass ignores its own image's holes, and the styled one its outliers (module
    docstring). 0 when nothing overlaps."""
    s, m = _checked(styled, mask)
    c, _ = _checked(content, mask)
    if s.shape != c.shape:
        raise ValueError(f"styled {s.shape} and content {c.shape} differ in shape")
    measured = m & (s > 0) & ~_outliers(s, c)
    both = measured & (c > 0)
    if not both.any():
        return 0.0
    low_s = masked_lowpass(s, measured, kernel_px)
    low_c = masked_lowpass(c, m & (c > 0), kernel_px)
    return float(np.mean(np.abs(low_s - low_c)[both]))


def outlier_ratio(styled: np.ndarray, content: np.ndarray, mask: np.ndarray) -> float:
    """Share of the hand's pixels that the styled image puts more than OUTLIER_MM off the content."""
    s, m = _checked(styled, mask)
    c, _ = _checked(content, mask)
    return float(np.mean(_outliers(s, c)[m]))


def _outliers(styled: np.ndarray, content: np.ndarray) -> np.ndarray:
    return (styled > 0) & (content > 0) & (np.abs(styled - content) > OUTLIER_MM)


def style_stats(depth: np.ndarray, mask: np.ndarray) -> StyleStats:
    """hole_ratio, edge_hole_ratio and hf_energy of one image over one hand mask."""
    return StyleStats(hole_ratio(depth, mask), edge_hole_ratio(depth, mask), hf_energy(depth, mask))


def reference_mask(depth: np.ndarray) -> np.ndarray:
    """The hand of a real style image: the largest blob within a depth window of the nearest
    surface, holes up to a few px closed (engine.sim.sensor_match.hand_mask, which the sensor
    matcher uses too); ValueError when the image holds no hand-sized object."""
    mask = hand_mask(np.asarray(depth, dtype=np.float32))
    if mask is None:
        raise ValueError("no hand found in the style image")
    return mask


def style_reference(depth: np.ndarray) -> StyleStats:
    """The statistics of a style's source image, measured on its own hand ("style_reference")."""
    return style_stats(depth, reference_mask(depth))
