"""Kinematic hand model: pose parameters, shape, and forward kinematics to 21 joints.

Hand-local frame (right hand): X towards the thumb (radial), Y along the fingers (distal),
Z out of the palm (palmar); right-handed. A left hand is the mirror image (X negated).
With a zero global rotation the palm faces the camera and the fingers point up the image:
camera = R_global @ CANONICAL_TO_CAMERA @ local + wrist.

Segment lengths are fractions of hand length (wrist crease to middle fingertip) from
Buchholz, Armstrong & Goldstein, "Anthropometric data for describing the kinematics of the
human hand", Ergonomics 35(3), 1992 (Table 2), of the nominal hand of engine.hand.anatomy.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from engine.hand.anatomy import HAND_LENGTH_MM
from engine.hand.limits import NUM_ANGLES, clamp_angles
from engine.hand.skeleton import FINGER_JOINTS, FINGERS, NUM_JOINTS

# Phalanx lengths per finger (base bone, middle bone, tip bone) as fractions of hand length
# [Buchholz 1992]. For the thumb the base bone is the metacarpal (CMC to MCP).
SEGMENT_RATIOS: dict[str, tuple[float, float, float]] = {
    "thumb": (0.251, 0.196, 0.158),
    "index": (0.245, 0.143, 0.097),
    "middle": (0.266, 0.170, 0.108),
    "ring": (0.244, 0.165, 0.107),
    "little": (0.204, 0.117, 0.093),
}

# Base joint positions (thumb CMC, finger MCPs) in the hand-local frame, fractions of hand
# length. Wrist-to-middle-MCP = 1 - middle finger length (0.456) so that the hand length holds;
# MCP spread gives a ~55 mm knuckle span at HAND_LENGTH_MM, as in Buchholz's palm breadth.
BASE_POSITIONS: dict[str, tuple[float, float, float]] = {
    "thumb": (0.13, 0.12, 0.05),
    "index": (0.145, 0.440, 0.0),
    "middle": (0.040, 0.456, 0.0),
    "ring": (-0.060, 0.432, 0.0),
    "little": (-0.150, 0.388, -0.005),
}

# Resting fan of the long fingers in the palm plane (degrees towards the thumb).
FINGER_FAN_DEG: dict[str, float] = {"index": 6.0, "middle": 0.0, "ring": -6.0, "little": -13.0}

# Thumb metacarpal rest direction: 30 deg off the middle-finger axis towards the radial side and
# 9 deg out of the palm plane; its curl (MCP/IP flexion) heads across the palm.
THUMB_REST_DIRECTION = np.array([0.50, 0.85, 0.15])
THUMB_CURL_HINT = np.array([-0.6, 0.0, 0.8])
# Axial pronation of the thumb metacarpal per radian of CMC flexion (opposition coupling).
THUMB_OPPOSITION_TWIST = 0.6

# Right-hand local frame -> camera frame at zero global rotation (x right, y down, z forward).
CANONICAL_TO_CAMERA = np.diag([1.0, -1.0, -1.0])
MIRROR_X = np.diag([-1.0, 1.0, 1.0])

NUM_SHAPE = 1 + len(FINGERS)  # overall size + one length scale per finger
NUM_PARAMS = 3 + 3 + NUM_ANGLES + NUM_SHAPE
ANGLES_PER_FINGER = 4
# Layout of the flat parameter vector used by the optimisers (IK, fitting).
PARAM_ROTATION = slice(0, 3)
PARAM_TRANSLATION = slice(3, 6)
PARAM_ANGLES = slice(6, 6 + NUM_ANGLES)
PARAM_SIZE = 6 + NUM_ANGLES
PARAM_FINGER_SCALES = slice(PARAM_SIZE + 1, PARAM_SIZE + 1 + len(FINGERS))


@dataclass(frozen=True)
class HandShape:
    """Hand size and proportions. `thickness` scales the volume only (not the joints)."""

    size: float = 1.0
    finger_scales: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 1.0)
    thickness: float = 1.0

    @property
    def hand_length_mm(self) -> float:
        return HAND_LENGTH_MM * self.size


@dataclass(frozen=True)
class HandPose:
    """Everything needed to place a hand: angles (radians, 20), shape, global transform.

    rotation is an axis-angle vector (radians) applied after the canonical palm-to-camera
    orientation; translation is the wrist position in the camera frame (mm).
    """

    angles: np.ndarray = field(default_factory=lambda: np.zeros(NUM_ANGLES))
    shape: HandShape = field(default_factory=HandShape)
    rotation: np.ndarray = field(default_factory=lambda: np.zeros(3))
    translation: np.ndarray = field(default_factory=lambda: np.array([0.0, 70.0, 450.0]))
    handedness: str = "right"

    def __post_init__(self) -> None:
        if self.handedness not in ("right", "left"):
            raise ValueError(f"handedness must be 'right' or 'left', not {self.handedness!r}")
        # Own read-only copies: a frozen pose must not change when the caller's array does.
        for name, size in (("angles", NUM_ANGLES), ("rotation", 3), ("translation", 3)):
            value = np.array(getattr(self, name), dtype=np.float64).reshape(size)
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    def with_angles(self, angles: np.ndarray) -> "HandPose":
        return replace(self, angles=clamp_angles(np.asarray(angles, dtype=np.float64)))

    def joints(self) -> np.ndarray:
        """The 21 joints (mm, camera frame)."""
        return forward_kinematics(self)


def pose_to_params(pose: HandPose) -> np.ndarray:
    """Flatten a pose into the optimiser's vector: rotation, translation, angles, shape."""
    s = pose.shape
    return np.concatenate([pose.rotation, pose.translation, pose.angles, [s.size], s.finger_scales])


def params_to_pose(params: np.ndarray, template: HandPose) -> HandPose:
    """Inverse of pose_to_params, keeping handedness and thickness from `template`."""
    p = np.asarray(params, dtype=np.float64)
    shape = HandShape(size=float(p[PARAM_SIZE]), finger_scales=tuple(float(v) for v in p[PARAM_FINGER_SCALES]),
                      thickness=template.shape.thickness)
    return HandPose(angles=p[PARAM_ANGLES], shape=shape, rotation=p[PARAM_ROTATION],
                    translation=p[PARAM_TRANSLATION], handedness=template.handedness)


def rotvec_to_matrix(rotvec: np.ndarray) -> np.ndarray:
    """Rodrigues' formula for (..., 3) axis-angle vectors -> (..., 3, 3) rotation matrices."""
    r = np.asarray(rotvec, dtype=np.float64)
    theta = np.linalg.norm(r, axis=-1, keepdims=True)
    safe = np.where(theta < 1e-12, 1.0, theta)
    k = r / safe
    kx, ky, kz = k[..., 0], k[..., 1], k[..., 2]
    K = _matrices(kx.shape, {(0, 1): -kz, (0, 2): ky, (1, 0): kz, (1, 2): -kx, (2, 0): -ky, (2, 1): kx})
    s = np.sin(theta)[..., None]
    c = np.cos(theta)[..., None]
    eye = np.broadcast_to(np.eye(3), K.shape)
    return eye + s * K + (1.0 - c) * (K @ K)


def matrix_to_rotvec(R: np.ndarray) -> np.ndarray:
    """Inverse of rotvec_to_matrix for one (3, 3) rotation matrix."""
    R = np.asarray(R, dtype=np.float64)
    w = np.array([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]])
    # atan2 of (2 sin, 2 cos) keeps full precision at both small angles and near 180 deg.
    theta = np.arctan2(np.linalg.norm(w), np.trace(R) - 1.0)
    if theta < 1e-12:
        return w / 2.0
    if np.pi - theta < 1e-6:
        # Near 180 deg the antisymmetric part vanishes; take the axis from R + I.
        M = (R + np.eye(3)) / 2.0
        axis = np.sqrt(np.clip(np.diag(M), 0.0, None))
        i = int(np.argmax(axis))
        axis = M[:, i] / np.sqrt(M[i, i])
        return axis / np.linalg.norm(axis) * theta
    return w / np.linalg.norm(w) * theta


def _matrices(shape: tuple[int, ...], entries: dict[tuple[int, int], np.ndarray | float]) -> np.ndarray:
    """(*shape, 3, 3) float64 matrices, 0 except `entries` {(row, col): values}. Why not
    np.stack of rows: a random pose's FK built its rotations from 30 stacks, half its time."""
    m = np.zeros((*shape, 3, 3))
    for (i, j), values in entries.items():
        m[..., i, j] = values
    return m


def _rot_x(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return _matrices(np.shape(a), {(0, 0): 1.0, (1, 1): c, (1, 2): -s, (2, 1): s, (2, 2): c})


def _rot_y(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return _matrices(np.shape(a), {(0, 0): c, (0, 2): s, (1, 1): 1.0, (2, 0): -s, (2, 2): c})


def _rot_z(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return _matrices(np.shape(a), {(0, 0): c, (0, 1): -s, (1, 0): s, (1, 1): c, (2, 2): 1.0})


def _thumb_rest_frame() -> np.ndarray:
    """Columns: flexion axis, bone direction, curl direction (right-handed)."""
    d = THUMB_REST_DIRECTION / np.linalg.norm(THUMB_REST_DIRECTION)
    c = THUMB_CURL_HINT - (THUMB_CURL_HINT @ d) * d
    c /= np.linalg.norm(c)
    return np.stack([np.cross(d, c), d, c], axis=1)


_REST_FRAMES = np.stack(
    [_thumb_rest_frame()] + [_rot_z(np.deg2rad(-FINGER_FAN_DEG[f])) for f in FINGERS[1:]]
)  # (5, 3, 3)
_BASES = np.array([BASE_POSITIONS[f] for f in FINGERS]) * HAND_LENGTH_MM  # (5, 3)
_SEGMENTS = np.array([SEGMENT_RATIOS[f] for f in FINGERS]) * HAND_LENGTH_MM  # (5, 3)


def forward_kinematics_params(params: np.ndarray, handedness: str = "right") -> np.ndarray:
    """Batched FK: (..., 32) parameter vectors -> (..., 21, 3) joints in mm (camera frame).

    Vectorised over the batch so optimisers can evaluate a finite-difference Jacobian in one call.
    """
    if handedness not in ("right", "left"):
        raise ValueError(f"handedness must be 'right' or 'left', not {handedness!r}")
    p = np.asarray(params, dtype=np.float64)
    batch = p.shape[:-1]
    rot, trans = p[..., PARAM_ROTATION], p[..., PARAM_TRANSLATION]
    ang = p[..., PARAM_ANGLES].reshape(*batch, len(FINGERS), ANGLES_PER_FINGER)
    size = p[..., PARAM_SIZE][..., None, None]
    scales = p[..., PARAM_FINGER_SCALES][..., :, None]

    flex_base, abd, flex_mid, flex_tip = (ang[..., k] for k in range(4))
    twist = np.zeros_like(flex_base)
    twist[..., 0] = THUMB_OPPOSITION_TWIST * flex_base[..., 0]
    R1 = _REST_FRAMES @ _rot_z(-abd) @ _rot_x(flex_base) @ _rot_y(twist)  # (..., 5, 3, 3)
    R2 = R1 @ _rot_x(flex_mid)
    R3 = R2 @ _rot_x(flex_tip)

    seg = _SEGMENTS * scales * size  # (..., 5, 3)
    base = _BASES * size  # (..., 5, 3)
    p1 = base + R1[..., :, 1] * seg[..., 0:1]
    p2 = p1 + R2[..., :, 1] * seg[..., 1:2]
    p3 = p2 + R3[..., :, 1] * seg[..., 2:3]

    local = np.zeros((*batch, NUM_JOINTS, 3))
    chains = np.stack([base, p1, p2, p3], axis=-2)  # (..., 5, 4, 3)
    for i, finger in enumerate(FINGERS):
        local[..., list(FINGER_JOINTS[finger]), :] = chains[..., i, :, :]
    if handedness == "left":
        local = local @ MIRROR_X
    world_rot = rotvec_to_matrix(rot) @ CANONICAL_TO_CAMERA  # (..., 3, 3)
    return local @ np.swapaxes(world_rot, -1, -2) + trans[..., None, :]


def forward_kinematics(pose: HandPose) -> np.ndarray:
    """The 21 joints (mm, camera frame) of one pose."""
    return forward_kinematics_params(pose_to_params(pose), pose.handedness)


def hand_frame(pose: HandPose) -> np.ndarray:
    """(3, 3) columns: the hand's radial, distal and palmar axes in the camera frame."""
    R = rotvec_to_matrix(pose.rotation) @ CANONICAL_TO_CAMERA
    return R @ MIRROR_X if pose.handedness == "left" else R
