"""Slider-sized controls over a HandPose: per-finger curl and spread, global rotation, distance.

A user thinks "bend the index", "fan the fingers", "turn the hand 30 degrees", not in the
model's 20 anatomical angles; these pure functions map between the two. Every setter returns a
new pose inside the joint limits and touches nothing but what it names.

Curl (0 straight .. 1 fully bent) is the shared fraction of a finger's three flexion angles
(base, middle, tip), each between max(lower limit, 0) and its upper limit: real fingers couple
PIP and DIP flexion (Lin, Wu & Huang 2000), so one number per finger is how people pose them
(the same coupling engine.hand.sampler draws from). Reading a pose whose flexions differ gives
their mean fraction.

Spread (-1 .. 1) is the base abduction, 0 at the neutral angle, +-1 at its limits, signed so
that +1 fans every finger away from the middle finger (index and middle towards the thumb, ring
and little away from it, the thumb away from the index): all sliders at +1 is a spread hand.

Global rotation is three Euler angles in degrees about the depth camera's fixed x, y, z axes
(R = Rz @ Ry @ Rx), relative to the rest orientation (palm to the camera, fingers up). Changing
it turns the hand about its centre (middle MCP), so the hand spins in place.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from engine.hand.ik import HAND_CENTRE_JOINT, rotate_hand
from engine.hand.limits import LOWER, UPPER, clamp_angles
from engine.hand.model import (
    HandPose,
    forward_kinematics,
    matrix_to_rotvec,
    rotvec_to_matrix,
)
from engine.hand.skeleton import FINGERS

ANGLES_PER_FINGER = 4
FLEXION_DOFS = (0, 2, 3)  # base, middle and tip flexion within a finger's four angles
ABDUCTION_DOF = 1
# +1 where spreading the hand means positive abduction (engine.hand.limits' sign convention).
SPREAD_SIGN: dict[str, float] = {"thumb": 1.0, "index": 1.0, "middle": 1.0, "ring": -1.0,
                                 "little": -1.0}
# Below this cosine of the middle Euler angle the x and z axes line up (gimbal lock).
_GIMBAL_EPS = 1e-9


def _finger_index(finger: str) -> int:
    if finger not in FINGERS:
        raise ValueError(f"unknown finger {finger!r}; choose from {', '.join(FINGERS)}")
    return FINGERS.index(finger)


def _flexion_slots(finger: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Angle indices of a finger's flexions and the (start, end) that curl 0 and 1 map to."""
    base = ANGLES_PER_FINGER * _finger_index(finger)
    idx = np.array([base + k for k in FLEXION_DOFS])
    return idx, np.maximum(LOWER[idx], 0.0), UPPER[idx]


def finger_curl(pose: HandPose, finger: str) -> float:
    """0 (straight) .. 1 (fully bent): the mean flexion fraction of the finger's three joints."""
    idx, start, end = _flexion_slots(finger)
    fraction = (pose.angles[idx] - start) / (end - start)
    return float(np.clip(fraction.mean(), 0.0, 1.0))


def set_finger_curl(pose: HandPose, finger: str, curl: float) -> HandPose:
    """Bend all three flexions of `finger` to the same fraction `curl` (clipped to 0..1)."""
    idx, start, end = _flexion_slots(finger)
    angles = pose.angles.copy()
    angles[idx] = start + float(np.clip(curl, 0.0, 1.0)) * (end - start)
    return replace(pose, angles=clamp_angles(angles))


def _abduction_slot(finger: str) -> tuple[int, float]:
    return ANGLES_PER_FINGER * _finger_index(finger) + ABDUCTION_DOF, SPREAD_SIGN[finger]


def finger_spread(pose: HandPose, finger: str) -> float:
    """-1 .. 1: the finger's abduction as a fraction of its limit on that side (see module doc)."""
    i, sign = _abduction_slot(finger)
    a = sign * pose.angles[i]
    lo, hi = sorted((sign * LOWER[i], sign * UPPER[i]))
    value = a / hi if a >= 0 else -a / lo
    return float(np.clip(value, -1.0, 1.0))


def set_finger_spread(pose: HandPose, finger: str, spread: float) -> HandPose:
    """Set the finger's abduction from a spread in -1 .. 1 (clipped)."""
    i, sign = _abduction_slot(finger)
    s = float(np.clip(spread, -1.0, 1.0))
    lo, hi = sorted((sign * LOWER[i], sign * UPPER[i]))
    angles = pose.angles.copy()
    angles[i] = sign * (s * hi if s >= 0 else -s * lo)
    return replace(pose, angles=clamp_angles(angles))


def euler_to_matrix(euler_deg) -> np.ndarray:
    """R = Rz @ Ry @ Rx for angles (x, y, z) in degrees about fixed axes."""
    x, y, z = np.deg2rad(np.asarray(euler_deg, dtype=np.float64).reshape(3))
    return (rotvec_to_matrix(np.array([0.0, 0.0, z])) @ rotvec_to_matrix(np.array([0.0, y, 0.0]))
            @ rotvec_to_matrix(np.array([x, 0.0, 0.0])))


def matrix_to_euler(R: np.ndarray) -> np.ndarray:
    """Inverse of euler_to_matrix: degrees (x, y, z), y in [-90, 90]; x = 0 at gimbal lock."""
    R = np.asarray(R, dtype=np.float64)
    y = np.arcsin(np.clip(-R[2, 0], -1.0, 1.0))
    if np.hypot(R[2, 1], R[2, 2]) > _GIMBAL_EPS:
        x = np.arctan2(R[2, 1], R[2, 2])
        z = np.arctan2(R[1, 0], R[0, 0])
    else:  # x and z turn about the same axis: put it all in z
        x = 0.0
        z = np.arctan2(-R[0, 1], R[1, 1])
    return np.rad2deg(np.array([x, y, z]))


def global_rotation_deg(pose: HandPose) -> np.ndarray:
    """The hand's orientation as Euler degrees (x, y, z) about the camera axes."""
    return matrix_to_euler(rotvec_to_matrix(pose.rotation))


def set_global_rotation_deg(pose: HandPose, euler_deg) -> HandPose:
    """Orient the hand to Euler degrees (x, y, z), turning it about its centre (middle MCP)."""
    target = euler_to_matrix(euler_deg)
    turn = target @ rotvec_to_matrix(pose.rotation).T
    turned = rotate_hand(pose, matrix_to_rotvec(turn))
    # rotate_hand composes matrices; store the exact target so sliders read back what was set.
    return replace(turned, rotation=matrix_to_rotvec(target))


def hand_distance(pose: HandPose) -> float:
    """Depth (z, mm) of the hand centre (middle MCP): what the camera panel calls distance."""
    return float(forward_kinematics(pose)[HAND_CENTRE_JOINT][2])


def set_hand_distance(pose: HandPose, distance_mm: float) -> HandPose:
    """Slide the hand along the camera ray through its centre until the centre is at that depth,
    so it keeps its place in the image and only grows or shrinks."""
    if not distance_mm > 0:
        raise ValueError(f"distance must be positive, got {distance_mm}")
    centre = forward_kinematics(pose)[HAND_CENTRE_JOINT]
    if centre[2] <= 0:
        raise ValueError("the hand centre is behind the camera")
    moved = centre * (float(distance_mm) / centre[2])
    return replace(pose, translation=pose.translation + (moved - centre))


def reset_finger(pose: HandPose, finger: str) -> HandPose:
    """Straighten one finger: its four angles back to the neutral 0."""
    base = ANGLES_PER_FINGER * _finger_index(finger)
    angles = pose.angles.copy()
    angles[base:base + ANGLES_PER_FINGER] = 0.0
    return replace(pose, angles=angles)


def reset_hand(pose: HandPose) -> HandPose:
    """Straight fingers, rest orientation, at the same place: shape and handedness are kept."""
    straight = replace(pose, angles=np.zeros_like(pose.angles))
    return set_global_rotation_deg(straight, (0.0, 0.0, 0.0))
