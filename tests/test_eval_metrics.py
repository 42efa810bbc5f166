"""engine.eval.metrics on tiny cases computed by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest

from engine.data.crop import PASTE_BACKGROUND_MIN
from engine.eval.metrics import (
    fg_abs_error_mm,
    fg_mae_mm,
    hand_mask,
    kid,
    mmd2_unbiased,
    nanmean,
    polynomial_kernel,
    pose_error_mm,
    silhouette_iou,
)

BG = 1.0


def crops(*images):
    return np.array(images, dtype=np.float32)


def test_hand_mask_is_the_paste_threshold():
    x = crops([[PASTE_BACKGROUND_MIN - 1e-3, PASTE_BACKGROUND_MIN], [BG, -1.0]])
    assert hand_mask(x).tolist() == [[[True, False], [False, True]]]
    # (N, 1, H, W) is accepted too
    assert hand_mask(x[:, None]).shape == (1, 2, 2)


def test_silhouette_iou_by_hand():
    out = crops([[0.0, 0.1], [BG, BG]], [[BG, BG], [BG, BG]])
    ref = crops([[BG, -0.1], [BG, 0.2]], [[BG, BG], [BG, BG]])
    iou = silhouette_iou(out, ref)
    # image 0: masks {(0,0),(0,1)} and {(0,1),(1,1)}: 1 shared of 3; image 1: no hand in either
    assert iou[0] == pytest.approx(1 / 3)
    assert math.isnan(iou[1])
    assert nanmean(iou) == pytest.approx(1 / 3)


def test_silhouette_iou_rejects_shape_mismatch():
    with pytest.raises(ValueError):
        silhouette_iou(np.ones((1, 2, 2)), np.ones((1, 3, 3)))


def test_fg_mae_is_pooled_over_pixels_where_both_are_hand():
    out = crops([[0.0, 0.1], [BG, BG]], [[0.0, 0.0], [0.0, BG]])
    ref = crops([[BG, -0.1], [BG, 0.2]], [[0.2, 0.2], [0.2, 0.2]])
    # image 0: only (0,1) is hand in both, |0.1 - -0.1| = 0.2 -> 25 mm over 1 px
    # image 1: three shared pixels, 0.2 each -> 75 mm over 3 px
    total, n = fg_abs_error_mm(out, ref)
    assert total.tolist() == pytest.approx([25.0, 75.0])
    assert n.tolist() == [1, 3]
    assert fg_mae_mm(out, ref) == pytest.approx(100.0 / 4)
    assert math.isnan(fg_mae_mm(crops([[BG]]), crops([[0.0]])))


def test_pose_error_skips_missing_joints():
    target = np.array([[[0.0, 0.0, 0.0], [np.nan, np.nan, np.nan]]])
    pred = np.array([[[0.3, 0.4, 0.0], [5.0, 5.0, 5.0]]])
    # joint 0 is 0.5 half-cubes off = 62.5 mm; joint 1 has no label
    assert pose_error_mm(pred, target).tolist() == pytest.approx([62.5])
    # two images: per image mean over its joints; an image without labels is NaN
    target2 = np.concatenate([target, np.full((1, 2, 3), np.nan)])
    err = pose_error_mm(np.concatenate([pred, pred]), target2)
    assert err[0] == pytest.approx(62.5) and math.isnan(err[1])
    with pytest.raises(ValueError):
        pose_error_mm(np.zeros((1, 2, 3)), np.zeros((1, 3, 3)))


def test_polynomial_kernel_by_hand():
    x, y = np.array([[1.0, 1.0]]), np.array([[1.0, 0.0]])
    assert polynomial_kernel(x, y)[0, 0] == pytest.approx((1.0 / 2 + 1) ** 3)


def test_mmd2_unbiased_by_hand():
    # d = 1, k(a, b) = (ab + 1)^3. Off-diagonal within x: k(0,1) = 1; within y: k(0,2) = 1;
    # across: k(0,0) = k(0,2) = k(1,0) = 1, k(1,2) = 27 -> mean 7.5. MMD² = 1 + 1 - 15.
    x, y = np.array([[0.0], [1.0]]), np.array([[0.0], [2.0]])
    assert mmd2_unbiased(x, y) == pytest.approx(-13.0)
    with pytest.raises(ValueError):
        mmd2_unbiased(x[:1], y)


def test_kid_of_one_distribution_is_near_zero_and_of_shifted_sets_is_not():
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(2000, 16))
    same, _ = kid(feats[:1000], feats[1000:], subsets=20, subset_size=500)
    shifted, _ = kid(feats[:1000], feats[1000:] + 0.5, subsets=20, subset_size=500)
    assert abs(same) < 0.005
    assert shifted > 0.05
    assert shifted > 20 * abs(same)


def test_kid_subsets_are_drawn_unless_they_are_the_whole_sets():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 4)), rng.normal(size=(40, 4)) + 1
    whole = kid(x, y, subsets=5, subset_size=1000)
    assert whole == (pytest.approx(mmd2_unbiased(x, y)), 0.0)
    mean, std = kid(x, y, subsets=5, subset_size=10, seed=3)
    assert std > 0 and mean > 0
    assert kid(x, y, subsets=5, subset_size=10, seed=3) == (mean, std)  # seeded
