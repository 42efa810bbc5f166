"""Which sensor model looks most like a given depth image: the stand-in for learned styles.

Until a style network exists, a user's "style image" (any depth PNG) is matched to the closest
of the simulator's sensor models (engine.sim.sensors) by two simple, scale-free statistics of
its hand, the nearest object in the frame:
  edge_holes  share of no-data pixels in a thin ring just inside the hand's silhouette (structured
              light leaves holes and shadows along edges; coded light erodes them; ToF and a
              clean render keep them),
  noise       mean |depth - 3x3 median| on the hand's interior, relative to its depth
              (high-frequency noise; dimensionless, so PNGs in mm, 1/8 mm or 8-bit compare),
  step        the smallest depth steps between neighbours on the interior (10th percentile of
              the non-zero ones), relative to depth: the sensor's quantisation (Kinect v1's
              disparity steps are ~1.5 mm at half a metre, the SR305's 1/8 mm).
The reference statistics are measured on the simulator's own renders through each model, so the
match is always against what the app can actually produce.

Style images are decoded by engine.style.image (uint16, 8-bit grey, NYU RGB; the unit given,
from a sidecar, or guessed); this module re-exports its names for existing callers.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from engine.camera import DEFAULT_CAMERA
from engine.hand.controls import set_hand_distance
from engine.hand.presets import load_preset
from engine.sim.render import render_hand
from engine.sim.sensors import SENSOR_NAMES, apply_sensor
from engine.style.image import StyleImage, StyleImageError, decode_depth, read_depth_image

# The hand is everything within this factor of the nearest depth (an adult hand is ~150-200 mm
# deep at 450-600 mm from the camera, i.e. a third of its distance).
HAND_DEPTH_RATIO = 1.35
NEAREST_PERCENTILE = 1.0
MIN_HAND_PIXELS = 200
CLOSE_KERNEL_PX = 7  # closing fills the holes a sensor punches into the silhouette
EDGE_RING_PX = 5  # width of the ring inside the silhouette that edge_holes looks at
# Reference renders: the presets and distance the sensor statistics are measured on.
REFERENCE_PRESETS = ("relaxed", "open_palm", "fist", "victory")
REFERENCE_DISTANCE_MM = 550.0
REFERENCE_SEED = 0
# Draws per preset: one draw's statistics vary (RealSense's log noise by +-0.3 between seeds),
# and with one draw a preset's reference was a matter of luck.
REFERENCE_DRAWS = 4
# Feature scales for the distance: a hole share of 0.1 weighs like a factor of 3 in noise.
HOLE_SCALE = 0.1
NOISE_LOG_SCALE = np.log(3.0)
NOISE_FLOOR = 1e-5  # relative noise of a clean render is 0; the log needs a floor
STEP_PERCENTILE = 10.0
STEP_LOG_SCALE = np.log(3.0)
STEP_FLOOR = 1e-6


@dataclass(frozen=True)
class DepthStats:
    edge_holes: float
    noise: float
    step: float

    def distance(self, other: DepthStats) -> float:
        holes = (self.edge_holes - other.edge_holes) / HOLE_SCALE
        noise = (np.log(self.noise + NOISE_FLOOR) - np.log(other.noise + NOISE_FLOOR)) / NOISE_LOG_SCALE
        step = (np.log(self.step + STEP_FLOOR) - np.log(other.step + STEP_FLOOR)) / STEP_LOG_SCALE
        return float(np.sqrt(holes ** 2 + noise ** 2 + step ** 2))


def decode_depth_image(image: np.ndarray) -> StyleImage:
    """Detect a decoded PNG's depth encoding (cv2 channel order); ValueError if there is none.

    Depth stays in the stored unit: the unit is the loader's business (read_style_image)."""
    depth, encoding = decode_depth(image)
    return StyleImage(depth, encoding)


def read_style_image(path: str | Path, scale_mm: float | None = None) -> StyleImage:
    """Read a depth PNG through the one style-image loader (engine.style.image): depth in mm,
    the unit given, from the sidecar, or guessed; StyleImageError with one line otherwise."""
    style = read_depth_image(path, scale_mm)
    if hand_mask(style.depth) is None:
        raise StyleImageError(f"{path}: no depth data found ({style.encoding})")
    return style


def hand_mask(depth: np.ndarray) -> np.ndarray | None:
    """The nearest object's silhouette with its holes closed, or None without enough data."""
    valid = depth > 0
    if np.count_nonzero(valid) < MIN_HAND_PIXELS:
        return None
    near = np.percentile(depth[valid], NEAREST_PERCENTILE)
    hand = (valid & (depth <= near * HAND_DEPTH_RATIO)).astype(np.uint8)
    kernel = np.ones((CLOSE_KERNEL_PX, CLOSE_KERNEL_PX), np.uint8)
    filled = cv2.morphologyEx(hand, cv2.MORPH_CLOSE, kernel)
    # Keep the largest blob: the hand, not a stray near pixel.
    count, labels, stats, _ = cv2.connectedComponentsWithStats(filled, connectivity=8)
    if count < 2:
        return None
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    mask = labels == largest
    return mask if mask.sum() >= MIN_HAND_PIXELS else None


def hand_box(depth: np.ndarray) -> tuple[slice, slice] | None:
    """Rows and columns of the hand's bounding box."""
    mask = hand_mask(depth)
    if mask is None:
        return None
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def depth_statistics(depth: np.ndarray) -> DepthStats | None:
    """The two statistics of the module docstring, or None when no hand is found."""
    depth = np.asarray(depth, dtype=np.float32)
    mask = hand_mask(depth)
    if mask is None:
        return None
    m8 = mask.astype(np.uint8)
    ring_kernel = np.ones((2 * EDGE_RING_PX + 1,) * 2, np.uint8)
    interior = cv2.erode(m8, ring_kernel).astype(bool)
    ring = mask & ~interior
    edge_holes = float((depth[ring] == 0).mean()) if ring.any() else 0.0
    core = interior & (depth > 0)
    if core.sum() < MIN_HAND_PIXELS // 4:
        core = mask & (depth > 0)
    residual = np.abs(depth - cv2.medianBlur(depth, 3))[core]
    noise = float(np.mean(residual / depth[core]))
    pair = core[:, :-1] & core[:, 1:]
    left = depth[:, :-1][pair]
    steps = np.abs(depth[:, 1:][pair] - left) / left
    steps = steps[steps > 0]
    step = float(np.percentile(steps, STEP_PERCENTILE)) if steps.size else 0.0
    return DepthStats(edge_holes=edge_holes, noise=noise, step=step)


@functools.lru_cache(maxsize=1)
def reference_statistics() -> dict[str, DepthStats]:
    """Each sensor model's statistics on the simulator's renders (computed once, ~1 s)."""
    camera = DEFAULT_CAMERA
    renders = []
    for name in REFERENCE_PRESETS:
        hand = set_hand_distance(load_preset(name).hand, REFERENCE_DISTANCE_MM)
        renders.append(render_hand(hand.joints(), camera, hand.shape.thickness).depth)
    out = {}
    for sensor in SENSOR_NAMES:
        stats = [depth_statistics(apply_sensor(d, camera, sensor, REFERENCE_SEED + REFERENCE_DRAWS * i + k))
                 for i, d in enumerate(renders) for k in range(REFERENCE_DRAWS)]
        stats = [s for s in stats if s is not None]
        out[sensor] = DepthStats(
            edge_holes=float(np.mean([s.edge_holes for s in stats])),
            noise=float(np.exp(np.mean([np.log(s.noise + NOISE_FLOOR) for s in stats]))),
            step=float(np.exp(np.mean([np.log(s.step + STEP_FLOOR) for s in stats]))))
    return out


def closest_sensor(depth: np.ndarray) -> tuple[str, dict[str, float]]:
    """The sensor model whose statistics are nearest the image's, and every model's distance."""
    stats = depth_statistics(depth)
    if stats is None:
        raise ValueError("no hand found in the image")
    distances = {name: stats.distance(ref) for name, ref in reference_statistics().items()}
    return min(distances, key=distances.get), distances
