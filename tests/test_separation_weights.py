"""The finger-separation weights of `train gan --gap-weight / --step-weight` (issue 15).

The maps on toy crops (two fingers over a palm: the gap between them is weighted, open background,
a wide gap and the hand are not; a finger lying over the palm gives a depth step, a gentle slope
does not); the weighted loss terms; the options reaching the loss in a tiny run, and being refused
where they cannot act.
"""
from __future__ import annotations

import pytest
import torch

import engine.train.gan as gan
from engine.data.crop import BACKGROUND
from engine.losses import depth_l1, mask_bce
from engine.models.generator import load_generator
from engine.separation_weights import gap_map, step_map
from engine.train.gan import train_gan
from tiny_runs import TINY_HEADS_RUN


def _two_fingers(gap_px: int = 3) -> torch.Tensor:
    """(1, 1, 128, 128) crop: two 10-px fingers `gap_px` apart on a palm that leaves the crop's
    bottom edge (like a forearm)."""
    x = torch.full((1, 1, 128, 128), BACKGROUND)
    left = 40
    right = left + 10 + gap_px
    x[..., 30:90, left:left + 10] = 0.1
    x[..., 30:90, right:right + 10] = 0.1
    x[..., 90:128, left:right + 10] = 0.3
    return x


def test_gap_between_fingers_is_weighted_and_open_background_is_not():
    x = _two_fingers(gap_px=3)
    gap = gap_map(x)[0, 0]
    assert bool((gap[35:86, 50:53] == 1).all())  # the 3-px gap, along the fingers
    hand = x[0, 0] < 0.98
    assert float(gap[hand].sum()) == 0.0  # only background is weighted
    assert float(gap[:, :30].sum()) == 0.0 and float(gap[:, 75:].sum()) == 0.0  # open background
    assert float(gap[:20].sum()) == 0.0
    assert float(gap[100:, :40].sum()) == 0.0  # beside the palm where it leaves the crop
    assert float(gap.sum()) < 0.02 * 128 * 128  # a thin band, not the background


def test_wide_gap_is_not_weighted():
    gap = gap_map(_two_fingers(gap_px=20))[0, 0]
    assert float(gap[35:86, 50:70].sum()) == 0.0


def test_finger_over_palm_is_a_depth_step_and_a_slope_is_not():
    x = torch.full((1, 1, 128, 128), BACKGROUND)
    x[..., 40:100, 30:100] = 0.3  # palm
    x[..., 50:90, 60:70] = 0.1  # a finger 25 mm nearer, lying over it
    steps = step_map(x)[0, 0]
    assert float(steps[70, 59]) == 1.0 and float(steps[70, 60]) == 1.0 and float(steps[70, 70]) == 1.0
    assert float(steps[70, 40]) == 0.0 and float(steps[70, 65]) == 0.0  # flat palm, finger middle
    assert float(steps[(x[0, 0] >= 0.98)].sum()) == 0.0  # the silhouette's outline is not a step
    ramp = torch.full((1, 1, 128, 128), BACKGROUND)
    ramp[..., 40:100, 30:100] = torch.linspace(0.0, 0.5, 70)  # 0.9 mm per pixel
    assert float(step_map(ramp).sum()) == 0.0


def test_gap_weight_raises_only_the_cost_of_filling_the_gap():
    x = _two_fingers(gap_px=3)
    hand = (x < 0.98).float()
    right = 8.0 * (2 * hand - 1)  # confident and correct everywhere
    filled = right.clone()
    filled[..., 35:86, 50:53] = 8.0  # the gap drawn as hand: the merged fingers
    stray = right.clone()
    stray[..., 5:22, 5:14] = 8.0  # as many wrong pixels in open background
    assert float(mask_bce(right, x, 0.0)) == pytest.approx(float(mask_bce(right, x)))
    cost = lambda logit, w: float(mask_bce(logit, x, w)) - float(mask_bce(right, x, w))  # noqa: E731
    assert cost(filled, 10.0) == pytest.approx(11.0 * cost(filled, 0.0), rel=1e-4)
    assert cost(stray, 10.0) == pytest.approx(cost(stray, 0.0), rel=1e-4)


def test_step_weight_raises_only_the_cost_of_a_smoothed_step():
    x = torch.full((1, 1, 16, 16), BACKGROUND)
    x[..., 2:14, 2:14] = 0.3
    x[..., 4:12, 7:9] = 0.1  # the finger: 2 px wide, all of it at the step
    smoothed = x.clone()
    smoothed[..., 4:12, 7:9] = 0.3  # the finger flattened into the palm
    plain, weighted = float(depth_l1(smoothed, x, 0.0)), float(depth_l1(smoothed, x, 4.0))
    assert weighted == pytest.approx(5.0 * plain, rel=1e-6)
    far = x.clone()
    far[..., 2, 2] = 0.5  # an error at the palm's corner, far from any step
    assert float(depth_l1(far, x, 4.0)) == pytest.approx(float(depth_l1(far, x, 0.0)), rel=1e-6)


def test_the_options_reach_the_loss(tmp_path, monkeypatch):
    seen = []
    real = gan.head_loss

    def spy(*args):
        seen.append(args[5:])
        return real(*args)

    monkeypatch.setattr(gan, "head_loss", spy)
    run = tmp_path / "run"
    summary = train_gan(run, {**TINY_HEADS_RUN, "gap_weight": 10.0, "step_weight": 4.0})
    assert summary["finished"] and seen == [(10.0, 4.0), (10.0, 4.0)]
    _, info = load_generator(run / "generator.safetensors")
    assert info["objective"]["gap_weight"] == 10.0 and info["objective"]["step_weight"] == 4.0


@pytest.mark.parametrize("given, message", [
    ({"gap_weight": -1.0}, "--gap-weight must be >= 0"),
    ({"gap_weight": 5.0}, "--gap-weight weights the mask term: it needs --mask-weight > 0"),
    ({"step_weight": 5.0, "mask_weight": 1.0}, "--step-weight weights the depth term: it needs --depth-weight > 0"),
])
def test_separation_weights_without_their_term_are_refused(tmp_path, given, message):
    with pytest.raises(ValueError, match=message):
        train_gan(tmp_path / "run", {"cache_size": 4, **given})
