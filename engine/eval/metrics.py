"""Image and pose metrics for generated depth crops; pure functions on arrays.

Every image metric takes crops in the crop convention (engine.data.crop): (N, 128, 128) or
(N, 1, 128, 128) values in [-1, 1], background +1, depth in cube half-sides. A pixel shows the
hand when its value is below PASTE_BACKGROUND_MIN, the threshold `paste_crop` uses, so "hand"
here is exactly what would be pasted back into a frame as depth. Per-image values are returned
as arrays (NaN where a metric is undefined for that image); callers average with `nanmean`.
Depth error is pooled over pixels instead (`fg_mae_mm`; `fg_abs_error_mm` and
`full_abs_error_mm` give the sums).
"""
from __future__ import annotations

import numpy as np

from engine.data.crop import BACKGROUND, CUBE_MM, PASTE_BACKGROUND_MIN

HALF_CUBE_MM = CUBE_MM / 2.0  # one unit of crop depth or pose y, in mm
DEPTH_RANGE = 2.0  # the crop's depth range in crop units ([-1, 1]): CUBE_MM
# Boundary F-score tolerance: the 2 px, about 4 mm at the crop's scale (250 mm / 128 px).
BOUNDARY_TOLERANCE_PX = 2


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


def full_abs_error_mm(output: np.ndarray, reference: np.ndarray,
                      half_cube_mm: float = HALF_CUBE_MM) -> tuple[np.ndarray, np.ndarray]:
    """Per image: (sum of |depth difference| in mm, number of pixels) over every pixel where
    either image shows hand.

    Why: fg_abs_error_mm counts only pixels both call hand, so an output that drops its
    uncertain pixels scores better. Here a pixel that is hand in one image and background in the
    other counts at the distance from the hand's depth to the background (+1), capped at the
    crop's depth range (2 units, CUBE_MM): a missed or invented pixel costs what it is off by.
    """
    a, b = _pair(output, reference)
    ma, mb = hand_mask(a), hand_mask(b)
    da, db = np.where(ma, a, BACKGROUND), np.where(mb, b, BACKGROUND)
    either = ma | mb
    err = np.minimum(np.abs(da - db), DEPTH_RANGE)
    return np.where(either, err, 0.0).sum(axis=(1, 2)) * half_cube_mm, either.sum(axis=(1, 2))


def boundary(masks: np.ndarray) -> np.ndarray:
    """(N, H, W) bool: mask pixels with a 4-neighbour outside the mask. The crop's own border
    is not an outline (a forearm leaving the crop), so the image is extended by replication."""
    m = np.asarray(masks, dtype=bool)
    p = np.pad(m, ((0, 0), (1, 1), (1, 1)), mode="edge")
    inner = p[:, :-2, 1:-1] & p[:, 2:, 1:-1] & p[:, 1:-1, :-2] & p[:, 1:-1, 2:]
    return m & ~inner


def _within(points: np.ndarray, tolerance_px: int) -> np.ndarray:
    """(N, H, W) bool: pixels within `tolerance_px` (Euclidean) of a True pixel of `points`."""
    r = int(tolerance_px)
    out = np.zeros_like(points)
    h, w = points.shape[1:]
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dx * dx + dy * dy > r * r:
                continue
            out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] |= \
                points[:, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def boundary_f_score(output: np.ndarray, reference: np.ndarray,
                     tolerance_px: int = BOUNDARY_TOLERANCE_PX) -> np.ndarray:
    """(N,) F-score of the silhouettes' outlines (Perazzi et al., DAVIS, CVPR 2016): precision =
    share of the output's outline within `tolerance_px` of the reference's, recall the converse.

    IoU hardly moves when a thin finger's outline is wrong; this does. NaN where neither image
    has an outline, 0 where only one has.
    """
    a, b = _pair(output, reference)
    ba, bb = boundary(hand_mask(a)), boundary(hand_mask(b))
    na, nb = ba.sum(axis=(1, 2)), bb.sum(axis=(1, 2))
    hit_a = (ba & _within(bb, tolerance_px)).sum(axis=(1, 2))
    hit_b = (bb & _within(ba, tolerance_px)).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(na > 0, hit_a / np.maximum(na, 1), 0.0)
        recall = np.where(nb > 0, hit_b / np.maximum(nb, 1), 0.0)
        f = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
    return np.where((na > 0) | (nb > 0), f, np.nan)


def part_iou(labels: np.ndarray, reference_labels: np.ndarray, parts: tuple[int, ...]) -> np.ndarray:
    """(N, len(parts)) IoU of each part's pixels (label maps (N, H, W)); NaN where neither has it.

    With finger parts it shows whether fingers are drawn apart: a fist whose four fingers merge
    into one blob keeps a good silhouette IoU but not these.
    """
    a = np.asarray(labels)
    b = np.asarray(reference_labels)
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(f"label maps must both be (N, H, W), got {a.shape} and {b.shape}")
    out = np.empty((len(a), len(parts)))
    for k, part in enumerate(parts):
        pa, pb = a == part, b == part
        inter = (pa & pb).sum(axis=(1, 2)).astype(np.float64)
        union = (pa | pb).sum(axis=(1, 2)).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, k] = np.where(union > 0, inter / np.maximum(union, 1), np.nan)
    return out


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
    draw would be the same and its spread 0, which reads as "exact" while it is not: the mean is
    then the whole sets' MMD² and the std the spread over draws of half of each set (NaN when
    half a set is under 2 samples, too few for MMD).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    size = min(subset_size, len(x), len(y))
    whole = size == len(x) == len(y)
    if whole:
        size = size // 2
    rng = np.random.default_rng(seed)
    values = [mmd2_unbiased(x[rng.choice(len(x), size, replace=False)],
                            y[rng.choice(len(y), size, replace=False)]) for _ in range(subsets)] if size >= 2 else []
    spread = float(np.std(values)) if values else float("nan")
    if whole:
        return mmd2_unbiased(x, y), spread
    return (float(np.mean(values)) if values else float("nan")), spread


def nanmean(values: np.ndarray) -> float:
    """Mean of the defined (finite) values; NaN when there are none."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else float("nan")
