"""The part-label loss of `train gan --part-weight` (issue 15, engine.part_loss).

Its back-projection against the numpy one the labels use; on simulator crops, the labels it
trains towards are the evaluation's, a finger pushed into the palm costs more than the true depth,
and its gradient reaches hand pixels only; a pose with a missing joint is skipped; the option
reaches the loss in a tiny run and is refused without the depth term it acts through.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import engine.train.gan as gan
from engine.data.readers.sim import SimConfig, crop_sample
from engine.eval.evaluate import FINGER_PARTS, crop_part_labels
from engine.models.generator import load_generator
from engine.models.pose_encoding import crop_view, unproject_crop, unproject_image
from engine.part_loss import HALF_CUBE_MM, _batch_capsules, _part_gaps, part_label_ce
from engine.separation_weights import true_silhouette
from engine.train.gan import train_gan
from tiny_runs import TINY_HEADS_RUN


@pytest.fixture(scope="module")
def crops() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(target (3, 1, 128, 128), y (3, 21, 3), view (3, 5)) of clean simulator crops."""
    samples = [crop_sample(SimConfig(seed=41), i) for i in range(3)]
    x = torch.from_numpy(np.stack([s.clean for s in samples]).astype(np.float32))[:, None]
    y = torch.from_numpy(np.stack([s.y for s in samples]).astype(np.float32))
    view = torch.from_numpy(np.stack([crop_view(s.transform) for s in samples]))
    return x, y, view


def test_unproject_image_is_the_numpy_back_projection():
    rng = np.random.default_rng(3)
    z = rng.uniform(-0.9, 0.9, size=(2, 1, 128, 128)).astype(np.float32)
    view = np.array([[0.1, -0.05, 0.2, 1.5, -2.0], [-0.2, 0.1, 0.15, -0.5, 0.25]], np.float32)
    points = unproject_image(torch.from_numpy(z), torch.from_numpy(view)).numpy()
    rows, cols = np.mgrid[0:128, 0:128]
    for i in range(2):
        expected = unproject_crop(cols.ravel(), rows.ravel(), z[i, 0].ravel(), view[i])
        np.testing.assert_allclose(points[i].reshape(-1, 3), expected, atol=2e-6)


def _labels_of(depth, target, y, view) -> np.ndarray:
    """The part the loss's softmax favours at each of the target's hand pixels."""
    hand = true_silhouette(target)[:, 0] > 0
    which = hand.nonzero()[:, 0]
    a, b, ra, rb, capsule_parts = _batch_capsules(y)
    parts = torch.unique(capsule_parts)
    points = unproject_image(depth, view)[hand]
    return parts[_part_gaps(points, a[which], b[which], ra[which], rb[which], capsule_parts, parts).argmin(1)].numpy()


def test_the_labels_it_trains_towards_are_the_evaluations(crops):
    x, y, view = crops
    hand = (true_silhouette(x)[:, 0] > 0).numpy()
    expected = crop_part_labels(x[:, 0].numpy(), y.numpy(), view.numpy())[hand]
    assert set(FINGER_PARTS) <= set(expected.tolist())  # the crops show fingers
    np.testing.assert_array_equal(_labels_of(x, x, y, view), expected)


def test_a_finger_pushed_into_the_palm_costs_more_than_the_true_depth(crops):
    x, y, view = crops
    labels = crop_part_labels(x[:, 0].numpy(), y.numpy(), view.numpy())
    fingers = torch.from_numpy(np.isin(labels, FINGER_PARTS))[:, None]
    pushed = torch.where(fingers, x + 40.0 / HALF_CUBE_MM, x)  # 40 mm behind its surface: in the palm
    exact, wrong = float(part_label_ce(x, x, y, view)), float(part_label_ce(pushed, x, y, view))
    assert exact < 0.25 * wrong  # measured: 0.055 against 0.50
    assert (_labels_of(pushed, x, y, view) != labels[(true_silhouette(x)[:, 0] > 0).numpy()]).mean() > 0.05


def test_the_gradient_reaches_hand_pixels_only(crops):
    x, y, view = crops
    depth = (x + 5.0 / HALF_CUBE_MM).requires_grad_(True)
    part_label_ce(depth, x, y, view).backward()
    grad = depth.grad
    hand = true_silhouette(x) > 0
    assert bool(torch.isfinite(grad).all())
    assert float(grad[~hand].abs().sum()) == 0.0 and float(grad[hand].abs().sum()) > 0.0


def test_a_pose_with_a_missing_joint_is_skipped(crops):
    x, y, view = crops
    partial = y.clone()
    partial[:, 4] = float("nan")
    depth = x.clone().requires_grad_(True)
    loss = part_label_ce(depth, x, partial, view)
    loss.backward()
    assert float(loss.detach()) == 0.0 and float(depth.grad.abs().sum()) == 0.0
    some = y.clone()
    some[0, 4] = float("nan")  # the other two crops still count, the first does not
    assert float(part_label_ce(x, x, some, view)) == pytest.approx(float(part_label_ce(x[1:], x[1:], y[1:], view[1:])),
                                                                   rel=1e-5)


def test_the_option_reaches_the_loss(tmp_path, monkeypatch):
    calls = []
    real = gan.part_label_ce

    def spy(*args):
        calls.append(args[0].shape)
        return real(*args)

    monkeypatch.setattr(gan, "part_label_ce", spy)
    run = tmp_path / "run"
    summary = train_gan(run, {**TINY_HEADS_RUN, "part_weight": 5.0})
    assert summary["finished"] and len(calls) == 2
    _, info = load_generator(run / "generator.safetensors")
    assert info["objective"]["part_weight"] == 5.0
    rows = [line for line in (run / "log.jsonl").read_text().splitlines() if '"loss_g_part"' in line]
    assert len(rows) == 2


@pytest.mark.parametrize("given, message", [
    ({"part_weight": -1.0}, "--part-weight must be >= 0"),
    ({"part_weight": 5.0, "mask_weight": 1.0}, "--part-weight labels the depth head's points: it needs --depth-weight > 0"),
])
def test_a_part_weight_without_its_term_is_refused(tmp_path, given, message):
    with pytest.raises(ValueError, match=message):
        train_gan(tmp_path / "run", {"cache_size": 4, **given})
