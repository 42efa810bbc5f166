"""The learned style stage's fast apply path against its reference: the folded stage
(engine.models.style_inference) against StyleStage.run, each shortcut of the apply path against
the code it replaced, and a whole styled frame against the reference path built here from the
reference parts (the apply path as it was before the fast one): depth within 1e-3 mm where both
have data, the same holes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.data.crop import CROP_SIZE, crop_camera, crop_depth, denormalise_joints, transform_at
from engine.data.readers.sim import SimConfig, crop_sample
from engine.models.style_inference import BATCH, StyleStageForStyle, _add_upsampled, stage_inputs_numpy
from engine.models.style_net import StyleStage, stage_inputs
from engine.sim.render import render_hand
from engine.sim.sensors import blend_with_clean
from engine.style import compose as compose_module
from engine.style import learned
from engine.sim.random_fields import LOGISTIC_PROBIT
from engine.style.compose import NOISE_CLIP_SIGMA, RESIDUAL_MAX_MM, SMOOTH_KERNEL_PX, Calibration
from engine.style.learned import LearnedStyle, _hand_window, crop_to_mm, stage_maps
from engine.style.stats import GEOMETRY_KERNEL_PX, edge_band, edge_hole_ratio, hole_ratio, masked_lowpass

DEPTH_TOLERANCE_MM = 1e-3
MAP_TOLERANCE = 1e-4  # hole log-odds, and noise in mm: float32 rounding of the folded FiLM


@pytest.fixture(scope="module")
def samples():
    return [crop_sample(SimConfig(seed=77), i) for i in range(6)]


@pytest.fixture(scope="module")
def crops(samples):
    return [(crop_to_mm(s.clean, float(s.transform.centre[2])), crop_camera(s.transform)) for s in samples]


@pytest.fixture(scope="module")
def frames(samples):
    """Full frames: each pose rendered in its own camera (a 640x480 frame around a hand)."""
    out = []
    for s in samples[:3]:
        joints = np.asarray(denormalise_joints(s.y, s.transform), np.float64)
        out.append((render_hand(joints, s.transform.camera, 1.0).depth, s.transform.camera))
    return out


@pytest.fixture(scope="module")
def style():
    """The shipped stage toward a Kinect v1 render (noise gain > 0, so noise and holes both show)."""
    s = crop_sample(SimConfig(seed=321, sensors=("kinect_v1",)), 0)
    return LearnedStyle(crop_to_mm(s.depth, float(s.transform.centre[2])), name="kinect").prepare()


def test_numpy_stage_inputs_are_the_stages_bit_for_bit(samples):
    x = np.stack([s.clean for s in samples] + [np.random.default_rng(0).uniform(-1, 1, (128, 128))]).astype(np.float32)
    want = stage_inputs(torch.from_numpy(x)[:, None]).numpy()
    np.testing.assert_array_equal(stage_inputs_numpy(x), want)


@pytest.fixture(scope="module")
def perturbed(samples):
    """An untrained stage with its weights perturbed (untrained FiLM is the identity: folding
    would not show) and a code for it."""
    torch.manual_seed(4)
    model = StyleStage().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
        code = model.encode(torch.from_numpy(samples[0].clean)[None, None], torch.randn(1, 4))
    return model, code


@pytest.mark.parametrize("count", [1, 5, BATCH + 3])  # padded to one batch, to two
def test_the_folded_stage_gives_the_reference_maps(samples, perturbed, count):
    model, code = perturbed
    x = np.stack([samples[i % len(samples)].clean for i in range(count)])
    logit, noise = StyleStageForStyle(model, code).maps(x)
    want_logit, want_noise = stage_maps(model, x, code)
    assert logit.shape == noise.shape == (count, CROP_SIZE, CROP_SIZE) and logit.flags.c_contiguous
    np.testing.assert_allclose(logit, want_logit, rtol=0, atol=MAP_TOLERANCE)
    np.testing.assert_allclose(noise, want_noise, rtol=0, atol=MAP_TOLERANCE)
    one_logit, one_noise = StyleStageForStyle(model, code).maps_of_one(x[0])  # alone, NCHW
    np.testing.assert_allclose(one_logit, want_logit[0], rtol=0, atol=MAP_TOLERANCE)
    np.testing.assert_allclose(one_noise, want_noise[0], rtol=0, atol=MAP_TOLERANCE)
    with pytest.raises(ValueError, match="one style code"):
        StyleStageForStyle(model, code.expand(2, -1))


def test_a_crops_maps_do_not_depend_on_its_batch_mates(samples, perturbed, monkeypatch):
    """Every stage call runs BATCH crops (a short batch padded), so a crop's maps are the same
    bits alone, among others, first or last: a dataset's bytes do not depend on its chunking."""
    stage = StyleStageForStyle(*perturbed)
    shapes = []
    run = StyleStageForStyle._run
    monkeypatch.setattr(StyleStageForStyle, "_run",
                        lambda self, crops, noise: shapes.append(crops.shape) or run(self, crops, noise))
    x = np.stack([s.clean for s in samples])
    alone = [stage.maps(x[i:i + 1]) for i in range(len(x))]
    together = stage.maps(x)
    reversed_ = stage.maps(x[::-1])
    many = stage.maps(np.concatenate([x] * 4))  # 24 crops: two calls
    assert set(shapes) == {(BATCH, CROP_SIZE, CROP_SIZE)}
    for i, (logit, noise) in enumerate(alone):
        for got_logit, got_noise in [(together[0][i], together[1][i]), (reversed_[0][-1 - i], reversed_[1][-1 - i]),
                                     (many[0][i + 18], many[1][i + 18])]:
            np.testing.assert_array_equal(got_logit, logit[0])
            np.testing.assert_array_equal(got_noise, noise[0])


def test_without_noise_the_stage_gives_the_same_hole_map_and_no_noise_map(samples, perturbed):
    """A style calibrated without noise asks for the hole map alone: the same bits, one crop or
    a batch."""
    stage = StyleStageForStyle(*perturbed)
    x = np.stack([s.clean for s in samples])
    logit, noise = stage.maps(x)
    only, none = stage.maps(x, noise=False)
    assert none is None and noise.shape == logit.shape
    np.testing.assert_array_equal(only, logit)
    one, no_noise = stage.maps_of_one(x[0], noise=False)
    assert no_noise is None
    np.testing.assert_array_equal(one, stage.maps_of_one(x[0])[0])


@pytest.mark.parametrize("channels_last", [True, False])
def test_the_upsampled_sum_is_interpolate_plus_add_bit_for_bit(channels_last):
    """style_inference._add_upsampled (numpy's 2x2 blocks for a channels_last batch) against
    torch's nearest interpolation and sum."""
    gen = torch.Generator().manual_seed(3)
    full = torch.randn(3, 8, 16, 12, generator=gen)
    low = torch.randn(3, 8, 8, 6, generator=gen)
    if channels_last:
        full, low = (t.contiguous(memory_format=torch.channels_last) for t in (full, low))
    want = full + torch.nn.functional.interpolate(low, scale_factor=2.0, mode="nearest")
    got = _add_upsampled(full.clone(memory_format=torch.preserve_format), low)
    assert torch.equal(got, want)


def test_smooth_is_its_formula_bit_for_bit(crops, frames):
    """compose.smooth (in place, float64 sums straight from float32) against its formula written
    out with the stats module's masked low-pass."""
    for depth in [d for d, _ in crops] + [frames[0][0][100:400, 150:500]]:
        valid = depth > 0
        low = np.where(valid, masked_lowpass(depth, valid, SMOOTH_KERNEL_PX), 0.0)
        step = np.where(valid & (np.abs(low - depth) <= compose_module.SMOOTH_STEP_MM), low - depth, 0.0)
        want = (depth + np.float32(0.7) * step).astype(np.float32)
        np.testing.assert_array_equal(compose_module.smooth(depth, valid, 0.7), want)


@pytest.mark.parametrize("cal", [Calibration(0.0), Calibration(0.0, interior_bias=-1.5),
                                 Calibration(0.0, edge_bias=2.25, interior_bias=0.75),
                                 Calibration(0.0, edge_bias=-40.0, interior_bias=40.0)])
def test_the_hole_searches_counts_are_the_composed_crops_ratios_bit_for_bit(style, cal):
    """calibrate's hole searches count holes without composing (learned._HoleRates): the same
    float as the mean hole_ratio / edge_hole_ratio of the composed calibration crops."""
    crops, placed, fields = learned._calibration_inputs(style._stage)
    masks = [mm > 0 for mm, _ in crops]
    interiors = [m & ~edge_band(m) for m in masks]
    outs = learned._styled_crops(crops, placed, fields, cal)
    assert learned._HoleRates(crops, placed, fields, interiors).mean(cal) == learned._mean_of(hole_ratio, outs,
                                                                                              interiors)
    assert learned._HoleRates(crops, placed, fields, [edge_band(m) for m in masks]).mean(cal) == \
        learned._mean_of(edge_hole_ratio, outs, masks)


def test_the_hand_window_is_the_mean_of_the_measured_pixels_exactly(crops, frames):
    for depth, camera in [*crops, *frames]:
        vs, us = np.nonzero(depth > 0)
        want = transform_at(camera.backproject(float(us.mean()), float(vs.mean()), float(np.median(depth[depth > 0]))),
                            camera)
        got = _hand_window(depth, camera)
        assert (got.u0, got.v0, got.size_px) == (want.u0, want.v0, want.size_px)
        np.testing.assert_array_equal(got.centre, want.centre)
    assert _hand_window(np.zeros((8, 8), np.float32), crops[0][1]) is None


def test_the_hand_mean_is_the_masked_lowpass_on_the_hand_bit_for_bit(crops):
    rng = np.random.default_rng(1)
    for depth, _ in crops:
        valid = depth > 0
        r = np.where(valid, rng.normal(0, 3, depth.shape).astype(np.float32), 0.0)
        np.testing.assert_array_equal(compose_module._hand_mean(r, valid)[valid],
                                      masked_lowpass(r, valid, GEOMETRY_KERNEL_PX)[valid])
        np.testing.assert_array_equal(compose_module._hand_mean(depth, valid, SMOOTH_KERNEL_PX)[valid],
                                      masked_lowpass(depth, valid, SMOOTH_KERNEL_PX)[valid])  # smooth's mean


def reference_compose(depth, logit, noise_mm, cal: Calibration, seed):
    """engine.style.compose.compose with the stats module's masked low-pass (the slow form of
    _hand_mean), so the apply path's shortcuts are checked against independent code."""
    n, z = whole_image_fields(depth, seed)
    valid = depth > 0
    if cal.smoothing > 0.0:
        depth = compose_module.smooth(depth, valid, cal.smoothing)
    if cal.edge_bias or cal.interior_bias:
        logit = logit + np.where(compose_module.outline_band(valid), np.float32(cal.edge_bias),
                                 np.float32(cal.interior_bias))
    r = np.float32(0.0)
    if cal.noise_gain > 0.0:
        n = np.clip(n, -NOISE_CLIP_SIGMA, NOISE_CLIP_SIGMA)
        r = np.where(valid, np.float32(cal.noise_gain) * noise_mm * n, 0.0)
        low = masked_lowpass(r, valid, GEOMETRY_KERNEL_PX)
        r = np.clip(r - np.nan_to_num(low), -RESIDUAL_MAX_MM, RESIDUAL_MAX_MM)
    u = 1.0 / (1.0 + np.exp(-LOGISTIC_PROBIT * z))  # a hole where u < sigmoid(logit), as it was written
    holes = valid & (u < 1.0 / (1.0 + np.exp(-np.clip(logit, -30.0, 30.0))))
    return np.where(valid & ~holes, depth + r, 0.0).astype(np.float32)


def whole_image_fields(depth, seed):
    """compose_module.draw's fields (drawn on the hand's box) placed in the whole image."""
    n, z = compose_module.draw(depth, seed)
    box = compose_module.hand_box(depth > 0)
    n_full, z_full = np.zeros(depth.shape, np.float32), np.zeros(depth.shape, np.float32)
    n_full[box], z_full[box] = n, z
    return n_full, z_full


def reference_apply(style: LearnedStyle, depth, camera, seed, strength):
    """LearnedStyle.apply as it was: the reference network per crop, np.nonzero's window,
    fancy-indexed maps and the reference compose."""
    valid = depth > 0
    vs, us = np.nonzero(valid)
    t = transform_at(camera.backproject(float(us.mean()), float(vs.mean()), float(np.median(depth[valid]))), camera)
    logit, noise = (m[0] for m in stage_maps(style._model, crop_depth(depth, t)[None], style.code))
    h, w = depth.shape
    u_lo, u_hi = max(t.u0, 0), min(t.u0 + t.size_px, w)
    v_lo, v_hi = max(t.v0, 0), min(t.v0 + t.size_px, h)
    ju = np.clip(((np.arange(u_lo, u_hi) - t.u0 + 0.5) / t.scale).astype(np.int64), 0, CROP_SIZE - 1)
    jv = np.clip(((np.arange(v_lo, v_hi) - t.v0 + 0.5) / t.scale).astype(np.int64), 0, CROP_SIZE - 1)
    styled = depth.copy()
    styled[v_lo:v_hi, u_lo:u_hi] = reference_compose(depth[v_lo:v_hi, u_lo:u_hi], logit[jv[:, None], ju[None, :]],
                                                     noise[jv[:, None], ju[None, :]], style.calibration, seed)
    return blend_with_clean(depth, styled, strength, seed)


def assert_same_frame(got: np.ndarray, want: np.ndarray) -> None:
    np.testing.assert_array_equal(got > 0, want > 0)  # the same holes, pixel for pixel
    both = (got > 0) & (want > 0)
    assert np.abs(got[both] - want[both]).max() <= DEPTH_TOLERANCE_MM


@pytest.mark.parametrize("strength", [1.0, 0.6])
def test_apply_agrees_with_the_reference_path(style, crops, frames, strength):
    assert style.calibration.noise_gain > 0  # noise is drawn, not only holes
    for seed, (depth, camera) in enumerate([*crops, *frames]):
        want = reference_apply(style, depth, camera, seed, strength)
        got = style.apply(depth, camera, seed, strength)
        assert got.dtype == np.float32 and not np.shares_memory(got, depth)
        assert_same_frame(got, want)


def test_apply_batch_agrees_with_the_reference_path(style, crops):
    depths, cameras = [d for d, _ in crops], [c for _, c in crops]
    got = style.apply_batch(depths, cameras, list(range(len(crops))), 1.0)
    for seed, (g, depth, camera) in enumerate(zip(got, depths, cameras)):
        assert_same_frame(g, reference_apply(style, depth, camera, seed, 1.0))


@pytest.mark.parametrize("cal", [Calibration(noise_gain=1.3, edge_bias=-0.8, interior_bias=0.4),
                                 Calibration(noise_gain=0.0, smoothing=0.7, edge_bias=0.5)])
def test_compose_on_the_hands_box_is_compose_on_the_whole_image_bit_for_bit(crops, frames, cal):
    """compose works on compose.hand_box only: the same bits as its steps run on the whole
    image, for hands inside the image and hands cut by its border."""
    rng = np.random.default_rng(5)
    images = [d for d, _ in crops[:3]] + [frames[0][0][100:400, 150:500], frames[0][0][200:, 250:]]
    boxes = [compose_module.hand_box(d > 0) for d in images]
    inside = [b[0].start > 0 and b[1].start > 0 and b[0].stop < d.shape[0] and b[1].stop < d.shape[1]
              for b, d in zip(boxes, images)]
    assert any(inside) and not all(inside)
    for seed, depth in enumerate(images):
        logit = rng.normal(-2.0, 1.5, depth.shape).astype(np.float32)
        noise = rng.uniform(0.5, 3.0, depth.shape).astype(np.float32)
        want = compose_module._compose(depth, depth > 0, logit, noise, cal, *whole_image_fields(depth, seed))
        np.testing.assert_array_equal(compose_module.compose(depth, logit, noise, cal, seed), want)
        if cal.noise_gain == 0.0:  # without noise the noise map is never read
            np.testing.assert_array_equal(compose_module.compose(depth, logit, None, cal, seed), want)


def test_the_seeds_fields_are_drawn_on_the_hands_box_with_the_same_distribution(frames):
    """draw: the fields cover the hand's box only, the noise only its measured pixels (standard
    normal there, 0 elsewhere), the holes' field a unit-variance blob field; a seed draws the same
    fields again, and its holes do not depend on whether noise is drawn."""
    depth = frames[0][0]
    valid = depth > 0
    box = compose_module.hand_box(valid)
    assert depth[box].size < depth.size // 4
    n, z = compose_module.draw(depth, 3)
    assert n.shape == z.shape == depth[box].shape
    assert not n[~valid[box]].any() and abs(n[valid[box]].std() - 1.0) < 0.05 and abs(n[valid[box]].mean()) < 0.05
    assert abs(z[valid[box]].std() - 1.0) < 0.1
    again_n, again_z = compose_module.draw(depth, 3)
    np.testing.assert_array_equal(again_n, n)
    np.testing.assert_array_equal(compose_module.draw(depth, 3, noise=False)[1], z)
    assert compose_module.draw(depth, 3, noise=False)[0] is None
    empty = compose_module.draw(np.zeros((20, 30), np.float32), 3)
    assert empty[0].size == empty[1].size == 0


def test_generate_batch_styles_one_pose_alone_and_many_at_the_batch_shape(style, samples, monkeypatch):
    """One pose (a live frame) runs the stage on its crop alone, not on a padded batch of
    BATCH crops; several poses run at the batch shape; both equal within float32 rounding."""
    from engine.camera import KINECT_V1
    from engine.models.inference import InferenceGenerator
    from engine.models.generator import load_generator
    from engine.runtime_batch import generate_batch

    gen = InferenceGenerator(load_generator()[0])
    joints = np.stack([np.asarray(denormalise_joints(s.y, s.transform), np.float64) for s in samples[:3]])
    calls = []
    run = style._stage._run
    monkeypatch.setattr(style._stage, "_run", lambda x, noise: calls.append(len(x)) or run(x, noise))
    one = generate_batch(gen, joints[:1], KINECT_V1, style, seeds=7, frames=False).depth[0]
    assert calls == [1]
    many = generate_batch(gen, joints, KINECT_V1, style, seeds=7, frames=False).depth[0]
    assert calls == [1, BATCH]
    assert (one > 0).sum() > 500
    assert np.mean((one > 0) != (many > 0)) < 1e-3  # a hole decision may flip at float32 rounding
    both = (one > 0) & (many > 0)
    assert np.abs(one[both] - many[both]).max() < 1e-2  # mm
