"""The learned real-time style stage: network bounds, geometry, seeds, strength, caching,
the shipped weights, and the randomised sensor bank it is trained on."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.data.crop import crop_camera
from engine.data.readers.sim import SimConfig, crop_sample
from engine.models import DEFAULT_STYLE_STAGE_PATH
from engine.models.checkpoint import save_checkpoint
from engine.models.style_inference import StyleStageForStyle
from engine.models.style_net import NOISE_MAX_MM, StyleStage
from engine.style.compose import RESIDUAL_MAX_MM, Calibration, compose
from engine.style.learned import LearnedStyle, crop_to_mm, load_stage
from engine.style.random_sensor import SensorParams, apply_params, random_params
from engine.style.registry import resolve_style
from engine.style.stats import geometry_shift_mm
from engine.style.style_crop import style_crop

MAX_SHIPPED_BYTES = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def content():
    s = crop_sample(SimConfig(seed=123), 0)
    return crop_to_mm(s.clean, float(s.transform.centre[2])), crop_camera(s.transform)


@pytest.fixture(scope="module")
def style_image():
    s = crop_sample(SimConfig(seed=321, sensors=("kinect_v1",)), 0)
    return crop_to_mm(s.depth, float(s.transform.centre[2]))


def random_weights(path, seed: int, noise_bias: float | None = None, scale: float = 0.3):
    """An untrained stage with its weights perturbed by `scale` (0.3: wild maps)."""
    torch.manual_seed(seed)
    model = StyleStage()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn_like(p))
        if noise_bias is not None:
            model.head.bias[1] = noise_bias
    save_checkpoint(path, model, model.config)
    return path


def test_stage_maps_have_the_crop_shape_and_bounded_noise():
    torch.manual_seed(0)
    model = StyleStage().eval()
    x = torch.rand(3, 1, 128, 128) * 2 - 1
    with torch.no_grad():
        code = model.encode(torch.rand(3, 1, 128, 128) * 2 - 1, torch.randn(3, 4))
        logit, noise = model(x, code)
    assert logit.shape == noise.shape == (3, 1, 128, 128)
    assert float(noise.min()) >= 0.0 and float(noise.max()) <= NOISE_MAX_MM
    # The precomputed modulations give the same maps as the code.
    with torch.no_grad():
        logit2, _ = model.run(x, model.modulations(code))
    torch.testing.assert_close(logit, logit2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_networks_keep_the_geometry(tmp_path, style_image, seed):
    """Any weights: nothing appears off the hand and no pixel moves beyond the residual bound.
    Holes can shift the hole-aware low-pass where they fall on one side of a depth step, so the
    3 mm bar is checked on untrained networks (weights perturbed by 0.1) and random poses."""
    s = crop_sample(SimConfig(seed=900 + seed), 0)
    clean, camera = crop_to_mm(s.clean, float(s.transform.centre[2])), crop_camera(s.transform)
    style = LearnedStyle(style_image, weights=random_weights(tmp_path / f"r{seed}.safetensors", seed,
                                                             scale=0.1)).prepare()
    out = style.apply(clean, camera, seed=5, strength=1.0)
    assert out.shape == clean.shape and out.dtype == np.float32
    assert not np.any((clean == 0) & (out != 0))  # nothing appears off the hand
    both = (clean > 0) & (out > 0)
    assert np.abs(out[both] - clean[both]).max() <= RESIDUAL_MAX_MM + 1e-3
    assert geometry_shift_mm(out, clean, clean > 0) <= 3.0
    wild = LearnedStyle(style_image, weights=random_weights(tmp_path / f"w{seed}.safetensors", seed)).prepare()
    out = wild.apply(clean, camera, seed=5, strength=1.0)
    both = (clean > 0) & (out > 0)
    assert not np.any((clean == 0) & (out != 0))
    assert np.abs(out[both] - clean[both]).max() <= RESIDUAL_MAX_MM + 1e-3


def test_the_largest_noise_does_not_move_the_hand(content):
    clean, _ = content
    noise = np.full(clean.shape, NOISE_MAX_MM, np.float32)
    out = compose(clean, np.full(clean.shape, -40.0, np.float32), noise, Calibration(noise_gain=4.0), 0)
    assert np.array_equal(out > 0, clean > 0)  # hole log-odds -40: no hole
    assert np.abs(out - clean).max() <= RESIDUAL_MAX_MM + 1e-3
    assert geometry_shift_mm(out, clean, clean > 0) <= 3.0


def test_same_seed_same_frame_and_strength_zero_is_identity(tmp_path, content, style_image):
    clean, camera = content
    style = LearnedStyle(style_image, weights=random_weights(tmp_path / "w.safetensors", 0, noise_bias=0.0,
                                                             scale=0.02))
    a = style.apply(clean, camera, seed=7, strength=1.0)
    np.testing.assert_array_equal(a, style.apply(clean, camera, seed=7, strength=1.0))
    assert not np.array_equal(a, style.apply(clean, camera, seed=8, strength=1.0))
    np.testing.assert_array_equal(style.apply(clean, camera, seed=7, strength=0.0), clean)
    half = style.apply(clean, camera, seed=7, strength=0.5)
    both = (clean > 0) & (a > 0) & (half > 0)
    np.testing.assert_allclose(half[both] - clean[both], 0.5 * (a[both] - clean[both]), atol=1e-3)


def test_a_batch_is_styled_as_each_frame_alone_with_one_stage_call_per_chunk(tmp_path, style_image, monkeypatch):
    from engine.models import style_inference
    samples = [crop_sample(SimConfig(seed=123), i) for i in range(5)]
    frames = [crop_to_mm(s.clean, float(s.transform.centre[2])) for s in samples] + [np.zeros((128, 128), np.float32)]
    cameras = [crop_camera(s.transform) for s in samples] + [crop_camera(samples[0].transform)]
    style = LearnedStyle(style_image, weights=random_weights(tmp_path / "w.safetensors", 3, noise_bias=0.0,
                                                             scale=0.02)).prepare()
    alone = [style.apply(f, c, seed=10 + i, strength=0.7) for i, (f, c) in enumerate(zip(frames, cameras))]
    calls = []
    original = StyleStageForStyle._run
    monkeypatch.setattr(StyleStageForStyle, "_run", lambda self, crops, noise: calls.append(len(crops)) or
                        original(self, crops, noise))
    monkeypatch.setattr(style_inference, "BATCH", 3)
    batch = style.apply_batch(frames, cameras, [10 + i for i in range(6)], 0.7)
    assert calls == [3, 3]  # 5 hands, the second call padded; the empty frame needs no stage
    for a, b in zip(alone, batch):
        np.testing.assert_allclose(b, a, atol=1e-3)
    assert np.array_equal(batch[-1], frames[-1]) and not np.array_equal(batch[0], frames[0])
    # each frame's bytes alone or among others, in any order
    for i in (0, 4):
        np.testing.assert_array_equal(style.apply_batch([frames[i]], [cameras[i]], [10 + i], 0.7)[0], batch[i])
    np.testing.assert_array_equal(style.apply_batch(frames[::-1], cameras[::-1], [15 - i for i in range(6)],
                                                    0.7)[-1], batch[0])
    with pytest.raises(ValueError, match="6 depths, 6 cameras and 2 seeds"):
        style.apply_batch(frames, cameras, [1, 2], 1.0)


def test_the_style_is_encoded_once(tmp_path, content, style_image, monkeypatch):
    clean, camera = content
    calls = []
    original = StyleStage.encode
    monkeypatch.setattr(StyleStage, "encode", lambda self, *a: calls.append(1) or original(self, *a))
    style = LearnedStyle(style_image, weights=random_weights(tmp_path / "w.safetensors", 1))
    for seed in range(3):
        style.apply(clean, camera, seed=seed, strength=1.0)
    style.prepare()
    assert len(calls) == 1
    # The weights are loaded once per file and shared by every style.
    other = LearnedStyle(style_image, weights=tmp_path / "w.safetensors").prepare()
    assert other._model is style._model


def test_a_full_frame_is_styled_around_its_hand(tmp_path, style_image):
    from engine.camera import KINECT_V1
    from engine.hand.sampler import sample_pose
    from engine.sim.render import render_hand
    hand = sample_pose(np.random.default_rng(4), camera=KINECT_V1)
    frame = render_hand(hand.joints(), KINECT_V1, hand.shape.thickness).depth
    style = LearnedStyle(style_image, weights=random_weights(tmp_path / "w.safetensors", 2, noise_bias=0.0,
                                                             scale=0.02))
    out = style.apply(frame, KINECT_V1, seed=1, strength=1.0)
    changed = out != frame
    assert changed.sum() > 0.02 * (frame > 0).sum()
    assert not np.any(changed & (frame == 0))
    assert not np.any((frame == 0) & (out != 0))
    assert geometry_shift_mm(out, frame, frame > 0) <= 3.0


def test_shipped_weights_load_and_serve_the_bank_images(content):
    assert DEFAULT_STYLE_STAGE_PATH.stat().st_size < MAX_SHIPPED_BYTES
    assert isinstance(load_stage(), StyleStage)
    style = resolve_style("sr305_palm_a")
    assert isinstance(style, LearnedStyle)
    clean, camera = content
    out = style.apply(clean, camera, seed=0, strength=1.0)
    assert style.image.scale_source == "given" and "learned stage" in style.summary
    assert (out[clean > 0] == 0).any() and geometry_shift_mm(out, clean, clean > 0) <= 3.0
    for i in range(5):  # the shipped stage keeps the geometry on other poses too
        s = crop_sample(SimConfig(seed=77), i)
        c, cam = crop_to_mm(s.clean, float(s.transform.centre[2])), crop_camera(s.transform)
        assert geometry_shift_mm(style.apply(c, cam, seed=i, strength=1.0), c, c > 0) <= 3.0


def test_random_sensor_styles_are_seeded_and_identity_when_empty(content):
    clean, camera = content
    assert np.array_equal(apply_params(clean, camera, SensorParams("none"), np.random.default_rng(0)), clean)
    theta = random_params(np.random.default_rng(3))
    a = apply_params(clean, camera, theta, np.random.default_rng(9))
    np.testing.assert_array_equal(a, apply_params(clean, camera, theta, np.random.default_rng(9)))
    assert not np.any((clean == 0) & (a > 0) & (theta.base != "tof"))
    eroded = apply_params(clean, camera, SensorParams("none", erosion_px=2.0, edge_drop=0.5),
                          np.random.default_rng(0))
    assert (eroded[clean > 0] == 0).mean() > 0.05 and np.all(eroded[eroded > 0] == clean[eroded > 0])


def test_style_crop_frames_the_hand_and_refuses_an_empty_image(style_image):
    crop = style_crop(style_image)
    assert crop.norm.shape == (128, 128) and crop.mask.any()
    assert crop.norm.min() >= -1 and crop.norm.max() <= 1 and crop.features().shape == (4,)
    with pytest.raises(ValueError, match="no hand"):
        style_crop(np.zeros((64, 64), np.float32))


def test_edge_inputs_equal_torch_max_pools():
    import torch.nn.functional as F
    from engine.models.style_net import stage_inputs
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    got = stage_inputs(x)
    torch.testing.assert_close(got[:, 1:2], F.max_pool2d(x, 3, 1, 1) + F.max_pool2d(-x, 3, 1, 1))
    torch.testing.assert_close(got[:, 2:3], F.max_pool2d(x, 5, 1, 2) + F.max_pool2d(-x, 5, 1, 2))
