"""Fit the hand model (angles, shape, global transform) to 21 measured 3D joints.

Used to bring dataset labels and imported skeletons into the model's parameters. The palm is
rigid in the model, so a similarity transform (Umeyama) between the canonical palm and the
measured palm gives rotation, wrist position and size in closed form. The fingers are then
fitted with the global transform held (they are independent of each other there, so several
starting curls are tried and each finger keeps its best), and a final Levenberg-Marquardt pass
refines all 32 parameters together within the joint limits and shape ranges.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.hand.limits import LOWER, UPPER
from engine.hand.lm import LMSettings, projected_lm
from engine.hand.model import (
    ANGLES_PER_FINGER,
    NUM_PARAMS,
    PARAM_ANGLES,
    PARAM_FINGER_SCALES,
    PARAM_ROTATION,
    PARAM_SIZE,
    PARAM_TRANSLATION,
    HandPose,
    HandShape,
    forward_kinematics_params,
    matrix_to_rotvec,
    params_to_pose,
    rotvec_to_matrix,
)
from engine.hand.skeleton import FINGER_JOINTS, FINGERS, NUM_JOINTS

# Layout of the 32-parameter vector, as defined by engine.hand.model.
ROTATION, TRANSLATION, ANGLES = PARAM_ROTATION, PARAM_TRANSLATION, PARAM_ANGLES
SIZE, FINGER_SCALES = PARAM_SIZE, PARAM_FINGER_SCALES

# Shape ranges: an engineering choice, not anthropometry. Wide enough for children's hands and
# other datasets' skeleton proportions, narrow enough that a fit to a bad skeleton cannot run away.
SIZE_RANGE = (0.6, 1.5)
FINGER_SCALE_RANGE = (0.7, 1.4)

# Wrist, thumb CMC and the four MCPs: the joints that move rigidly with the palm.
PALM_JOINTS = (0,) + tuple(FINGER_JOINTS[f][0] for f in FINGERS)
MIN_JOINTS = 3  # a similarity transform needs three points

# Starting curls for the finger stage (fraction of each angle's range from LOWER to UPPER;
# abduction always starts at zero): open, half-curled and nearly closed.
START_CURLS = (0.25, 0.5, 0.8)

# Levenberg-Marquardt tuning. A weak pull (mm per unit of parameter) towards the starting values
# keeps parameters that no measured joint constrains (e.g. a masked tip's flexion) where they are.
PRIOR_WEIGHT = 1e-2
FD_STEP = 1e-6
FINGER_ITERATIONS = 40
FINAL_ITERATIONS = 60
# Added to the damped diagonal so a degenerate input (all joints at one point) stays solvable.
DIAGONAL_FLOOR = 1e-9
STEP_TOLERANCE = 1e-8
RELATIVE_COST_TOLERANCE = 1e-10


@dataclass(frozen=True)
class FitResult:
    """The fitted pose and how far its joints land from the measured ones (mm, NaN if missing)."""

    pose: HandPose
    mean_error_mm: float
    per_joint_error_mm: np.ndarray


def fit_pose(joints: np.ndarray, handedness: str = "right", mask: np.ndarray | None = None,
             thickness: float = 1.0) -> FitResult:
    """Fit angles, shape and global transform to measured joints ((21, 3) mm, camera frame).

    `mask` marks the joints that exist; without one, rows containing NaN are treated as missing.
    """
    target, mask = _checked(joints, mask)
    lower, upper = _bounds()
    x = _initial_params(target, mask, handedness)
    free = np.zeros(NUM_PARAMS, dtype=bool)
    free[ANGLES] = True
    free[FINGER_SCALES] = True
    x = _best_fingers(x, free, lower, upper, target, mask, handedness)
    x = _levenberg_marquardt(x, np.ones(NUM_PARAMS, dtype=bool), lower, upper, target, mask,
                             handedness, FINAL_ITERATIONS)
    template = HandPose(shape=HandShape(thickness=thickness), handedness=handedness)
    pose = params_to_pose(x, template)
    errors = np.linalg.norm(forward_kinematics_params(x, handedness) - target, axis=-1)
    errors[~mask] = np.nan
    return FitResult(pose=pose, mean_error_mm=float(np.nanmean(errors)), per_joint_error_mm=errors)


def _checked(joints: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Validate the input; missing joints get zeros so they stay finite (they carry no weight)."""
    target = np.asarray(joints, dtype=np.float64)
    if target.shape != (NUM_JOINTS, 3):
        raise ValueError(f"joints must have shape ({NUM_JOINTS}, 3), not {target.shape}")
    finite = np.all(np.isfinite(target), axis=1)
    if mask is None:
        mask = finite
    else:
        mask = np.asarray(mask, dtype=bool).reshape(NUM_JOINTS)
        if np.any(mask & ~finite):
            bad = np.flatnonzero(mask & ~finite).tolist()
            raise ValueError(f"joints {bad} are marked present in the mask but are not finite")
    if mask.sum() < MIN_JOINTS:
        raise ValueError(f"need at least {MIN_JOINTS} measured joints, got {int(mask.sum())}")
    return np.where(mask[:, None], target, 0.0), mask


def _bounds() -> tuple[np.ndarray, np.ndarray]:
    lower = np.full(NUM_PARAMS, -np.inf)
    upper = np.full(NUM_PARAMS, np.inf)
    lower[ANGLES], upper[ANGLES] = LOWER, UPPER
    lower[SIZE], upper[SIZE] = SIZE_RANGE
    lower[FINGER_SCALES], upper[FINGER_SCALES] = FINGER_SCALE_RANGE
    return lower, upper


def _canonical_params() -> np.ndarray:
    x = np.zeros(NUM_PARAMS)
    x[SIZE] = 1.0
    x[FINGER_SCALES] = 1.0
    return x


def _initial_params(target: np.ndarray, mask: np.ndarray, handedness: str) -> np.ndarray:
    """Rotation, wrist and size from a similarity between the canonical and measured palm."""
    x = _canonical_params()
    canonical = forward_kinematics_params(x, handedness)  # zero rotation and translation
    palm = np.zeros(NUM_JOINTS, dtype=bool)
    palm[list(PALM_JOINTS)] = True
    use = mask & palm if np.sum(mask & palm) >= MIN_JOINTS else mask
    rotation, scale, translation = _similarity(canonical[use], target[use])
    x[ROTATION] = matrix_to_rotvec(rotation)
    x[TRANSLATION] = translation
    x[SIZE] = np.clip(scale, *SIZE_RANGE)
    return x


def _similarity(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Umeyama (1991): R, s, t minimising |s R source + t - target|^2, with R a proper rotation."""
    mu_s, mu_t = source.mean(axis=0), target.mean(axis=0)
    src, dst = source - mu_s, target - mu_t
    u, sigma, vt = np.linalg.svd(dst.T @ src / len(source))
    flip = np.diag([1.0, 1.0, -1.0 if np.linalg.det(u @ vt) < 0.0 else 1.0])  # no reflections
    rotation = u @ flip @ vt
    variance = np.mean(np.sum(src**2, axis=1))
    scale = float(np.trace(np.diag(sigma) @ flip) / variance)
    return rotation, scale, mu_t - scale * rotation @ mu_s


def _best_fingers(x: np.ndarray, free: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                  target: np.ndarray, mask: np.ndarray, handedness: str) -> np.ndarray:
    """Fit the fingers from each starting curl; every finger keeps its own best attempt.

    With the palm held the fingers do not interact, so mixing attempts loses nothing.
    """
    best = x.copy()
    best_error = np.full(len(FINGERS), np.inf)
    for curl in START_CURLS:
        start = x.copy()
        start[ANGLES] = LOWER + curl * (UPPER - LOWER)
        start[ANGLES][1::ANGLES_PER_FINGER] = 0.0  # abduction
        fitted = _levenberg_marquardt(start, free, lower, upper, target, mask, handedness,
                                      FINGER_ITERATIONS)
        squared = np.sum((forward_kinematics_params(fitted, handedness) - target) ** 2, axis=-1)
        for f, finger in enumerate(FINGERS):
            chain = list(FINGER_JOINTS[finger])
            error = float(np.sum(squared[chain] * mask[chain]))
            if error < best_error[f]:
                best_error[f] = error
                own = list(range(ANGLES.start + f * ANGLES_PER_FINGER,
                                 ANGLES.start + (f + 1) * ANGLES_PER_FINGER))
                own.append(FINGER_SCALES.start + f)
                best[own] = fitted[own]
    return best


def _with_rotation_steps(x: np.ndarray, rotation_step: np.ndarray) -> np.ndarray:
    """Compose (..., 3) rotation increments, applied in the camera frame, onto x's rotation."""
    turned = rotvec_to_matrix(rotation_step) @ rotvec_to_matrix(x[ROTATION])
    rotations = turned.reshape(-1, 3, 3)
    return np.array([matrix_to_rotvec(r) for r in rotations]).reshape(rotation_step.shape)


def _levenberg_marquardt(x: np.ndarray, free: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                         target: np.ndarray, mask: np.ndarray, handedness: str,
                         iterations: int) -> np.ndarray:
    """Projected LM over the `free` parameters, with a forward-difference Jacobian.

    The rotation (free as a whole or not at all) is updated by composing small camera-frame turns,
    which stays well conditioned at any orientation (an axis-angle vector near pi is not).
    """
    columns = np.flatnonzero(free)
    n = len(columns)
    rotation_columns = np.isin(columns, np.arange(ROTATION.start, ROTATION.stop))
    rotating = bool(free[ROTATION].all())
    rotation_rows = 1 + np.flatnonzero(rotation_columns)  # batch rows that perturb the rotation
    rotation_steps = FD_STEP * np.eye(3)
    prior = x[columns].copy()
    prior_rows = PRIOR_WEIGHT * np.diag(~rotation_columns * 1.0)
    lo, hi = lower[columns], upper[columns]

    def full(values: np.ndarray) -> np.ndarray:
        point = x.copy()
        point[columns] = values
        return point

    def evaluate(values: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        point = full(values)
        batch = np.tile(point, (n + 1, 1))
        batch[np.arange(1, n + 1), columns] += FD_STEP
        if rotating:
            batch[rotation_rows, ROTATION] = _with_rotation_steps(point, rotation_steps)
        joints = forward_kinematics_params(batch, handedness)[:, mask]  # (n + 1, m, 3)
        residual = (joints[0] - target[mask]).ravel()
        jacobian = (joints[1:] - joints[0]).reshape(n, -1).T / FD_STEP
        prior_residual = PRIOR_WEIGHT * (values - prior)
        prior_residual[rotation_columns] = 0.0
        residual = np.concatenate([residual, prior_residual])
        return float(residual @ residual), residual, np.vstack([jacobian, prior_rows])

    def propose(values: np.ndarray, step: np.ndarray) -> np.ndarray:
        trial = np.clip(values + step, lo, hi)
        if rotating:
            trial[rotation_columns] = _with_rotation_steps(full(values), step[rotation_columns])
        return trial

    settings = LMSettings(iterations=iterations, step_tolerance=STEP_TOLERANCE,
                          relative_tolerance=RELATIVE_COST_TOLERANCE, diagonal_floor=DIAGONAL_FLOOR)
    return full(projected_lm(evaluate, x[columns].copy(), lo, hi, settings, propose))


def complete_joints(joints: np.ndarray, mask: np.ndarray, handedness: str = "right") -> np.ndarray:
    """The labelled joints unchanged, the missing ones taken from the model fitted to them.

    For inputs that need a whole skeleton (the generator draws every bone); the labels
    themselves are never overwritten, so metrics against them stay honest.
    """
    j = np.asarray(joints, dtype=np.float64)
    m = np.asarray(mask, dtype=bool)
    if m.all():
        return j.copy()
    fitted = fit_pose(j, handedness, mask=m).pose.joints()
    return np.where(m[:, None], j, fitted)
