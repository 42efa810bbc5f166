"""Inverse kinematics for interactive joint drags: move one joint, leave the rest of the hand.

Which parameters a drag may change depends on the joint (the rest stay bit-for-bit identical):
  wrist            the whole hand translates; the wrist lands exactly on the target.
  base joints      (thumb CMC, finger MCPs) are fixed in the palm, so the hand turns about the
                   wrist: the smallest rotation that points the wrist-to-joint ray at the target.
  any other joint  only the angles of its own finger that precede it in the chain change
                   (PIP: base flexion + abduction; DIP: + middle flexion; tip: + tip flexion),
                   solved by projected Levenberg-Marquardt within the anatomical limits.
Shape and handedness are never changed.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from engine.hand.limits import LOWER, UPPER, angles_at_limit
from engine.hand.lm import LMSettings, projected_lm
from engine.hand.model import (
    ANGLES_PER_FINGER,
    PARAM_ANGLES,
    HandPose,
    forward_kinematics,
    forward_kinematics_params,
    matrix_to_rotvec,
    pose_to_params,
    rotvec_to_matrix,
)
from engine.hand.skeleton import FINGER_JOINTS, FINGERS, NUM_JOINTS

WRIST = 0
# The hand centre that rotate_hand turns about by default: the middle finger's MCP.
HAND_CENTRE_JOINT = FINGER_JOINTS["middle"][0]

ANGLE_OFFSET = PARAM_ANGLES.start  # first angle in the 32-parameter vector

# Angle k of a finger (base flexion, base abduction, middle flexion, tip flexion) rotates the bone
# whose distal ("child") joint is FINGER_JOINTS[finger][ANGLE_TO_CHAIN_INDEX[k]]: the base DOFs
# swing the proximal bone (moving PIP / thumb MCP), middle flexion moves DIP / thumb IP, tip
# flexion moves the tip. That is the joint a user drags to change the angle, so it is the one
# flagged when the angle is at its limit.
ANGLE_TO_CHAIN_INDEX = (1, 1, 2, 3)

# Damped least squares tuning. The rest weight (mm of joint error per radian of change) keeps a
# drag smooth and resolves the tip's redundant DOF towards the current angles; at 0.5 mm/rad it
# leaves a reachable target missed by about 0.01 mm after a 1 rad move (measured).
REST_WEIGHT_MM_PER_RAD = 0.5
FD_STEP_RAD = 1e-6
LM = LMSettings(iterations=30, step_tolerance=1e-6, absolute_tolerance=1e-6)  # rad, mm^2
# Below this wrist-to-target distance (mm) a base-joint drag has no direction to turn towards.
MIN_DIRECTION_MM = 1e-9
# Sine of the angle below which two directions count as parallel (no axis to turn about).
PARALLEL_SINE = 1e-12

# (finger index, position along its chain) of every joint but the wrist.
_CHAIN_POSITION: dict[int, tuple[int, int]] = {
    joint: (f, k)
    for f, finger in enumerate(FINGERS)
    for k, joint in enumerate(FINGER_JOINTS[finger])
}


def move_joint(pose: HandPose, joint: int, target: np.ndarray) -> HandPose:
    """Move `joint` as close to `target` (mm, camera frame) as the limits allow."""
    if not 0 <= joint < NUM_JOINTS:
        raise ValueError(f"joint must be in 0..{NUM_JOINTS - 1}, not {joint}")
    target = np.asarray(target, dtype=np.float64).reshape(3)
    if not np.all(np.isfinite(target)):
        raise ValueError(f"target must be finite, got {target}")
    if joint == WRIST:
        return replace(pose, translation=target.copy())
    finger, chain_index = _CHAIN_POSITION[joint]
    if chain_index == 0:
        return _turn_about_wrist(pose, joint, target)
    return _solve_finger(pose, finger, chain_index, joint, target)


def rotate_hand(pose: HandPose, rotvec: np.ndarray, pivot: np.ndarray | None = None) -> HandPose:
    """Turn the whole hand by `rotvec` (axis-angle, camera frame) about `pivot`, which stays put.

    The pivot defaults to the hand centre (middle MCP) so a trackball drag spins the hand in place.
    """
    turn = rotvec_to_matrix(np.asarray(rotvec, dtype=np.float64).reshape(3))
    if pivot is None:
        pivot = forward_kinematics(pose)[HAND_CENTRE_JOINT]
    pivot = np.asarray(pivot, dtype=np.float64).reshape(3)
    rotation = matrix_to_rotvec(turn @ rotvec_to_matrix(pose.rotation))
    translation = pivot + turn @ (pose.translation - pivot)
    return replace(pose, rotation=rotation, translation=translation)


def joints_at_limit(pose: HandPose) -> set[int]:
    """Joints moved by an angle that touches its limit (see ANGLE_TO_CHAIN_INDEX)."""
    at_limit = angles_at_limit(pose.angles)
    return {
        FINGER_JOINTS[finger][ANGLE_TO_CHAIN_INDEX[k]]
        for f, finger in enumerate(FINGERS)
        for k in range(ANGLES_PER_FINGER)
        if at_limit[f * ANGLES_PER_FINGER + k]
    }


def _turn_about_wrist(pose: HandPose, joint: int, target: np.ndarray) -> HandPose:
    """Smallest rotation about the wrist that puts `joint` on the wrist-to-target ray.

    This is the exact optimum of a rotation-only fit (the joint's distance to the wrist is fixed),
    and the smallest such rotation keeps the hand from spinning about that ray.
    """
    joints = forward_kinematics(pose)
    current = joints[joint] - joints[WRIST]
    wanted = target - joints[WRIST]
    if np.linalg.norm(wanted) < MIN_DIRECTION_MM or np.linalg.norm(current) < MIN_DIRECTION_MM:
        return pose
    current_dir = current / np.linalg.norm(current)
    wanted_dir = wanted / np.linalg.norm(wanted)
    axis = np.cross(current_dir, wanted_dir)
    angle = np.arctan2(np.linalg.norm(axis), current_dir @ wanted_dir)
    if np.linalg.norm(axis) < PARALLEL_SINE:
        if current_dir @ wanted_dir > 0.0:
            return pose
        # Opposite directions: half a turn about any axis perpendicular to the ray.
        axis = np.cross(current_dir, np.eye(3)[int(np.argmin(np.abs(current_dir)))])
    turn = rotvec_to_matrix(axis / np.linalg.norm(axis) * angle)
    return replace(pose, rotation=matrix_to_rotvec(turn @ rotvec_to_matrix(pose.rotation)))


def _solve_finger(pose: HandPose, finger: int, chain_index: int, joint: int,
                  target: np.ndarray) -> HandPose:
    """Projected Levenberg-Marquardt on the finger angles that precede `joint` in its chain.

    The residual is the joint's miss plus a weak pull towards the current angles (rows of
    REST_WEIGHT * (x - start)), which keeps drags smooth and settles a redundant DOF.
    """
    first = finger * ANGLES_PER_FINGER
    idx = np.arange(first, first + chain_index + 1)  # PIP: 2 angles, DIP: 3, tip: 4
    start = np.clip(pose.angles[idx], LOWER[idx], UPPER[idx])
    batch = np.tile(pose_to_params(pose), (len(idx) + 1, 1))
    columns = ANGLE_OFFSET + idx
    rest_rows = REST_WEIGHT_MM_PER_RAD * np.eye(len(idx))

    def evaluate(x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        batch[:, columns] = x
        batch[np.arange(1, len(idx) + 1), columns] += FD_STEP_RAD
        positions = forward_kinematics_params(batch, pose.handedness)[:, joint]
        residual = np.concatenate([positions[0] - target, REST_WEIGHT_MM_PER_RAD * (x - start)])
        jacobian = np.vstack([(positions[1:] - positions[0]).T / FD_STEP_RAD, rest_rows])
        return float(residual @ residual), residual, jacobian

    x = projected_lm(evaluate, start, LOWER[idx], UPPER[idx], LM)
    angles = pose.angles.copy()
    angles[idx] = x
    return replace(pose, angles=angles)
