"""The crop's square window cut out of a full frame, for the depth view's crop mode."""
from __future__ import annotations

import numpy as np


def crop_window(depth: np.ndarray, v0: int, u0: int, size: int) -> np.ndarray:
    """The size x size window of `depth` at (v0, u0), zero (no data) outside the frame."""
    out = np.zeros((size, size), depth.dtype)
    h, w = depth.shape
    top, left = max(v0, 0), max(u0, 0)
    bottom, right = min(v0 + size, h), min(u0 + size, w)
    if bottom > top and right > left:
        out[top - v0:bottom - v0, left - u0:right - u0] = depth[top:bottom, left:right]
    return out
