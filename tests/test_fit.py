"""Fitting the model to measured joints: accuracy bar on random poses, masks, noise (its speed
is measured by `python main.py bench`, never asserted)."""
from __future__ import annotations

import logging

import numpy as np
import pytest

from engine.hand.fit import FINGER_SCALE_RANGE, SIZE_RANGE, FitResult, fit_pose
from engine.hand.limits import LOWER, UPPER, within_limits
from engine.hand.model import HandPose, HandShape, pose_to_params
from engine.hand.skeleton import NUM_JOINTS

log = logging.getLogger(__name__)

NUM_RANDOM_POSES = 30
MEAN_ERROR_BAR_MM = 2.0
NOISE_MM = 2.0


def random_pose(rng: np.random.Generator, handedness: str) -> HandPose:
    """Uniform angles within the limits, a random plausible shape, any orientation."""
    rotvec = rng.normal(size=3)
    rotvec *= rng.uniform(0.0, np.pi) / np.linalg.norm(rotvec)
    shape = HandShape(size=rng.uniform(0.85, 1.2), finger_scales=tuple(rng.uniform(0.9, 1.1, 5)))
    wrist = [rng.uniform(-100, 100), rng.uniform(-100, 100), rng.uniform(300, 800)]
    return HandPose(angles=rng.uniform(LOWER, UPPER), shape=shape, rotation=rotvec,
                    translation=wrist, handedness=handedness)


def test_random_poses_meet_the_bar() -> None:
    """Shape unknown to the fitter; half of the hands are left hands."""
    rng = np.random.default_rng(0)
    errors = []
    for i in range(NUM_RANDOM_POSES):
        handedness = ("right", "left")[i % 2]
        truth = random_pose(rng, handedness)
        result = fit_pose(truth.joints(), handedness)
        errors.append(result.mean_error_mm)
        assert within_limits(result.pose.angles, tolerance=0.0)
        assert result.pose.handedness == handedness
    errors = np.array(errors)
    log.info("fit error over %d random poses: mean %.2e mm, median %.2e mm, max %.2e mm",
             len(errors), errors.mean(), np.median(errors), errors.max())
    assert errors.mean() < MEAN_ERROR_BAR_MM


@pytest.mark.parametrize("handedness", ("right", "left"))
def test_canonical_pose_is_recovered_exactly(handedness: str) -> None:
    truth = HandPose(handedness=handedness)
    result = fit_pose(truth.joints(), handedness)
    np.testing.assert_allclose(pose_to_params(result.pose), pose_to_params(truth), atol=1e-5)
    assert result.mean_error_mm < 1e-4


def test_left_hand_parameters_are_recovered() -> None:
    truth = random_pose(np.random.default_rng(1), "left")
    result = fit_pose(truth.joints(), "left", thickness=1.3)
    assert result.pose.handedness == "left" and result.pose.shape.thickness == 1.3
    assert result.pose.shape.size == pytest.approx(truth.shape.size, abs=1e-4)
    np.testing.assert_allclose(result.pose.shape.finger_scales, truth.shape.finger_scales,
                               atol=1e-4)
    np.testing.assert_allclose(result.pose.joints(), truth.joints(), atol=1e-3)


def test_missing_joints_are_ignored() -> None:
    rng = np.random.default_rng(2)
    for i in range(4):
        truth = random_pose(rng, ("right", "left")[i % 2])
        joints = truth.joints()
        mask = np.ones(NUM_JOINTS, dtype=bool)
        mask[rng.choice(NUM_JOINTS, size=4, replace=False)] = False
        joints[~mask] = 1e6  # garbage where the mask says nothing was measured
        result = fit_pose(joints, truth.handedness, mask=mask)
        assert np.all(np.isnan(result.per_joint_error_mm[~mask]))
        assert np.nanmax(result.per_joint_error_mm) < 0.1
        assert result.mean_error_mm < 0.01


def test_nan_rows_without_a_mask_count_as_missing() -> None:
    truth = random_pose(np.random.default_rng(3), "right")
    joints = truth.joints()
    joints[[0, 8, 19]] = np.nan
    result = fit_pose(joints)
    assert np.all(np.isnan(result.per_joint_error_mm[[0, 8, 19]]))
    assert result.mean_error_mm < 0.01


def test_noisy_targets_fit_to_the_noise_level() -> None:
    rng = np.random.default_rng(4)
    residuals, to_truth = [], []
    for i in range(6):
        truth = random_pose(rng, ("right", "left")[i % 2])
        clean = truth.joints()
        result = fit_pose(clean + rng.normal(scale=NOISE_MM, size=clean.shape), truth.handedness)
        residuals.append(result.mean_error_mm)
        to_truth.append(np.mean(np.linalg.norm(result.pose.joints() - clean, axis=-1)))
    log.info("noise %.1f mm: residual %.2f mm, error to truth %.2f mm",
             NOISE_MM, np.mean(residuals), np.mean(to_truth))
    # A 3D error with sigma per axis has a mean norm of about 1.6 sigma before fitting;
    # fitting 32 parameters to 63 coordinates absorbs part of it.
    assert 0.5 * NOISE_MM < np.mean(residuals) < 1.6 * NOISE_MM
    assert np.mean(to_truth) < 1.6 * NOISE_MM


def test_shape_stays_in_its_range() -> None:
    """A giant's skeleton is fitted with the largest allowed hand, not a runaway size."""
    truth = HandPose()
    joints = truth.joints()
    giant = (joints - joints[0]) * 3.0 + joints[0]
    shape = fit_pose(giant).pose.shape
    assert SIZE_RANGE[0] <= shape.size <= SIZE_RANGE[1]
    assert all(FINGER_SCALE_RANGE[0] <= s <= FINGER_SCALE_RANGE[1] for s in shape.finger_scales)


def test_bad_input_raises_one_line_errors() -> None:
    joints = HandPose().joints()
    joints[5] = np.nan
    with pytest.raises(ValueError) as caught:
        fit_pose(joints, mask=np.ones(NUM_JOINTS, dtype=bool))
    assert "\n" not in str(caught.value)
    with pytest.raises(ValueError):
        fit_pose(joints[:20])
    with pytest.raises(ValueError):
        fit_pose(np.full((NUM_JOINTS, 3), np.nan))


def test_result_type() -> None:
    result = fit_pose(HandPose().joints())
    assert isinstance(result, FitResult)
    assert result.per_joint_error_mm.shape == (NUM_JOINTS,)


def test_degenerate_skeletons_give_a_finite_fit() -> None:
    """All joints at one point, or on one line: a best effort, never an exception or NaN."""
    point = np.tile([1.0, 2.0, 500.0], (NUM_JOINTS, 1))
    line = np.zeros((NUM_JOINTS, 3))
    line[:, 2] = 400.0 + 10.0 * np.arange(NUM_JOINTS)
    for joints in (point, line):
        result = fit_pose(joints)
        assert np.all(np.isfinite(pose_to_params(result.pose)))
        assert np.isfinite(result.mean_error_mm)


def test_complete_joints_fills_only_the_missing_rows():
    from engine.hand.fit import complete_joints
    from engine.hand.model import HandPose

    truth = HandPose(angles=np.full(20, 0.3)).joints()
    mask = np.ones(21, bool)
    mask[[7, 11, 15, 19, 1]] = False  # no DIPs (as ICVL) and no thumb CMC
    given = np.where(mask[:, None], truth, np.nan)
    done = complete_joints(given, mask)
    np.testing.assert_array_equal(done[mask], truth[mask])
    assert np.isfinite(done).all()
    assert np.linalg.norm(done[~mask] - truth[~mask], axis=1).max() < 15.0
