"""Random hand poses within the joint limits, without self-intersection, for training data.

Finger joints are drawn as a per-finger curl level plus independent jitter, because real hands
couple PIP and DIP flexion (DIP ~ 2/3 PIP, Lin, Wu & Huang 2000) and uniform independent angles
mostly give implausible claws. Poses whose fingers pass through each other are redrawn.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.hand.limits import LOWER, UPPER, clamp_angles
from engine.hand.anatomy import FINGER_RADII_MM
from engine.hand.model import (
    HandPose,
    HandShape,
    forward_kinematics,
    matrix_to_rotvec,
    rotvec_to_matrix,
)
from engine.hand.skeleton import FINGER_JOINTS, FINGERS

# Fraction of the radii sum two bones of different fingers may overlap before it counts as a
# collision (soft tissue gives; fingers pressed together still touch).
COLLISION_SLACK = 0.7
MAX_TRIES = 100
HAND_CENTRE_JOINT = 9  # middle MCP: the point placed at the sampled distance


@dataclass(frozen=True)
class PoseRanges:
    """What the sampler varies: distance of the hand centre, rotation spread, shape spread."""

    distance_mm: tuple[float, float] = (300.0, 1000.0)
    max_rotation_deg: float = 180.0  # 180 = any orientation
    size: tuple[float, float] = (0.85, 1.15)
    finger_scale: tuple[float, float] = (0.92, 1.08)
    thickness: tuple[float, float] = (0.9, 1.1)
    image_fraction: float = 0.5  # the centre projects within this central fraction of the image


# The hands' thicknesses the simulator samples, so the ones a generator is trained on: what the app's
# control and `--thickness` offer. A hand whose shape is not known (a dataset's; what a shape-aware
# generator draws when told none) gets the middle of the range.
THICKNESS_RANGE = PoseRanges().thickness
MEAN_THICKNESS = 0.5 * sum(THICKNESS_RANGE)


def _finger_angles(rng: np.random.Generator) -> np.ndarray:
    a = np.zeros((5, 4))
    for i, _ in enumerate(FINGERS):
        lo, hi = LOWER[4 * i:4 * i + 4], UPPER[4 * i:4 * i + 4]
        curl = rng.beta(0.8, 0.8)  # favours open and closed fingers, as in everyday hands
        start = np.maximum(lo, 0.0)  # hyperextension only through the jitter
        base = start + curl * (hi - start)
        jitter = rng.normal(0.0, 0.1, 4) * (hi - lo)
        a[i] = base + jitter
        a[i, 1] = rng.uniform(lo[1], hi[1])  # abduction is independent of curl
    return clamp_angles(a.reshape(-1))


def _segment_distances(p0: np.ndarray, p1: np.ndarray, q0: np.ndarray, q1: np.ndarray) -> np.ndarray:
    """Closest distances between segment pairs (..., 3), clamped parametrisation."""
    d1, d2, r = p1 - p0, q1 - q0, p0 - q0
    a = (d1 * d1).sum(-1)
    e = (d2 * d2).sum(-1)
    f = (d2 * r).sum(-1)
    c = (d1 * r).sum(-1)
    b = (d1 * d2).sum(-1)
    denom = np.maximum(a * e - b * b, 1e-9)
    s = np.clip((b * f - c * e) / denom, 0.0, 1.0)
    t = np.clip((b * s + f) / np.maximum(e, 1e-9), 0.0, 1.0)
    s = np.clip((b * t - c) / np.maximum(a, 1e-9), 0.0, 1.0)
    gap = p0 + d1 * s[..., None] - q0 - d2 * t[..., None]
    return np.sqrt((gap * gap).sum(-1))  # np.linalg.norm's own sum, bit for bit, without its set-up


def _bone_table() -> tuple[np.ndarray, ...]:
    """(start joint, end joint, nominal radius, finger) of the fingers' bones, and the pairs of
    bones of different fingers that the collision test compares."""
    rows = [(FINGER_JOINTS[f][b], FINGER_JOINTS[f][b + 1], max(FINGER_RADII_MM[f][b]), i)
            for i, f in enumerate(FINGERS) for b in range(3)]
    start, end, radius, finger = (np.array(x) for x in zip(*rows))
    i, j = np.triu_indices(len(rows), 1)
    other = finger[i] != finger[j]
    return start, end, radius, i[other], j[other]


_BONE_START, _BONE_END, _BONE_RADIUS, _PAIR_I, _PAIR_J = _bone_table()


def self_intersects(hand: HandPose) -> bool:
    """True if bones of two different fingers overlap deeper than the collision slack."""
    return _joints_intersect(forward_kinematics(hand), hand)


def _joints_intersect(joints: np.ndarray, hand: HandPose) -> bool:
    radii = _BONE_RADIUS * (hand.shape.size * hand.shape.thickness)
    i, j = _PAIR_I, _PAIR_J
    dist = _segment_distances(joints[_BONE_START[i]], joints[_BONE_END[i]], joints[_BONE_START[j]], joints[_BONE_END[j]])
    return bool(np.any(dist < COLLISION_SLACK * (radii[i] + radii[j])))


def _random_rotation(rng: np.random.Generator, max_deg: float) -> np.ndarray:
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    angle = np.deg2rad(max_deg) * rng.uniform(0.0, 1.0) ** (1.0 / 3.0) if max_deg < 180 else rng.uniform(0, np.pi)
    return axis * angle


def sample_pose(rng: np.random.Generator, ranges: PoseRanges = PoseRanges(), camera=None,
                handedness: str | None = None) -> HandPose:
    """A random plausible hand. With a camera, its centre lands inside the central image area."""
    return sample_pose_and_joints(rng, ranges, camera, handedness)[0]


def sample_pose_and_joints(rng: np.random.Generator, ranges: PoseRanges = PoseRanges(), camera=None,
                           handedness: str | None = None) -> tuple[HandPose, np.ndarray]:
    """`sample_pose` and its 21 joints (forward_kinematics of it, bit for bit), from one FK
    pass: the translation only shifts the joints (a dataset draws poses by the thousand)."""
    for _ in range(MAX_TRIES):
        shape = HandShape(size=rng.uniform(*ranges.size),
                          finger_scales=tuple(rng.uniform(*ranges.finger_scale, size=5)),
                          thickness=rng.uniform(*ranges.thickness))
        hand = HandPose(angles=_finger_angles(rng), shape=shape,
                        rotation=_random_rotation(rng, ranges.max_rotation_deg),
                        translation=np.zeros(3),
                        handedness=handedness or ("right" if rng.uniform() < 0.5 else "left"))
        at_origin = forward_kinematics(hand)
        if not _joints_intersect(at_origin, hand):
            break
    distance = rng.uniform(*ranges.distance_mm)
    if camera is not None:
        half = ranges.image_fraction / 2.0
        u = camera.cx + rng.uniform(-half, half) * camera.width
        v = camera.cy + rng.uniform(-half, half) * camera.height
        centre = camera.backproject(u, v, distance)
    else:
        centre = np.array([0.0, 0.0, distance])
    translation = centre - at_origin[HAND_CENTRE_JOINT]
    # FK adds the translation last, to joints that are these with a zero translation.
    return (HandPose(angles=hand.angles, shape=hand.shape, rotation=hand.rotation,
                     translation=translation, handedness=hand.handedness), at_origin + translation)


def mirror_pose(hand: HandPose) -> HandPose:
    """The same pose on the other hand, reflected through the camera's y-z plane at the wrist.

    Reflecting x maps R to M R M (M = diag(-1, 1, 1)) and swaps handedness; the angles, being
    anatomical, stay as they are.
    """
    M = np.diag([-1.0, 1.0, 1.0])
    R = rotvec_to_matrix(hand.rotation)
    other = "left" if hand.handedness == "right" else "right"
    return HandPose(angles=hand.angles, shape=hand.shape, rotation=matrix_to_rotvec(M @ R @ M),
                    translation=hand.translation, handedness=other)
