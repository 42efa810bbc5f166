"""The hand of any depth image as a 128x128 style crop, and its look statistics.

Why a crop of its own: a style image has no known camera (a user's PNG carries no intrinsics),
so the crop convention's metric cube (engine.data.crop) cannot be placed. Instead the hand's
silhouette (stats.reference_mask) is framed so that its longer side fills HAND_FILL of the crop,
the share an open hand takes of the crop convention's 250 mm cube, and the depth is normalised
as the crop convention does (step 5: (z - z_c) / 125 mm, no data and background +1), so the
style encoder sees a style image at the scale the stage works at. Resampling is nearest
neighbour, as in the crop convention: a blend would invent depths between surfaces.

The statistics of a style (hole ratios, hf_energy) are measured on this crop, at the stage's
resolution, so that they compare with what the stage writes into a 128x128 content crop.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from engine.data.crop import BACKGROUND, CROP_SIZE, CUBE_MM
from engine.style.stats import StyleStats, edge_band, hf_energy, hole_ratio, reference_mask, style_stats

HALF_CUBE_MM = CUBE_MM / 2.0
# An open hand is ~180 mm long; in the 250 mm cube that is 0.72 of the crop's side.
HAND_FILL = 0.72


@dataclass(frozen=True, eq=False)
class StyleCrop:
    """A style image's hand at the stage's scale."""

    norm: np.ndarray  # (128, 128) float32 in [-1, 1], background +1 (crop convention step 5)
    depth_mm: np.ndarray  # (128, 128) float32 mm, 0 = no data
    mask: np.ndarray  # (128, 128) bool: the hand, holes closed (what the statistics refer to)
    stats: StyleStats

    @property
    def interior_hole_ratio(self) -> float:
        """No-data share of the hand away from its outline (the edge band excluded)."""
        interior = self.mask & ~edge_band(self.mask)
        return hole_ratio(self.depth_mm, interior) if interior.any() else self.stats.hole_ratio

    def features(self) -> np.ndarray:
        """The explicit statistics the style encoder is given beside the crop (STAT_FEATURES).
        Its hf_energy counts depth steps too: the shipped stage was trained on that input, and
        an input feature only has to describe the style consistently, not isolate its noise."""
        stats = replace(self.stats, hf_energy=hf_energy(self.depth_mm, self.mask, step_mm=None))
        return stat_features(stats, self.interior_hole_ratio)


STAT_FEATURES = 4  # edge hole ratio, interior hole ratio, log hf_energy, hole ratio
HF_LOG_FLOOR_MM2 = 0.01  # a flat, noiseless surface has hf_energy 0; the log needs a floor


def stat_features(stats: StyleStats, interior_hole_ratio: float) -> np.ndarray:
    """Statistics scaled to order one, for the encoder."""
    return np.array([stats.edge_hole_ratio, interior_hole_ratio,
                     np.log(stats.hf_energy + HF_LOG_FLOOR_MM2) / 4.0, stats.hole_ratio], np.float32)


def normalise_mm(depth_mm: np.ndarray, centre_mm: float) -> np.ndarray:
    """Crop-convention depth of a mm image: (z - z_c) / 125 mm clipped, no data / behind +1."""
    d = np.clip((depth_mm - centre_mm) / HALF_CUBE_MM, -1.0, 1.0)
    background = (depth_mm <= 0) | (depth_mm > centre_mm + HALF_CUBE_MM)
    return np.where(background, BACKGROUND, d).astype(np.float32)


def style_crop(depth_mm: np.ndarray, offset_px: tuple[float, float] = (0.0, 0.0),
               zoom: float = 1.0) -> StyleCrop:
    """The hand of a depth image (float mm, 0 = no data) framed as a style crop.

    `offset_px` (rows, cols, in crop pixels) and `zoom` move the frame: the evaluator's source
    crops of one style image are such jittered crops. ValueError when the image holds no hand.
    """
    depth = np.asarray(depth_mm, dtype=np.float32)
    mask = reference_mask(depth)
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    side = max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) / (HAND_FILL * zoom)
    step = side / CROP_SIZE
    centre_r = (rows[0] + rows[-1]) / 2.0 + offset_px[0] * step
    centre_c = (cols[0] + cols[-1]) / 2.0 + offset_px[1] * step
    j = np.arange(CROP_SIZE, dtype=np.float64) + 0.5
    r = np.floor(centre_r + 0.5 - side / 2.0 + j * step).astype(np.int64)
    c = np.floor(centre_c + 0.5 - side / 2.0 + j * step).astype(np.int64)
    h, w = depth.shape
    inside = ((r >= 0) & (r < h))[:, None] & ((c >= 0) & (c < w))[None, :]
    rr, cc = np.clip(r, 0, h - 1)[:, None], np.clip(c, 0, w - 1)[None, :]
    crop_mm = np.where(inside, depth[rr, cc], 0.0).astype(np.float32)
    crop_mask = inside & mask[rr, cc]
    if not crop_mask.any():
        raise ValueError("the hand falls outside the style crop")
    centre_mm = float(np.median(depth[mask & (depth > 0)]))
    # Only the hand is the style: other objects (an arm, a table) become background.
    crop_mm = np.where(crop_mask, crop_mm, 0.0).astype(np.float32)
    return StyleCrop(normalise_mm(crop_mm, centre_mm), crop_mm, crop_mask,
                     style_stats(crop_mm, crop_mask))
