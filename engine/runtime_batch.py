"""The one batch entry from hand poses to styled depth: `generate_batch`.

`generate`, `evaluate` (through engine.models.generator.generate_crops), the bench and the
dataset command (engine.sample_frames.generated_samples) go through here, so a batch is drawn the same way everywhere: every pose
cropped by the crop convention, the whole batch encoded and run through G at once (on the CPU a
batch fills the cores where one crop cannot), then the style applied to the batch
(Style.apply_batch: a learned style runs its network once per batch; one pose alone, a live
frame, through Style.apply), each image drawing its own noise from its seed.

An item is either a full camera frame (`frames=True`: the crop pasted back into its camera's
frame with the simulator's render outside the cube, as `generate` and the app show it,
engine.data.paste) or the 128x128 crop itself in mm, seen by the crop's
own camera (engine.data.crop.crop_camera), which is what a training set of crops needs and
costs no 640x480 paste.

On the CPU a batch of two shards or more (`shard_align` items each) runs as shards, one per
torch thread the caller runs on, each whole (encoding, G, style) on a worker thread of ONE
torch thread (engine.batch_threads): one shard's numpy runs beside the other's network, where
with torch's two threads the second core waited through every numpy step. Shards split at
multiples of G's chunk and the style stage's batch, so every network call is one the unsplit
batch makes on one thread: a split batch is the bytes of that batch on one torch thread.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from engine.batch_threads import run_shards
from engine.camera import Camera
from engine.data.crop import PASTE_BACKGROUND_MIN, CropTransform, crop_camera, make_transform, normalise_joints
from engine.data.paste import paste_crop, surround_labels
from engine.models.inference import InferenceGenerator
from engine.models.style_inference import BATCH as STYLE_BATCH
from engine.models.pose_encoding import crop_view
from engine.runtime import render_surround_of
from engine.style.base import Style


@dataclass(frozen=True, eq=False)
class GeneratedBatch:
    """crops (N, 128, 128) normalised (G's output, before the style); transforms; depth: N float32
    mm images after the style (full frames or crops, see the module docstring); unstyled: the
    same images before the style (the very arrays of `depth` when there is no style); labels:
    for full frames, the simulator's part labels where a frame is its render unchanged (outside
    G's window, engine.data.paste.surround_labels; 0 inside), None for crops."""

    crops: np.ndarray
    transforms: list[CropTransform]
    depth: list[np.ndarray]
    unstyled: list[np.ndarray]
    labels: list[np.ndarray] | None


def crop_to_mm(crop: np.ndarray, transform: CropTransform) -> np.ndarray:
    """A normalised crop as depth in mm (0 = no data) in the crop's own camera: paste_crop's
    depth rule without the resampling into a frame."""
    c = np.asarray(crop, dtype=np.float32)
    z = transform.centre[2] + np.clip(c, -1.0, 1.0) * transform.half_cube
    return np.where(c >= PASTE_BACKGROUND_MIN, 0.0, z).astype(np.float32)


def generate_batch(generator: InferenceGenerator, joints: np.ndarray, cameras: Camera | Sequence[Camera],
                   style: Style | None = None, seeds: Sequence[int] | int = 0, strength: float = 1.0,
                   frames: bool = True, thicknesses: Sequence[float] | float = 1.0) -> GeneratedBatch:
    """Depth of N hands' joints (N, 21, 3) mm, each seen by its camera (one for all, or N).

    Seeds: the style's draws per item (one int: seed + i for item i, so items differ).
    Thicknesses: each hand's shape.thickness (one for all, or N), which a shape-aware G draws
    the hand with and the simulator's render outside the cube (frames=True) the forearm, as the
    app's frame does.
    """
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (21, 3):
        raise ValueError(f"joints must be (N, 21, 3), got {joints.shape}")
    n = len(joints)
    cams = [cameras] * n if isinstance(cameras, Camera) else list(cameras)
    if len(cams) != n:
        raise ValueError(f"{n} poses but {len(cams)} cameras")
    seed_list = [int(seeds) + i for i in range(n)] if isinstance(seeds, (int, np.integer)) else [int(s) for s in seeds]
    if len(seed_list) != n:
        raise ValueError(f"{n} poses but {len(seed_list)} seeds")
    thick = [float(thicknesses)] * n if isinstance(thicknesses, (int, float)) else [float(t) for t in thicknesses]
    if len(thick) != n:
        raise ValueError(f"{n} poses but {len(thick)} thicknesses")
    shards = _shards(generator, n)
    if len(shards) > 1:
        parts = run_shards(_generate, [(generator, joints[k], cams[k], style, seed_list[k], strength, frames,
                                        thick[k], False) for k in shards])
        return GeneratedBatch(crops=np.concatenate([p.crops for p in parts]),
                              transforms=[t for p in parts for t in p.transforms],
                              depth=[d for p in parts for d in p.depth],
                              unstyled=[u for p in parts for u in p.unstyled],
                              labels=[lab for p in parts for lab in p.labels] if frames else None)
    return _generate(generator, joints, cams, style, seed_list, strength, frames, thick, n == 1)


def shard_align(generator: InferenceGenerator) -> int:
    """Items per shard are a multiple of this: of G's chunk and of the learned style stage's
    fixed batch, so every network call of a shard is one the whole batch makes on one thread
    (a crop's output may depend on its call's batch size) and no shard runs padding."""
    return math.lcm(generator.chunk or 1, STYLE_BATCH)


def _shards(generator: InferenceGenerator, n: int) -> list[slice]:
    """The batch's shards, one per torch thread the caller runs on (batch_threads): on the CPU,
    in multiples of shard_align items; one shard (the batch) on a GPU, on one thread, or for a
    batch too small to split."""
    align = shard_align(generator)
    count = min(torch.get_num_threads(), n // align) if generator.cpu else 1
    if count < 2:
        return [slice(0, n)]
    size = -(-n // count)
    size = -(-size // align) * align
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]


def _generate(generator: InferenceGenerator, joints: np.ndarray, cams: list[Camera], style: Style | None,
              seed_list: list[int], strength: float, frames: bool, thick: list[float],
              live: bool) -> GeneratedBatch:
    """generate_batch's work on checked inputs, on the calling thread; `live`: the call's one
    pose (a shard of one item from a bigger batch is styled as a batch, as the whole batch is)."""
    n = len(joints)
    transforms = [make_transform(j, c) for j, c in zip(joints, cams)]
    y = np.stack([normalise_joints(j, t) for j, t in zip(joints, transforms)]) if n else np.zeros((0, 21, 3), np.float32)
    views = np.stack([crop_view(t) for t in transforms]) if n else np.zeros((0, 5), np.float32)
    crops = generator(y, views, np.asarray(thick, np.float32))
    labels = None
    if frames:
        unstyled, labels = [], []
        for crop, j, t, cam, k in zip(crops, joints, transforms, cams, thick):
            surround, surround_parts = render_surround_of(j, cam, k, t)
            unstyled.append(paste_crop(crop, t, surround=surround))
            labels.append(surround_labels(surround_parts, t))
    else:
        unstyled = [crop_to_mm(crop, t) for crop, t in zip(crops, transforms)]
    depth = unstyled
    if style is not None:
        views_of = cams if frames else [crop_camera(t) for t in transforms]
        # One pose is a live frame: Style.apply runs a learned style's stage on that crop alone,
        # where apply_batch runs every call at its fixed batch shape (16 crops, so that a
        # dataset's bytes do not depend on its batching): 16x the stage's work for one frame.
        depth = ([style.apply(unstyled[0], views_of[0], seed_list[0], strength)]
                 if live else style.apply_batch(unstyled, views_of, seed_list, strength))
    return GeneratedBatch(crops=crops, transforms=transforms, depth=depth, unstyled=unstyled, labels=labels)
