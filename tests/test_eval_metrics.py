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
    boundary,
    boundary_f_score,
    full_abs_error_mm,
    hand_mask,
    kid,
    mmd2_unbiased,
    nanmean,
    part_iou,
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


def test_kid_subsets_are_drawn_and_whole_sets_get_a_real_spread():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 4)), rng.normal(size=(40, 4)) + 1
    whole_mean, whole_std = kid(x, y, subsets=5, subset_size=1000)
    # Issue 15: the std of whole sets was 0.0; it is now the spread over half-set draws.
    assert whole_mean == pytest.approx(mmd2_unbiased(x, y)) and whole_std > 0
    assert math.isnan(kid(x[:3], y[:3], subsets=5)[1])  # half of 3 is too few for MMD
    mean, std = kid(x, y, subsets=5, subset_size=10, seed=3)
    assert std > 0 and mean > 0
    assert kid(x, y, subsets=5, subset_size=10, seed=3) == (mean, std)  # seeded


def test_full_crop_mae_counts_missed_and_invented_pixels_at_the_background_distance():
    # 1 unit of crop depth = 125 mm. Pixels: both hand (0.0 vs 0.2), output drops a hand pixel
    # at -0.5 (1.5 to background), output invents one at 0.6 (0.4), both background (ignored).
    out = crops([[0.0, BG], [0.6, BG]])
    ref = crops([[0.2, -0.5], [BG, BG]])
    total, n = full_abs_error_mm(out, ref)
    assert n[0] == 3 and total[0] == pytest.approx((0.2 + 1.5 + 0.4) * 125.0)
    # Dropping the uncertain pixel no longer helps, unlike the foreground MAE.
    assert fg_mae_mm(out, ref) == pytest.approx(25.0)


def test_full_crop_mae_caps_at_the_crop_depth_range():
    total, n = full_abs_error_mm(crops([[-3.0]]), crops([[BG]]))  # an out-of-range raw value
    assert n[0] == 1 and total[0] == pytest.approx(2.0 * 125.0)


def test_boundary_f_score_by_hand():
    ref = np.full((1, 14, 14), BG)
    ref[0, 3:9, 3:9] = 0.0  # a 6x6 square, rows and columns 3-8: its outline is 20 pixels
    near, far = np.full_like(ref, BG), np.full_like(ref, BG)
    near[0, 3:9, 5:11] = 0.0  # 2 px to the right: every outline pixel within 2 px of the other's
    far[0, 3:9, 6:12] = 0.0  # 3 px to the right
    assert boundary_f_score(ref, ref)[0] == pytest.approx(1.0)
    assert boundary_f_score(near, ref)[0] == pytest.approx(1.0)
    # Far's outline: its top and bottom rows (columns 6-11) match but for column 11 (3 px from
    # column 8): 5 + 5; its left side (column 6, rows 4-7) is 2 px from ref's right side: 4; its
    # right side (column 11, rows 4-7) is 3 px away: 0. Precision 14/20, recall the same.
    assert boundary(hand_mask(far)).sum() == boundary(hand_mask(ref)).sum() == 20
    assert boundary_f_score(far, ref)[0] == pytest.approx(0.7)
    empty = np.full_like(ref, BG)
    assert boundary_f_score(empty, ref)[0] == 0.0 and math.isnan(boundary_f_score(empty, empty)[0])


def test_boundary_ignores_the_crop_border():
    m = np.zeros((1, 5, 5), bool)
    m[0, :, :2] = True  # a forearm leaving the crop on the left
    assert boundary(m)[0].sum() == 5 and boundary(m)[0, :, 1].all()


def test_part_iou_by_hand():
    out = np.array([[[3, 3, 4, 0]]])
    ref = np.array([[[3, 4, 4, 0]]])
    iou = part_iou(out, ref, (3, 4, 5))
    assert iou[0, 0] == pytest.approx(1 / 2) and iou[0, 1] == pytest.approx(1 / 2) and math.isnan(iou[0, 2])
