"""GAN building blocks: the skeleton encoding, G and D shapes, and the objective's terms."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.data.crop import crop_camera
from engine.data.readers.sim import SimConfig, crop_sample
from engine.losses import (
    discriminator_loss,
    generator_adversarial,
    generator_loss,
    l2_frobenius,
)
from engine.models.discriminator import PatchCritic
from engine.models.generator import ENCODING_SIZE, SkeletonUNet
from engine.models.pose_encoding import (
    ENCODING_CHANNELS,
    NUM_PARTS,
    PARTS,
    SIGMA_PX,
    crop_view,
    encode_pose,
    project_pose,
)


def one_bone_pose(z: float = 0.2) -> torch.Tensor:
    """Only the wrist (centre) and thumb CMC (half a cube side to the right) are labelled."""
    y = torch.full((1, 21, 3), float("nan"))
    y[0, 0] = torch.tensor([0.0, 0.0, z])
    y[0, 1] = torch.tensor([0.5, 0.0, z])
    return y


def test_encoding_puts_intensity_on_the_bone_and_skips_missing_joints():
    enc = encode_pose(one_bone_pose())
    assert enc.shape == (1, ENCODING_CHANNELS, 128, 128)
    assert torch.isfinite(enc).all()
    thumb = PARTS.index("thumb")
    # Orthographic (no view): the bone runs from pixel u = 63.5 to 63.5 + 64 * 0.5 = 95.5 at
    # v = 63.5, so pixel centre (u=80, v=64) is 0.5 px off it.
    expected = math.exp(-0.5 * 0.25 / SIGMA_PX ** 2)
    assert enc[0, thumb, 64, 80].item() == pytest.approx(expected, abs=1e-5)
    assert enc[0, NUM_PARTS + thumb, 64, 80].item() == pytest.approx(0.2 * expected, abs=1e-5)
    assert enc[0, thumb, 64, 110].item() < 1e-4  # 14.5 px beyond the bone's end
    assert enc[0, thumb, 20, 80].item() < 1e-20  # far above it
    others = [c for c in range(NUM_PARTS) if c != thumb]
    assert enc[0, others].abs().max().item() == 0.0  # every other bone has a missing joint


def test_encoding_projection_matches_the_crop_camera():
    s = crop_sample(SimConfig(seed=5), 3)
    uv, _ = project_pose(torch.from_numpy(s.y)[None], torch.from_numpy(crop_view(s.transform))[None])
    expected = crop_camera(s.transform).project(s.hand.joints())
    assert np.abs(uv[0].numpy() - expected).max() < 0.5


def test_generator_and_discriminator_shapes():
    g, d = SkeletonUNet(base=4, levels=3, full_res=4), PatchCritic(base=4)
    y = torch.from_numpy(crop_sample(SimConfig(seed=1), 0).y)[None].repeat(2, 1, 1)
    x = g.train()(y)
    assert x.shape == (2, 1, 128, 128) and x.min() >= -1 and x.max() <= 1
    hard = g.eval()(y, torch.zeros(2, 5))
    assert hard.shape == (2, 1, 128, 128)
    assert ((hard == 1.0) | (hard.abs() < 1.0)).all()  # background exactly +1, hand from tanh
    d.eval()  # no power-iteration update, so two calls agree
    assert d(x, y).shape == (2, 1, 8, 8)
    enc = encode_pose(y, size=ENCODING_SIZE)
    assert torch.allclose(d(x, y, encoding=enc), d(x, y), atol=1e-6)


def test_generator_adversarial_is_minus_log_d():
    logits = torch.tensor([[[[math.log(3.0)]]], [[[0.0]]]])  # D = 0.75 and 0.5
    expected = (-math.log(0.75) - math.log(0.5)) / 2
    assert generator_adversarial(logits).item() == pytest.approx(expected, rel=1e-6)


def test_discriminator_loss_on_known_logits():
    real = torch.tensor([[[[math.log(3.0)]]]])  # D(x) = 0.75
    fake = torch.tensor([[[[-math.log(3.0)]]]])  # D(G(y)) = 0.25
    expected = -(math.log(0.75) + math.log(1 - 0.25))
    assert discriminator_loss(real, fake).item() == pytest.approx(expected, rel=1e-6)
    # Patch logits average per image: two patches at D = 0.5 cost what one does.
    two = torch.zeros(1, 1, 1, 2)
    assert discriminator_loss(two, two).item() == pytest.approx(2 * math.log(2), rel=1e-6)


def test_l2_is_squared_frobenius_summed_over_pixels_mean_over_batch():
    target = torch.zeros(2, 1, 4, 4)
    generated = torch.full((2, 1, 4, 4), 0.5)
    generated[1] = 1.0
    # image 0: 16 * 0.25 = 4; image 1: 16 * 1 = 16; mean 10
    assert l2_frobenius(target, generated).item() == pytest.approx(10.0)
    total, adv, l2 = generator_loss(torch.zeros(2, 1, 1, 1), target, generated, l2_weight=0.5)
    assert l2.item() == pytest.approx(10.0)
    assert adv.item() == pytest.approx(math.log(2))
    assert total.item() == pytest.approx(math.log(2) + 5.0)


def test_forearm_channel_covers_the_rendered_forearm():
    from engine.hand.skeleton import PART_INDEX
    from engine.sim.render import render_hand

    covered = []
    for i in range(4):
        s = crop_sample(SimConfig(seed=2), i)
        labels = render_hand(s.hand.joints(), crop_camera(s.transform), s.hand.shape.thickness).labels
        enc = encode_pose(torch.from_numpy(s.y)[None], torch.from_numpy(crop_view(s.transform))[None])
        forearm = labels == PART_INDEX["forearm"]
        if forearm.sum() > 50:
            covered.append((enc[0, PARTS.index("forearm")].numpy()[forearm] > 0.1).mean())
    assert covered and min(covered) > 0.8


def test_silhouette_cut_keeps_likely_hand_and_drops_edges_and_haze():
    g = SkeletonUNet(base=4, levels=2, full_res=4, edge_window=3, edge_fraction=0.5, hand_max=0.8)
    x = torch.ones(1, 1, 8, 8)
    x[0, 0, 2:6, 2:4] = 0.0  # hand at the cube centre's depth
    x[0, 0, 2:6, 4] = 0.3  # edge column: hand with probability 0.7 -> kept
    x[0, 0, 2:6, 5] = 0.7  # next to it, probability 0.3 -> background
    x[0, 0, 7, 7] = 0.95  # haze far from the hand -> background
    out = g.cut_silhouette(x)[0, 0]
    assert torch.equal(out[2:6, 2:5], x[0, 0, 2:6, 2:5])
    assert (out[2:6, 5] == 1.0).all() and out[7, 7] == 1.0


def test_silhouette_cut_snaps_blended_depth_steps_to_the_front_surface():
    g = SkeletonUNet(base=4, levels=2, full_res=4, edge_window=3, edge_fraction=0.5, hand_max=0.8,
                     depth_window=3, depth_step=0.1)
    x = torch.zeros(1, 1, 6, 6)
    x[0, 0, :, 3:] = 0.05  # a gentle slope: left alone
    x[0, 0, 0, 0] = -0.3  # a finger in front of the palm...
    x[0, 0, 1, 1] = -0.1  # ...and a pixel blended between them: snapped to the finger
    out = g.cut_silhouette(x)[0, 0]
    assert out[1, 1].item() == pytest.approx(-0.3)
    assert torch.equal(out[:, 4:], x[0, 0, :, 4:]) and out[3, 3].item() == pytest.approx(0.05)
