"""Image and pose metrics for generated depth crops; pure functions on arrays.

Every image metric takes crops in the crop convention (engine.data.crop): (N, 128, 128) or
(N, 1, 128, 128) values in [-1, 1], background +1, depth in cube half-sides. A pixel shows the
hand when its value is below PASTE_BACKGROUND_MIN, the threshold `paste_crop` uses, so "hand"
here is exactly what would be pasted back into a frame as depth. Per-image values are returned
as arrays (NaN where a metric is undefined for that image); callers average with `nanmean`.
Depth error is pooled over pixels instead (`fg_mae_mm`; `fg_abs_error_mm` gives the sums).
"""
from __future__ import annotations

import numpy as np

from engine.data.crop import CUBE_MM, PASTE_BACKGROUND_MIN

HALF_CUBE_MM = CUBE_MM / 2.0  # one unit of crop depth or pose y, in mm


def _images(x: np.ndarray) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 4 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise ValueError(f"expected crops (N, H, W) or (N, 1, H, W), got shape {np.shape(x)}")
    return a


def _pair(output: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = _images(output), _images(reference)
    if a.shape != b.shape:
        raise ValueError(f"output {a.shape} and reference {b.shape} differ in shape")
    return a, b


def hand_mask(crops: np.ndarray, background_min: float = PASTE_BACKGROUND_MIN) -> np.ndarray:
    """(N, H, W) bool: pixels that show the hand (value < background_min)."""
    return _images(crops) < background_min


def silhouette_iou(output: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(N,) intersection over union of the hand masks; NaN where neither image has hand."""
    a, b = _pair(output, reference)
    ma, mb = hand_mask(a), hand_mask(b)
    inter = (ma & mb).sum(axis=(1, 2)).astype(np.float64)
    union = (ma | mb).sum(axis=(1, 2)).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / np.maximum(union, 1), np.nan)


def fg_abs_error_mm(output: np.ndarray, reference: np.ndarray,
                    half_cube_mm: float = HALF_CUBE_MM) -> tuple[np.ndarray, np.ndarray]:
    """Per image: (sum of |depth difference| in mm, number of pixels) over pixels where both
    show hand. The sums let a caller pool the mean over any number of batches."""
    a, b = _pair(output, reference)
    both = hand_mask(a) & hand_mask(b)
    total = np.where(both, np.abs(a - b), 0.0).sum(axis=(1, 2)) * half_cube_mm
    return total, both.sum(axis=(1, 2))


def fg_mae_mm(output: np.ndarray, reference: np.ndarray, half_cube_mm: float = HALF_CUBE_MM) -> float:
    """Mean |depth difference| in mm over all pixels (of all images) where both show hand.

    Pooled over pixels, not averaged per image, so it is the error of an average hand pixel;
    NaN when no pixel is hand in both.
    """
    total, n = fg_abs_error_mm(output, reference, half_cube_mm)
    return float(total.sum() / n.sum()) if n.sum() > 0 else float("nan")


def pose_error_mm(predicted: np.ndarray, target: np.ndarray, half_cube_mm: float = HALF_CUBE_MM) -> np.ndarray:
    """(N,) mean Euclidean joint error in mm between poses y (N, J, 3).

    Joints whose target is NaN (a dataset lacks them) are skipped; an image without any
    labelled joint is NaN.
    """
    p = np.asarray(predicted, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    if p.ndim == 2:
        p, t = p[None], t[None]
    if p.shape != t.shape or p.shape[-1] != 3:
        raise ValueError(f"poses must both be (N, J, 3), got {p.shape} and {t.shape}")
    err = np.linalg.norm(p - t, axis=-1)  # NaN where the target joint is missing
    valid = np.isfinite(err)
    n = valid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.where(valid, err, 0.0).sum(axis=1) / np.maximum(n, 1) * half_cube_mm,
                        np.nan)


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (x·y / d + 1)^3, the kernel KID is defined with (Bińkowski et al., ICLR 2018)."""
    d = x.shape[1]
    return (x @ y.T / d + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased estimate of MMD² between samples x (m, d) and y (n, d), cubic polynomial kernel.

    Within-set sums leave out the diagonal (k(x_i, x_i)), which is what makes it unbiased; so
    it can be slightly negative when both sets come from one distribution.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise ValueError(f"MMD needs at least 2 samples per set, got {m} and {n}")
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"features must be (N, d) with one d, got {x.shape} and {y.shape}")
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    sxx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    syy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(sxx + syy - 2.0 * kxy.mean())


# Bińkowski et al. average MMD² over random subsets; their reference code (and torch-fidelity)
# uses 100 subsets of 1000 samples.
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000


def kid(x: np.ndarray, y: np.ndarray, subsets: int = KID_SUBSETS, subset_size: int = KID_SUBSET_SIZE,
        seed: int = 0) -> tuple[float, float]:
    """Kernel inception distance between feature sets x (m, d) and y (n, d): (mean, std).

    MMD² is averaged over `subsets` random draws of min(subset_size, m, n) samples from each
    set, without replacement within a draw. When that size is the whole of both sets every
    draw is the same, so it is computed once (std 0).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    size = min(subset_size, len(x), len(y))
    if size == len(x) == len(y):
        return mmd2_unbiased(x, y), 0.0
    rng = np.random.default_rng(seed)
    values = [mmd2_unbiased(x[rng.choice(len(x), size, replace=False)],
                            y[rng.choice(len(y), size, replace=False)]) for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values))


def nanmean(values: np.ndarray) -> float:
    """Mean of the defined (finite) values; NaN when there are none."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else float("nan")
