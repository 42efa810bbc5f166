"""Read Intel RealSense's tracked-pose bank (hand_tracking_samples, Apache-2.0) as 21 joints.

The bank (`animbank.pose`) stores each pose as 17 rigid bodies x (position m, quaternion); the
model (`model_hand.json`) joins body rbi0 to rbi1 at p0 (rbi0's frame) and p1 (rbi1's frame).
What was verified on all 2,336 poses (tests/test_pose_bank.py re-checks it):
  * quaternions are stored x, y, z, w (the repo's C++ math library's order): with that order the
    two sides of every joint meet to ~1 mm; read as w, x, y, z they miss by ~40 mm;
  * positions are body *centres of mass*, not joint points: the distance between neighbouring
    bodies' positions varies across the bank (standard deviation up to 9 mm; a rigid bone's
    would not), and the joint points line up only after subtracting each body's centre from
    p0/p1. The centres are not stored; they are solved here by least squares from the bank
    itself (joint i's two sides must meet in every pose), which leaves residuals of 0.05 mm
    median, 1.3 mm at most, and bone lengths that vary by under 0.06 mm (standard deviation)
    across the bank. The cages' vertex means agree with the centres to a few mm only;
  * the hand is a right hand: fitted as a right hand the model misses by 4-6 mm, as a left one
    by ~22 mm.
Joints: wrist = the forearm-palm joint; each finger's MCP/PIP/DIP = the origins of its three
bodies; thumb CMC/MCP/IP = the origins of bodies 2, 3, 4; tips = the far end of the last body's
cage along its long (+z) axis. Units become mm; the frame is already camera-like (x right,
y down, z forward).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from engine.hand.skeleton import NUM_JOINTS

NUM_BODIES = 17
NUMBERS_PER_BODY = 7  # x, y, z (m), qx, qy, qz, qw
M_TO_MM = 1000.0
FOREARM, PALM = 0, 1
# Body chains by the model's joint tree (README of the bank): thumb, index, middle, ring, little.
FINGER_BODIES = ((2, 3, 4), (5, 6, 7), (8, 9, 10), (11, 12, 13), (14, 15, 16))


def quaternion_xyzw_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) from unit quaternions stored (..., [x, y, z, w])."""
    x, y, z, w = np.moveaxis(q / np.linalg.norm(q, axis=-1, keepdims=True), -1, 0)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
    ], -2)


def read_bank(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(positions (N, 17, 3) mm, rotations (N, 17, 3, 3)); ValueError "FILE:LINE: problem"."""
    rows = []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            values = np.array(line.split(), dtype=np.float64)
        except ValueError:
            raise ValueError(f"{path}:{no}: not numbers") from None
        if values.size != NUM_BODIES * NUMBERS_PER_BODY or not np.all(np.isfinite(values)):
            raise ValueError(f"{path}:{no}: expected {NUM_BODIES * NUMBERS_PER_BODY} finite numbers, "
                             f"got {values.size}")
        rows.append(values.reshape(NUM_BODIES, NUMBERS_PER_BODY))
    if not rows:
        raise ValueError(f"{path}: no poses")
    bank = np.stack(rows)
    return bank[..., :3] * M_TO_MM, quaternion_xyzw_to_matrix(bank[..., 3:])


def read_model(path: Path) -> dict:
    """The model's joints (p0/p1 in mm) and cages (vertices in mm)."""
    model = json.loads(path.read_text(encoding="utf-8"))
    joints = [(int(j["rbi0"]), int(j["rbi1"]), np.array(j["p0"]) * M_TO_MM, np.array(j["p1"]) * M_TO_MM)
              for j in model["joints"]]
    cages = [np.array(c["verts"], dtype=np.float64) * M_TO_MM for c in model["controlcages"]]
    return {"joints": joints, "cages": cages}


def solve_centres(positions: np.ndarray, rotations: np.ndarray, joints: list) -> tuple[np.ndarray, np.ndarray]:
    """Each body's centre in its own frame (17, 3) and the per-pose joint residuals (N, J) mm.

    Joint (a, b, p0, p1) holds in pose n when pos_a + R_a (p0 - c_a) = pos_b + R_b (p1 - c_b),
    which is linear in the centres c: R_a c_a - R_b c_b = pos_a - pos_b + R_a p0 - R_b p1.
    """
    n = len(positions)
    A = np.zeros((n, len(joints), 3, NUM_BODIES, 3))
    rhs = np.zeros((n, len(joints), 3))
    for k, (a, b, p0, p1) in enumerate(joints):
        A[:, k, :, a] = rotations[:, a]
        A[:, k, :, b] = -rotations[:, b]
        rhs[:, k] = positions[:, a] - positions[:, b] + rotations[:, a] @ p0 - rotations[:, b] @ p1
    centres, *_ = np.linalg.lstsq(A.reshape(-1, NUM_BODIES * 3), rhs.reshape(-1), rcond=None)
    centres = centres.reshape(NUM_BODIES, 3)
    residual = (A.reshape(n, len(joints), 3, -1) @ centres.reshape(-1)) - rhs
    return centres, np.linalg.norm(residual, axis=-1)


def bank_joints(positions: np.ndarray, rotations: np.ndarray, model: dict) -> tuple[np.ndarray, np.ndarray]:
    """(joints (N, 21, 3) mm in MediaPipe order, joint residuals (N, J) mm); see the docstring."""
    centres, residual = solve_centres(positions, rotations, model["joints"])

    def point(body: int, local: np.ndarray) -> np.ndarray:
        return positions[:, body] + rotations[:, body] @ (local - centres[body])

    child_joint = {b: p1 for _, b, _, p1 in model["joints"]}
    out = np.zeros((len(positions), NUM_JOINTS, 3))
    out[:, 0] = point(PALM, child_joint[PALM])
    for f, bodies in enumerate(FINGER_BODIES):
        for k, body in enumerate(bodies):
            out[:, 1 + 4 * f + k] = point(body, child_joint[body])
        last = bodies[-1]
        tip = np.array([0.0, 0.0, model["cages"][last][:, 2].max()])
        out[:, 4 + 4 * f] = point(last, tip)
    return out, residual
