"""Conditioning images for image generators: a ControlNet depth map and an OpenPose hand skeleton.

ControlNet's depth models were trained on MiDaS maps: 8-bit, near = white, square. Ours are
cut around the hand by the crop convention's cube (engine.data.crop: 250 mm, centred on the
hand's joints) and resampled to `size` px, so the hand fills the image the same way in every
frame. The grey scale maps a fixed depth window to 255..0: by default the cube's own front and
back faces (centre z -/+ 125 mm), which move smoothly with the hand's centre and never with its
nearest or farthest pixel, so a clip's frames do not flicker as a finger comes and goes (a
per-image min/max stretch would). `near_mm`/`far_mm` fix the window absolutely instead. Pixels
without depth are black (far), or white with `invert`, which flips the whole scale for models
trained on near = black.
The skeleton image is drawn on the same square, in OpenPose's hand colours (lines coloured by
hue = edge / 20, red joints: OpenPose `util.draw_handpose`), the order of whose 21 keypoints is
ours (MediaPipe's), so skeleton-conditioned models take it as it is.
"""
from __future__ import annotations

import colorsys
from dataclasses import dataclass

import cv2
import numpy as np

from engine.camera import Camera
from engine.data.crop import make_transform
from engine.hand.skeleton import BONES

SIZES = (512, 1024)
DEFAULT_SIZE = 512
# OpenPose draws 4 px wide limbs and 4 px joints on its 368 px input; scaled to our size.
_LINE_PX_PER_512 = 3
_JOINT_PX_PER_512 = 4
_JOINT_BGR = (0, 0, 255)
# Hue per edge as OpenPose's draw_handpose: edge e of 20 gets hsv(e / 20, 1, 1).
EDGE_BGR = tuple(tuple(int(255 * c) for c in reversed(colorsys.hsv_to_rgb(e / len(BONES), 1.0, 1.0)))
                 for e in range(len(BONES)))


@dataclass(frozen=True)
class ControlNetOptions:
    """How the ControlNet map is made; stored with each sample (see the module docstring)."""

    size: int = DEFAULT_SIZE
    near_mm: float | None = None  # None: the crop cube's front face
    far_mm: float | None = None  # None: the crop cube's back face
    invert: bool = False

    def __post_init__(self) -> None:
        if self.size not in SIZES:
            raise ValueError(f"ControlNet size must be one of {', '.join(map(str, SIZES))}, not {self.size}")
        if (self.near_mm is None) != (self.far_mm is None):
            raise ValueError("give both near and far depth of the ControlNet map, or neither")
        if self.near_mm is not None and not 0 <= self.near_mm < self.far_mm:
            raise ValueError(f"ControlNet near {self.near_mm} mm must be >= 0 and below far {self.far_mm} mm")


@dataclass(frozen=True, eq=False)
class Conditioning:
    """The two images, and the window they were cut from (for the legend)."""

    depth: np.ndarray  # (size, size) uint8
    skeleton: np.ndarray  # (size, size, 3) uint8 BGR
    window_px: tuple[int, int, int]  # u0, v0, side in the full frame
    near_mm: float
    far_mm: float


def conditioning_images(depth: np.ndarray, joints: np.ndarray, camera: Camera,
                        options: ControlNetOptions = ControlNetOptions()) -> Conditioning:
    """ControlNet depth map and OpenPose skeleton of a full frame `depth` (mm, 0 = no data)."""
    transform = make_transform(joints, camera)
    u0, v0, side = transform.u0, transform.v0, transform.size_px
    if options.near_mm is None:
        near, far = transform.centre[2] - transform.half_cube, transform.centre[2] + transform.half_cube
    else:
        near, far = options.near_mm, options.far_mm
    scale = options.size / side
    # Output pixel centre i maps to frame coordinate u0 - 0.5 + (i + 0.5) / scale.
    to_frame = np.array([[1 / scale, 0, u0 - 0.5 + 0.5 / scale], [0, 1 / scale, v0 - 0.5 + 0.5 / scale]])
    window = cv2.warpAffine(np.nan_to_num(np.asarray(depth, np.float32)), to_frame,
                            (options.size, options.size), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    grey = np.where(window > 0, np.clip((far - window) / (far - near), 0.0, 1.0) * 255.0, 0.0)
    grey = np.rint(grey).astype(np.uint8)
    if options.invert:
        grey = 255 - grey
    uv = (camera.project(joints) - [u0 - 0.5, v0 - 0.5]) * scale - 0.5
    return Conditioning(depth=grey, skeleton=openpose_hand(uv, options.size),
                        window_px=(u0, v0, side), near_mm=float(near), far_mm=float(far))


def openpose_hand(points_px: np.ndarray, size: int) -> np.ndarray:
    """A black (size, size) BGR image with the 21 points (u, v) drawn as an OpenPose hand."""
    image = np.zeros((size, size, 3), np.uint8)
    shift = 4  # sub-pixel precision of cv2's drawing
    pts = np.rint(np.asarray(points_px) * (1 << shift)).astype(np.int64)
    line = max(1, round(_LINE_PX_PER_512 * size / 512))
    dot = max(1, round(_JOINT_PX_PER_512 * size / 512))
    for colour, (a, b) in zip(EDGE_BGR, BONES):
        cv2.line(image, tuple(map(int, pts[a])), tuple(map(int, pts[b])), colour, line, cv2.LINE_AA, shift)
    for p in pts:
        cv2.circle(image, tuple(map(int, p)), dot << shift, _JOINT_BGR, -1, cv2.LINE_AA, shift)
    return image
