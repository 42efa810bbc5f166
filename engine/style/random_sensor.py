"""Sensor models with randomised parameters: an endless bank of styles whose truth is known.

Why: the learned stage must work for any style image, and real depth frames are few (the
shared samples hold ~20). The simulator's published sensor models (engine.sim.sensors) are
three points in the space of looks; drawing their strengths at random, and adding artefacts
with random rates on top, gives as many distinct styles as training wants, each with the
exact per-pixel truth (which pixel dropped, how far each moved) for a supervised loss.

A style theta is a SensorParams: a base model, then
  noise_gain     the base model's depth error scaled (0 = its holes without its noise);
  white_mm       extra white noise (sensor read noise, not in every base model);
  quant_mm       extra quantisation step (0 = the base model's own);
  erosion_px     the outline eroded by up to this many px (coded light's ragged silhouette);
  edge_drop      extra dropouts near depth edges, P = edge_drop * exp(-d / EDGE_DECAY_PX);
  interior_drop  extra clustered dropouts anywhere on the hand (specular / dark patches).
Ranges span a little beyond the published models so the bank brackets the real samples.
engine/sim/sensors.py is not changed: theta acts on its output. Its random fields are the
sensor models' own (engine.sim.random_fields), so a field is drawn one way everywhere.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from engine.camera import Camera
from engine.sim.random_fields import blob_uniform, standard_normal
from engine.sim.sensors import apply_sensor

BASES = ("none", "kinect_v1", "tof", "realsense")
NOISE_GAIN = (0.0, 2.5)
WHITE_MM = (0.0, 3.0)
QUANT_MM = (0.0, 2.0)
EROSION_PX = (0.0, 2.5)
EDGE_DROP = (0.0, 0.6)
INTERIOR_DROP = (0.0, 0.08)
EDGE_DECAY_PX = 1.5  # as the base models' edge dropouts (engine.sim.sensors)
DROP_CORRELATION_PX = 1.0  # dropouts come in blobs of a few px, as in the base models
EDGE_JUMP_FRACTION = 0.02  # neighbours this far apart (share of depth) are different surfaces


@dataclass(frozen=True)
class SensorParams:
    """One randomised sensor style (module docstring)."""

    base: str
    noise_gain: float = 1.0
    white_mm: float = 0.0
    quant_mm: float = 0.0
    erosion_px: float = 0.0
    edge_drop: float = 0.0
    interior_drop: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def random_params(rng: np.random.Generator) -> SensorParams:
    """A style drawn from the bank: each extra artefact is present half of the time."""
    def maybe(lo_hi: tuple[float, float]) -> float:
        return float(rng.uniform(*lo_hi)) if rng.random() < 0.5 else 0.0
    return SensorParams(base=BASES[rng.integers(len(BASES))],
                        noise_gain=float(rng.uniform(*NOISE_GAIN)), white_mm=maybe(WHITE_MM),
                        quant_mm=maybe(QUANT_MM), erosion_px=maybe(EROSION_PX),
                        edge_drop=maybe(EDGE_DROP), interior_drop=maybe(INTERIOR_DROP))


def edge_distance(depth: np.ndarray) -> np.ndarray:
    """Distance (px) of each pixel to the nearest depth edge: the outline, a hole, or a step
    between surfaces (neighbours more than EDGE_JUMP_FRACTION of the depth apart)."""
    valid = depth > 0
    z = np.where(valid, depth, 0.0).astype(np.float32)
    edge = ~valid
    for axis in (0, 1):
        step = np.abs(np.diff(z, axis=axis)) > EDGE_JUMP_FRACTION * np.maximum(
            np.minimum(np.delete(z, -1, axis), np.delete(z, 0, axis)), 1.0)
        pad_lo = [(0, 0), (0, 0)]
        pad_hi = [(0, 0), (0, 0)]
        pad_lo[axis], pad_hi[axis] = (1, 0), (0, 1)
        edge |= np.pad(step, pad_lo) | np.pad(step, pad_hi)
    return cv2.distanceTransform((~edge).astype(np.uint8), cv2.DIST_L2, 3)


def apply_params(clean: np.ndarray, camera: Camera, params: SensorParams,
                 rng: np.random.Generator) -> np.ndarray:
    """What the randomised sensor `params` measures of the clean depth (float32 mm, 0 = none)."""
    clean = np.asarray(clean, dtype=np.float32)
    base = apply_sensor(clean, camera, params.base, rng)
    both = (clean > 0) & (base > 0)
    out = np.where(both, clean + np.float32(params.noise_gain) * (base - clean), base)
    valid = out > 0
    if params.white_mm > 0:
        out = out + np.float32(params.white_mm) * standard_normal(rng, out.shape)
    if params.quant_mm > 0:
        out = np.round(out / params.quant_mm) * np.float32(params.quant_mm)
    dist = edge_distance(np.where(valid, clean, 0.0))
    keep = valid.copy()
    if params.erosion_px > 0:
        keep &= dist >= params.erosion_px * blob_uniform(rng, out.shape, 3.0) + 0.5
    if params.edge_drop > 0:
        p = params.edge_drop * np.exp(-np.maximum(dist - 1.0, 0.0) / EDGE_DECAY_PX)
        keep &= blob_uniform(rng, out.shape, DROP_CORRELATION_PX) >= p
    if params.interior_drop > 0:
        keep &= blob_uniform(rng, out.shape, DROP_CORRELATION_PX) >= params.interior_drop
    return np.where(keep & (out > 0), out, 0.0).astype(np.float32)
