"""The simulator as a dataset: an endless, seeded stream of random hands and their depth.

Sample i depends only on (seed, i), never on what was drawn before, so a stream can be split
across workers or processes, resumed at any index, and two runs with one seed agree exactly.
`crop_sample` renders straight into the crop's own camera (the crop convention's exact pixel
map), which is 4-5x cheaper than rendering the full frame and cropping it, for training.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from engine.camera import CAMERA_PRESETS, Camera
from engine.data.crop import (
    CROP_SIZE,
    CropTransform,
    crop_camera,
    crop_depth,
    make_transform,
    normalise_joints,
)
from engine.data.readers.base import Sample
from engine.hand.model import HandPose
from engine.hand.sampler import PoseRanges, sample_pose
from engine.hand.skeleton import NUM_JOINTS
from engine.sim.render import RenderResult, render_hand
from engine.sim.sensors import SENSOR_NAMES, apply_sensor

SOURCE = "sim"


@dataclass(frozen=True)
class SimConfig:
    """What the stream varies. Sensors and cameras are drawn uniformly per sample."""

    seed: int = 0
    ranges: PoseRanges = field(default_factory=PoseRanges)
    sensors: tuple[str, ...] = ("none",)
    cameras: tuple[str, ...] = ("kinect_v1",)

    def __post_init__(self) -> None:
        bad = [s for s in self.sensors if s not in SENSOR_NAMES]
        if bad or not self.sensors:
            raise ValueError(f"unknown sensor {bad[0] if bad else '(none given)'}; choose from {', '.join(SENSOR_NAMES)}")
        bad = [c for c in self.cameras if c not in CAMERA_PRESETS]
        if bad or not self.cameras:
            raise ValueError(f"unknown camera {bad[0] if bad else '(none given)'}; choose from {', '.join(CAMERA_PRESETS)}")


@dataclass(frozen=True, eq=False)
class SimDraw:
    """The random choices behind sample i."""

    hand: HandPose
    camera: Camera
    sensor: str
    rng: np.random.Generator  # continues the sample's stream, for the sensor noise


@dataclass(frozen=True, eq=False)
class CropSample:
    """One training pair in the crop convention (engine.data.crop)."""

    depth: np.ndarray  # (128, 128) float32 in [-1, 1], background +1
    clean: np.ndarray  # the same without sensor noise
    labels: np.ndarray  # (128, 128) uint8 part labels of the clean render (engine.hand.skeleton.PART_LABELS)
    y: np.ndarray  # (21, 3) float32 pose in cube half-sides
    transform: CropTransform
    hand: HandPose
    sensor: str


def draw(config: SimConfig, index: int) -> SimDraw:
    rng = np.random.default_rng([config.seed, index])
    camera = CAMERA_PRESETS[config.cameras[rng.integers(len(config.cameras))]]
    sensor = config.sensors[rng.integers(len(config.sensors))]
    hand = sample_pose(rng, config.ranges, camera=camera)
    return SimDraw(hand=hand, camera=camera, sensor=sensor, rng=rng)


def render_at_crop(joints: np.ndarray, transform: CropTransform, thickness: float) -> tuple[RenderResult, CropTransform]:
    """The clean render of joints (21, 3) mm made directly at the crop's resolution (through the
    crop camera), and the transform that reads it into the crop convention (the whole image, no
    resampling)."""
    cam = crop_camera(transform)
    identity = CropTransform(centre=transform.centre, u0=0, v0=0, size_px=CROP_SIZE, camera=cam,
                             cube=transform.cube)
    return render_hand(joints, cam, thickness), identity


def crop_sample(config: SimConfig, index: int) -> CropSample:
    """Sample i rendered directly at the crop's resolution, clean and through its sensor."""
    d = draw(config, index)
    joints = d.hand.joints()
    transform = make_transform(joints, d.camera)
    clean, identity = render_at_crop(joints, transform, d.hand.shape.thickness)
    clean_mm = clean.depth
    noisy_mm = apply_sensor(clean_mm, identity.camera, d.sensor, d.rng)
    return CropSample(depth=crop_depth(noisy_mm, identity), clean=crop_depth(clean_mm, identity),
                      labels=clean.labels,
                      y=normalise_joints(joints, transform), transform=transform, hand=d.hand,
                      sensor=d.sensor)


class SimReader:
    """Full-frame samples from the simulator, like any dataset reader (`--data sim`)."""

    def __init__(self, config: SimConfig = SimConfig(), count: int = 1000, start: int = 0) -> None:
        self.config, self.count, self.start = config, count, start

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Sample]:
        for i in range(self.start, self.start + self.count):
            d = draw(self.config, i)
            joints = d.hand.joints()
            clean = render_hand(joints, d.camera, d.hand.shape.thickness).depth
            yield Sample(depth=apply_sensor(clean, d.camera, d.sensor, d.rng),
                         joints=joints.astype(np.float32), joint_mask=np.ones(NUM_JOINTS, bool),
                         camera=d.camera, source=f"{SOURCE}:{self.config.seed}:{i}")
