"""Part-label cross-entropy of G's depth head (issue 15, `train gan --part-weight`).

Why: per-finger IoU labels each generated hand pixel with the part of the pose's nearest capsule,
measured on the back-projected depth (engine.sample_labels, engine.eval.evaluate), so a ring
finger drawn a few millimetres too deep is labelled palm or little finger. The depth L1 pays for
those millimetres like any others, while near the border between two parts' regions they decide
the label. This term scores the label itself: each true hand pixel's depth-head point gets a soft
assignment over parts, softmax(-gap / tau), gap = the distance to the part's nearest capsule
surface, and pays its cross-entropy against the part the target's own point is nearest (the label
the metric's reference has, up to the render's rounding). The gradient is ~0 where a label is
safe and largest where a small depth error would flip it.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from engine.data.crop import CUBE_MM
from engine.models.pose_encoding import unproject_image
from engine.sample_labels import capsules
from engine.separation_weights import true_silhouette

HALF_CUBE_MM = CUBE_MM / 2.0  # one crop unit
TAU_MM = 2.0  # a label flips over a few mm of depth: the softmax's width
_EPS = 1e-12  # under the square root, so a point on a capsule's axis has a finite gradient


def _batch_capsules(y: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """(start (B, N, 3), end (B, N, 3), radius at start (B, N), at end (B, N)) in cube half-sides,
    and the capsules' part labels (N,), of poses y (B, 21, 3) (the simulator's radii, thickness 1)."""
    rows = [capsules(pose * HALF_CUBE_MM, 1.0) for pose in y.detach().cpu().double().numpy()]
    stacked = [torch.from_numpy(np.stack([r[k] for r in rows]) / HALF_CUBE_MM).to(y) for k in range(4)]
    return (*stacked, torch.from_numpy(rows[0][4].astype(np.int64)).to(y.device))


def _part_gaps(points: torch.Tensor, a: torch.Tensor, b: torch.Tensor, ra: torch.Tensor, rb: torch.Tensor,
               capsule_parts: torch.Tensor, parts: torch.Tensor) -> torch.Tensor:
    """(M, K) distance of points (M, 3) to each part's nearest capsule surface; the capsules
    (M, N, ...) are each point's own pose's, capsule_parts (N,) their labels, parts (K,) the labels
    in column order."""
    d = b - a
    q = points[:, None, :] - a
    t = ((q * d).sum(-1) / (d * d).sum(-1).clamp_min(_EPS)).clamp(0.0, 1.0)
    r = q - t[..., None] * d
    gap = (r * r).sum(-1).clamp_min(_EPS).sqrt() - (ra + t * (rb - ra))
    return torch.stack([gap[:, capsule_parts == p].amin(1) for p in parts.tolist()], dim=1)


def part_label_ce(depth: torch.Tensor, target: torch.Tensor, y: torch.Tensor, view: torch.Tensor,
                  tau_mm: float = TAU_MM) -> torch.Tensor:
    """Mean over the target's hand pixels of the cross-entropy of softmax(-gap(depth) / tau) against
    the part nearest the target's point; depth, target (B, 1, H, W) crop units, y (B, 21, 3), view
    (B, 5). Crops whose pose lacks a joint are skipped; 0 when no pixel is left."""
    hand = true_silhouette(target)[:, 0] > 0
    hand &= torch.isfinite(y).flatten(1).all(1)[:, None, None]
    if not bool(hand.any()):
        return depth.sum() * 0.0
    which = hand.nonzero()[:, 0]
    a, b, ra, rb, capsule_parts = _batch_capsules(torch.nan_to_num(y))
    parts = torch.unique(capsule_parts)
    a, b, ra, rb = a[which], b[which], ra[which], rb[which]
    with torch.no_grad():
        true_points = unproject_image(target.float(), view.float())[hand]
        label = _part_gaps(true_points, a, b, ra, rb, capsule_parts, parts).argmin(1)
    points = unproject_image(depth.float(), view.float())[hand]
    gaps = _part_gaps(points, a, b, ra, rb, capsule_parts, parts)
    return F.cross_entropy(-gaps * (HALF_CUBE_MM / tau_mm), label)
