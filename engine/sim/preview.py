"""Human-viewable previews: colour-mapped depth beside the part labels, with the skeleton.

For looking only; exported depth stays metric (uint16 mm) and is never colour-mapped.
"""
from __future__ import annotations

import cv2
import numpy as np

from engine.hand.skeleton import BONES, NUM_JOINTS

# One colour per part label (BGR): background, palm, thumb, index, middle, ring, little, forearm.
PART_COLOURS_BGR = np.array([
    (0, 0, 0), (180, 180, 180), (60, 60, 230), (60, 200, 240), (80, 210, 80),
    (230, 160, 60), (200, 80, 200), (120, 120, 120)], np.uint8)


def colourise_depth(depth: np.ndarray) -> np.ndarray:
    """BGR image of depth: near = bright, stretched over the valid range; no data black."""
    valid = depth > 0
    out = np.zeros((*depth.shape, 3), np.uint8)
    if not valid.any():
        return out
    lo, hi = np.percentile(depth[valid], [1, 99])
    norm = np.clip((hi - depth) / max(hi - lo, 1.0), 0, 1)
    mapped = cv2.applyColorMap((norm * 255).astype(np.uint8), cv2.COLORMAP_TURBO)
    out[valid] = mapped[valid]
    return out


def depth_preview(depth: np.ndarray, labels: np.ndarray | None = None,
                  joints_2d: np.ndarray | None = None) -> np.ndarray:
    """Depth (with the skeleton drawn over it) beside the label map, as one BGR image."""
    left = colourise_depth(depth)
    if joints_2d is not None and len(joints_2d) == NUM_JOINTS and np.all(np.isfinite(joints_2d)):
        pts = np.rint(joints_2d).astype(int)
        for a, b in BONES:
            cv2.line(left, tuple(pts[a]), tuple(pts[b]), (255, 255, 255), 1, cv2.LINE_AA)
        for p in pts:
            cv2.circle(left, tuple(p), 2, (255, 255, 255), -1, cv2.LINE_AA)
    if labels is None:
        return left
    return np.hstack([left, PART_COLOURS_BGR[np.clip(labels, 0, len(PART_COLOURS_BGR) - 1)]])
