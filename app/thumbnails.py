"""Small grey pictures of hands for the preset library and the style bank (Qt-free).

Rendered straight into the 128x128 crop camera (engine.data.crop), so each costs a few
milliseconds and shows the hand the way the network's crop does. For looking only.
A style image's hand is cut out once (`hand_crop`) and serves both its thumbnail and the A/B
view's style panel.
"""
from __future__ import annotations

import numpy as np

from engine.camera import Camera
from engine.data.crop import crop_camera, make_transform
from engine.sim.render import render_hand
from engine.sim.sensor_match import HAND_DEPTH_RATIO, hand_box
from engine.sim.sensors import apply_sensor

# Grey levels of the nearest and farthest hand depths (near is bright, like a lit object) and of
# pixels without data.
NEAR_GREY, FAR_GREY, HOLE_GREY = 245, 70, 28
THUMB_PX = 96


def shade_depth(depth: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 grey picture of a depth image, stretched over its own valid range."""
    valid = depth > 0
    out = np.full((*depth.shape, 3), HOLE_GREY, np.uint8)
    if not valid.any():
        return out
    lo, hi = np.percentile(depth[valid], [1, 99])
    t = np.clip((depth - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    grey = (NEAR_GREY + t * (FAR_GREY - NEAR_GREY)).astype(np.uint8)
    out[valid] = grey[valid, None]
    return out


def pose_thumbnail(joints: np.ndarray, camera: Camera, thickness: float = 1.0,
                   sensor: str = "none", seed: int = 0) -> np.ndarray:
    """The hand's crop through a sensor model, as a grey picture."""
    cam = crop_camera(make_transform(joints, camera))
    depth = render_hand(joints, cam, thickness).depth
    return shade_depth(apply_sensor(depth, cam, sensor, seed))


HAND_MARGIN_PX = 4  # around the hand's box in a style image's crop


def hand_crop(depth: np.ndarray) -> np.ndarray:
    """A style image's hand (its nearest object) in a square around it, mm; the room behind it
    is cleared (it would flatten the hand to one shade); the whole image without a hand."""
    box = hand_box(depth)
    if box is None:
        return depth
    rows, cols = box
    side = max(rows.stop - rows.start, cols.stop - cols.start) + 2 * HAND_MARGIN_PX
    cy, cx = (rows.start + rows.stop) // 2, (cols.start + cols.stop) // 2
    h, w = depth.shape
    top, left = max(cy - side // 2, 0), max(cx - side // 2, 0)
    patch = depth[top:min(top + side, h), left:min(left + side, w)]
    near = patch[patch > 0].min() if (patch > 0).any() else 0.0
    return np.where(patch <= near * HAND_DEPTH_RATIO, patch, 0.0).astype(np.float32)


def image_thumbnail(depth: np.ndarray, size: int = THUMB_PX) -> np.ndarray:
    """A style image's hand crop as a grey picture about `size` px a side."""
    patch = hand_crop(depth)
    step = max(1, int(np.ceil(max(patch.shape) / size)))
    return shade_depth(patch[::step, ::step])
