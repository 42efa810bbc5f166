"""Per-pixel loss weights that make G pay for merging fingers (issue 15, `train gan --gap-weight`,
`--step-weight`).

Why: the head terms of engine.losses are per-pixel means, so the few background pixels in the
narrow gap between two fingers, and the few hand pixels where a finger lies over the palm (a depth
step), count like any pixel of open background or flat palm. Filling a gap or smoothing a step
costs G almost nothing, and that is how fingers merge. The U-Net paper (Ronneberger et al., MICCAI
2015) separated touching cells with a weight map that up-weights the background between them; these
maps do the same from the target crop alone, per batch, with max-pooling (no labels, no cv2):

- gap map: background pixels inside the morphological closing of the true silhouette, i.e. the
  gaps and notches narrower than the closing's square (GAP_CLOSING_PX), not the open background;
- step map: hand pixels within STEP_BAND_PX of a neighbour (4-connected, both hand) whose depth
  differs by more than STEP_MM: the outline of a finger over the palm or over another finger.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.data.crop import CUBE_MM, PASTE_BACKGROUND_MIN

GAP_CLOSING_PX = 7  # closes gaps up to 6 px (~12 mm at 128 px over the 250 mm cube): touching fingers
STEP_MM = 10.0  # a finger is ~15-20 mm thick, so its edge over the palm is a larger step than this
STEP_BAND_PX = 1  # pixels either side of a step that count (3x3 neighbourhood)


def true_silhouette(target: torch.Tensor) -> torch.Tensor:
    """The hand pixels of target crops, as float 0/1 (every metric's hand_mask; engine.losses'
    head terms use it too)."""
    return (target.float() < PASTE_BACKGROUND_MIN).float()


def _dilate(mask: torch.Tensor, size: int) -> torch.Tensor:
    return F.max_pool2d(mask, size, stride=1, padding=size // 2)


def _erode(mask: torch.Tensor, size: int) -> torch.Tensor:
    """Erosion with everything outside the crop counted as background, so the closing does not
    reach from the hand to the crop's edge (the forearm leaves the crop)."""
    p = size // 2
    outside = F.pad(1.0 - mask, (p, p, p, p), value=1.0)
    return 1.0 - F.max_pool2d(outside, size, stride=1)


def gap_map(target: torch.Tensor, size: int = GAP_CLOSING_PX) -> torch.Tensor:
    """(B, 1, H, W) 0/1: background pixels of `target` crops (B, 1, H, W) inside the closing of
    their silhouette with a `size` x `size` square (odd)."""
    hand = true_silhouette(target)
    closed = _erode(_dilate(hand, size), size)
    return closed * (1.0 - hand)


def step_map(target: torch.Tensor, step_mm: float = STEP_MM, band_px: int = STEP_BAND_PX) -> torch.Tensor:
    """(B, 1, H, W) 0/1: hand pixels of `target` within `band_px` of a depth step > `step_mm`
    between 4-neighbours that are both hand (crop units: 1 = half the cube)."""
    x = target.float()
    hand = true_silhouette(x)
    limit = step_mm / (CUBE_MM / 2.0)
    dy = ((x[..., 1:, :] - x[..., :-1, :]).abs() > limit).float() * hand[..., 1:, :] * hand[..., :-1, :]
    dx = ((x[..., :, 1:] - x[..., :, :-1]).abs() > limit).float() * hand[..., :, 1:] * hand[..., :, :-1]
    edge = torch.zeros_like(x)
    edge[..., 1:, :] = torch.maximum(edge[..., 1:, :], dy)
    edge[..., :-1, :] = torch.maximum(edge[..., :-1, :], dy)
    edge[..., :, 1:] = torch.maximum(edge[..., :, 1:], dx)
    edge[..., :, :-1] = torch.maximum(edge[..., :, :-1], dx)
    if band_px > 0:
        edge = _dilate(edge, 2 * band_px + 1)
    return edge * hand
