"""Where a dataset's poses come from: pose i is a function of (source, seed, i) alone.

Why "of i alone": a dataset split over workers, shards or machines, or resumed after a kill,
must draw exactly the poses a single uninterrupted run draws, so nothing may depend on what
was drawn before (the same rule as engine.data.readers.sim).
    random              the sampler within the joint limits (engine.hand.sampler)
    FILE.jsonl          one pose (engine.hand.pose_io's schema) a line, used in turn
    around:POSE.json    the pose with its angles jittered within the limits
    bank                a real tracked pose (engine.hand.pose_bank), drawn with the seed, a
                        left hand half of the time, its middle MCP on the optical axis
    READER:PATH         each sample's joints of a dataset (nyu:, icvl:, msra:, hands17:, own:;
                        engine.data.readers), in turn, fitted to the model (the readers give no
                        handedness: the better fit of a right and a left hand; the missing
                        joints left to the fit) and seen by that sample's camera
With `frames` > 1 the source's poses become keyframes, `frames` apart (engine.dataset_keyframes).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from engine.camera import Camera
from engine.dataset_keyframes import KeyframedPoses
from engine.hand.fit import MIN_JOINTS, fit_pose
from engine.hand.limits import clamp_angles
from engine.hand.model import forward_kinematics
from engine.hand.pose_bank import bank_params, bank_pose
from engine.hand.pose_io import PoseRecord, load_pose, record_from_dict
from engine.hand.sampler import HAND_CENTRE_JOINT, PoseRanges, mirror_pose, sample_pose_and_joints

# Jitter of `around:`: 8 degrees per angle is about one step of a hand posing for a camera
# (a tenth of a finger joint's ~90 degree range); the hand shifts by up to 20 mm.
AROUND_ANGLE_SD_DEG = 8.0
AROUND_SHIFT_MM = 20.0
# Where `bank` places a hand: 700 mm, as the presets, is inside every preset sensor's range
# (Kinect v1 from ~500 mm, RealSense D4xx and Kinect v2 to several metres).
BANK_DISTANCE_MM = 700.0
READER_PREFIXES = ("nyu", "icvl", "msra", "hands17", "own")
READER_SPEC = re.compile(rf"^(?:{'|'.join(READER_PREFIXES)}):.+", re.IGNORECASE)


def pose_rng(seed: int, index: int) -> np.random.Generator:
    """The random stream of sample `index` (independent of every other sample's)."""
    return np.random.default_rng([seed, index])


class PoseSource(Protocol):
    """Pose i of a dataset, and the spec that names the source (for the manifest)."""

    spec: str

    def record(self, seed: int, index: int) -> PoseRecord: ...


@dataclass(frozen=True)
class RandomPoses:
    camera: Camera
    spec: str = "random"
    ranges: PoseRanges = PoseRanges()

    def record(self, seed: int, index: int) -> PoseRecord:
        hand, joints = sample_pose_and_joints(pose_rng(seed, index), self.ranges, camera=self.camera)
        return PoseRecord(joints=joints, camera=self.camera, handedness=hand.handedness, hand=hand)


@dataclass(frozen=True)
class ListedPoses:
    records: tuple[PoseRecord, ...]
    spec: str

    def record(self, seed: int, index: int) -> PoseRecord:
        r = self.records[index % len(self.records)]
        return PoseRecord(joints=r.joints, camera=r.camera, handedness=r.handedness, hand=r.hand)


@dataclass(frozen=True)
class PosesAround:
    base: PoseRecord
    spec: str

    def record(self, seed: int, index: int) -> PoseRecord:
        rng = pose_rng(seed, index)
        hand = self.base.hand
        angles = clamp_angles(hand.angles + np.deg2rad(rng.normal(0.0, AROUND_ANGLE_SD_DEG, hand.angles.shape)))
        shift = rng.uniform(-AROUND_SHIFT_MM, AROUND_SHIFT_MM, 3)
        return PoseRecord.from_hand(replace(hand, angles=angles, translation=hand.translation + shift),
                                    self.base.camera)


@dataclass(frozen=True)
class BankPoses:
    camera: Camera
    spec: str = "bank"

    def record(self, seed: int, index: int) -> PoseRecord:
        rng = pose_rng(seed, index)
        hand = bank_pose(int(rng.integers(len(bank_params()))))
        if rng.uniform() < 0.5:
            hand = mirror_pose(hand)
        centre = self.camera.backproject(self.camera.cx, self.camera.cy, BANK_DISTANCE_MM)
        placed = replace(hand, translation=hand.translation + centre - forward_kinematics(hand)[HAND_CENTRE_JOINT])
        return PoseRecord.from_hand(placed, self.camera)


@dataclass(frozen=True)
class ReaderPoses:
    spec: str
    joints: np.ndarray  # (N, 21, 3) mm, NaN where the dataset has no such joint
    masks: np.ndarray  # (N, 21) bool
    cameras: tuple[Camera, ...]

    @classmethod
    def open(cls, spec: str) -> "ReaderPoses":
        from engine.data.readers import open_dataset

        samples = [(s.joints, s.joint_mask, s.camera) for s in open_dataset(spec)]
        usable = [s for s in samples if s[1].sum() >= MIN_JOINTS]
        if not usable:
            raise ValueError(f"--poses {spec}: no sample with {MIN_JOINTS} or more labelled joints")
        return cls(spec, np.stack([s[0] for s in usable]), np.stack([s[1] for s in usable]),
                   tuple(s[2] for s in usable))

    def record(self, seed: int, index: int) -> PoseRecord:
        k = index % len(self.joints)
        fits = [fit_pose(self.joints[k], hand, mask=self.masks[k]) for hand in ("right", "left")]
        fit = min(fits, key=lambda f: f.mean_error_mm)
        return PoseRecord.from_hand(fit.pose, self.cameras[k])


def read_pose_lines(path: Path) -> tuple[PoseRecord, ...]:
    """Every pose of a JSON-lines file; ValueError "FILE:LINE: problem" for a bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: cannot read ({e.__class__.__name__})") from None
    records = []
    for no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(record_from_dict(json.loads(line)))
        except (ValueError, TypeError) as e:
            raise ValueError(f"{path}:{no}: {e}") from None
    if not records:
        raise ValueError(f"{path}: no poses (one pose JSON object a line)")
    return tuple(records)


def open_pose_source(spec: str, camera: Camera, frames: int = 1) -> PoseSource:
    """The source a `--poses` value names, as keyframes `frames` apart when that is over 1
    (see the module docstring); one-line ValueError."""
    if frames < 1:
        raise ValueError(f"--frames must be at least 1, not {frames}")
    source = _plain_source(spec, camera)
    return source if frames == 1 else KeyframedPoses(source, frames)


def _plain_source(spec: str, camera: Camera) -> PoseSource:
    if spec == "random":
        return RandomPoses(camera)
    if spec == "bank":
        bank_params()  # a missing or broken bank fails here, in one line, before any worker
        return BankPoses(camera)
    if spec.startswith("around:"):
        path = Path(spec.removeprefix("around:"))
        base = load_pose(path)
        if base.hand is None:
            raise ValueError(f"{path}: around: needs a pose with angles_deg/shape/global (the "
                             "hand model's), not joints alone")
        return PosesAround(base, spec)
    path = Path(spec)
    if path.suffix.lower() == ".jsonl":
        return ListedPoses(read_pose_lines(path), spec)
    if READER_SPEC.match(spec):
        return ReaderPoses.open(spec)
    raise ValueError(f"--poses {spec!r}: use random, bank, FILE.jsonl, around:POSE.json or READER:PATH "
                     f"({', '.join(f'{r}:' for r in READER_PREFIXES)})")
