"""Side-by-side pictures of stylisation (content | styled | style), for looking only.

Each panel is colour-mapped on its own range (engine.sim.preview.colourise_depth) and scaled
to one height with nearest-neighbour sampling, so a 1 px hole stays a hole in the picture.
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from engine.sim.preview import colourise_depth

GAP_PX = 4  # white gap between panels


def side_by_side(panels: Sequence[np.ndarray], height: int) -> np.ndarray:
    """BGR image of depth panels (float mm, 0 = no data) in a row, each `height` px tall."""
    if not panels:
        raise ValueError("side_by_side needs at least one panel")
    row: list[np.ndarray] = []
    for depth in panels:
        h, w = depth.shape
        width = max(1, round(w * height / h))
        image = cv2.resize(colourise_depth(depth), (width, height), interpolation=cv2.INTER_NEAREST)
        if row:
            row.append(np.full((height, GAP_PX, 3), 255, np.uint8))
        row.append(image)
    return np.hstack(row)
