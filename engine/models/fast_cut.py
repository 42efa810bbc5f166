"""SkeletonUNet.cut_silhouette in numpy + OpenCV, for inference on the CPU.

The cut's window minima are two 1D max-pools per window in torch, which cost about 0.3 ms per
128x128 crop each on one CPU thread (max_pool2d keeps its argmax indices), four of them per
crop: as much as a tenth of the int8 generator. cv2.erode with a rectangular kernel is the same
minimum (borders ignored, as the pools' -inf padding ignores them) at ~10 us. Every other step
is the same float32 arithmetic in the same order, so the result is the torch cut's bit for bit
(a test holds them equal); training and the GPU keep the torch cut.
"""
from __future__ import annotations

import cv2
import numpy as np

from engine.data.crop import BACKGROUND


def window_minimum(image: np.ndarray, window: int) -> np.ndarray:
    """Minimum of a 2D float32 image over a window x window square around each pixel (odd
    window), the border's missing pixels ignored: generator.local_minimum for one image."""
    return cv2.erode(image, np.ones((window, window), np.uint8), borderType=cv2.BORDER_CONSTANT,
                     borderValue=float("inf"))


def cut_silhouette_numpy(x: np.ndarray, edge_window: int, edge_fraction: float, hand_max: float,
                         depth_window: int = 1, depth_step: float = 0.0) -> np.ndarray:
    """The eval-mode cut of crops x (B, H, W) float32 with a SkeletonUNet's cut parameters
    (its `config`); see SkeletonUNet.cut_silhouette for what each does."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.empty_like(x)
    for i, img in enumerate(x):
        local = window_minimum(img, edge_window)
        keep = (img < local + np.float32(edge_fraction) * (np.float32(BACKGROUND) - local)) & (local < np.float32(hand_max))
        depth = img
        if depth_window > 1:
            near = window_minimum(img, depth_window)
            depth = np.where(img - near > np.float32(depth_step), near, img)
        out[i] = np.where(keep, depth, np.float32(BACKGROUND))
    return out
