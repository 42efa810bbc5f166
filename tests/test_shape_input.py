"""A shape-aware G (`--g-shape-input true`): told each hand's thickness, from training to the frame.

The simulator scales every radius by shape.thickness and moves no joint, so a G that sees the joints
alone draws the mean hand; these tests check that the thickness reaches G wherever a hand has one
(training batches, the held-out and evaluation crops, the runtime's frame, batches of poses), that a
G without the input starts a shape-aware one as itself, and that old files keep their meaning.
"""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from engine.data.crop import CROP_SIZE
from engine.data.crop_cache import build_cache, sim_crops, stream_thickness
from engine.data.readers.sim import SimConfig, crop_sample
from engine.eval import evaluate as evaluate_module
from engine.eval.evaluate import sim_source
from engine.eval.full_frame import FrameRef
from engine.eval.metrics import silhouette_iou
from engine.hand.sampler import MEAN_THICKNESS
from engine.models.checkpoint import save_checkpoint
from engine.models.discriminator import PatchCritic
from engine.models.generator import SkeletonUNet, load_generator
from engine.models.inference import InferenceGenerator
from engine.models.int8 import stream_poses
from engine.models.pose_encoding import ENCODING_CHANNELS
from engine.runtime import FrameRequest, compute_frame
from engine.runtime_batch import generate_batch
from app.cli import main
from engine.camera import KINECT_V1
from engine.train import common
from engine.train.gan import gan_step, train_gan
from engine.train.gan_options import DEFAULTS
from engine.train.warm_start import read_init


def _trained_looking(g: SkeletonUNet, seed: int) -> SkeletonUNet:
    """`g` with its BatchNorm statistics moved off their defaults, in eval mode."""
    torch.manual_seed(seed)
    y, view, _ = stream_poses(seed, 0, 4)
    g.train()(torch.from_numpy(y), torch.from_numpy(view))
    return g.eval()


def _plane_weights(g: SkeletonUNet) -> list[torch.Tensor]:
    """The weights that read the thickness plane: the last input channel of the two convolutions
    that read the body's input."""
    return [g.down[0][0].weight[:, -1], g.full[0].weight[:, -1]]


def test_condition_adds_one_plane_of_the_thickness_and_only_for_a_shape_aware_g():
    enc = torch.rand(3, ENCODING_CHANNELS, 8, 8)
    plain, aware = SkeletonUNet(base=4, levels=2, full_res=4), SkeletonUNet(base=4, levels=2, full_res=4, shape_input=True)
    assert plain.condition(enc, torch.tensor([0.9, 1.0, 1.1])) is enc
    out = aware.condition(enc, torch.tensor([0.9, 1.0, 1.1]))
    assert out.shape == (3, ENCODING_CHANNELS + 1, 8, 8)
    assert torch.equal(out[:, :ENCODING_CHANNELS], enc)
    assert torch.allclose(out[:, -1, 0, 0], torch.tensor([-1.0, 0.0, 1.0]), atol=1e-5)  # the range spans [-1, 1]
    assert torch.all(aware.condition(enc)[:, -1] == (1.0 - MEAN_THICKNESS) / 0.1)  # no thickness: the mean hand


def test_the_config_says_shape_input_only_when_set(tmp_path):
    assert "shape_input" not in SkeletonUNet(base=4, levels=2, full_res=4).config  # old files keep their config
    g = SkeletonUNet(base=4, levels=2, full_res=4, shape_input=True)
    save_checkpoint(tmp_path / "g.safetensors", g, g.config)
    loaded, _ = load_generator(tmp_path / "g.safetensors")
    assert loaded.shape_input and loaded.config["shape_input"] is True
    assert loaded.down[0][0].weight.shape[1] == ENCODING_CHANNELS + 1


def test_a_g_without_the_input_starts_a_shape_aware_one_as_itself(tmp_path):
    plain = _trained_looking(SkeletonUNet(base=4, levels=2, full_res=4, output="mask", full_stage="shuffle"), 3)
    save_checkpoint(tmp_path / "plain.safetensors", plain, plain.config)
    aware = SkeletonUNet(base=4, levels=2, full_res=4, output="mask", full_stage="shuffle", shape_input=True)
    aware.load_state_dict(read_init(tmp_path / "plain.safetensors", aware))
    aware.eval()
    assert all(torch.count_nonzero(w) == 0 for w in _plane_weights(aware))
    y, view, thickness = stream_poses(4, 0, 5)
    assert np.ptp(thickness) > 0.05  # the poses' hands differ in thickness
    want = InferenceGenerator(plain).raw_and_cut(y, view)
    got = InferenceGenerator(aware).raw_and_cut(y, view, thickness)
    assert all(np.array_equal(a, b) for a, b in zip(want, got))
    # the other way round is refused in one line
    save_checkpoint(tmp_path / "aware.safetensors", aware, aware.config)
    with pytest.raises(ValueError, match="--g-shape-input true"):
        read_init(tmp_path / "aware.safetensors", SkeletonUNet(base=4, levels=2, full_res=4))


def _aware_g(seed: int = 5) -> SkeletonUNet:
    """A shape-aware G whose output depends on the thickness (the plane's weights made large)."""
    g = SkeletonUNet(base=4, levels=2, full_res=4, output="mask", full_stage="shuffle", shape_input=True)
    g = _trained_looking(g, seed)
    with torch.no_grad():
        for w in _plane_weights(g):
            w.copy_(torch.randn(w.shape) * 3.0)
        g.head.bias[0] = 0.0  # some hand in the crop
    return g


@pytest.mark.parametrize("backend", ["torch", "int8"])
def test_inference_draws_the_thickness_it_is_told(backend):
    g = _aware_g()
    y, view, _ = stream_poses(6, 0, 4)
    gen = InferenceGenerator(g, backend=backend)
    thin, thick = gen.raw_and_cut(y, view, np.full(4, 0.9))[0], gen.raw_and_cut(y, view, np.full(4, 1.1))[0]
    assert np.abs(thin - thick).mean() > 1e-3
    # None is the mean hand, one value per pose, and the float32 path is the reference's
    assert np.array_equal(gen(y, view), gen(y, view, np.full(4, MEAN_THICKNESS)))
    if backend == "torch":
        with torch.no_grad():
            reference = g(torch.from_numpy(y), torch.from_numpy(view), thickness=torch.full((4,), 1.1))[:, 0].numpy()
        assert np.abs(reference - gen(y, view, np.full(4, 1.1))).max() < 1e-4


def test_the_cache_keeps_each_hand_s_thickness_and_derives_it_for_an_older_cache(tmp_path):
    config = SimConfig(seed=12)
    crops = sim_crops(config, 0, 3, clean=True)
    assert np.array_equal(crops.thickness, np.float32([crop_sample(config, i).hand.shape.thickness for i in range(3)]))
    assert np.array_equal(stream_thickness(config, 0, 3), crops.thickness)
    assert torch.equal(crops.batch(np.array([2, 0]), torch.device("cpu")).thickness, torch.from_numpy(crops.thickness[[0, 2]]))
    options = {**DEFAULTS, "cache_size": 3, "eval_count": 2, "seed": 12}
    train, held_out, calib = build_cache(tmp_path, options)
    made = np.array(train.thickness)
    assert np.array_equal(made, crops.thickness)
    for part in ("train", "eval", "calib"):
        (tmp_path / "cache" / part / "thickness.npy").unlink()  # as a cache made before it was kept
    again = build_cache(tmp_path, options)
    assert np.array_equal(np.array(again[0].thickness), made)
    assert np.array_equal(np.array(again[1].thickness), np.array(held_out.thickness))
    assert (tmp_path / "cache" / "calib" / "thickness.npy").exists()


def test_a_training_step_teaches_g_the_thickness():
    torch.manual_seed(0)
    crops = sim_crops(SimConfig(seed=3), 0, 4, clean=True)
    x, y, v, thickness = crops.batch(np.arange(4), torch.device("cpu"))
    g = SkeletonUNet(base=4, levels=2, full_res=4, output="mask", full_stage="shuffle", shape_input=True)
    with torch.no_grad():
        for w in _plane_weights(g):
            w.zero_()
    d = PatchCritic(base=4)
    opt_g, opt_d = torch.optim.Adam(g.parameters(), lr=1e-3), torch.optim.Adam(d.parameters(), lr=1e-3)
    sg, sd = common.grad_scaler(x.device), common.grad_scaler(x.device)
    gan_step(g, d, opt_g, opt_d, sg, sd, x, y, v, mask_weight=10.0, depth_weight=10.0, thickness=thickness)
    assert all(torch.count_nonzero(w) > 0 for w in _plane_weights(g))  # the plane reached G's loss


def test_train_gan_builds_a_shape_aware_g_from_a_plain_init(tmp_path):
    plain = _trained_looking(SkeletonUNet(base=4, levels=2, full_res=4, output="mask"), 7)
    save_checkpoint(tmp_path / "plain.safetensors", plain, plain.config)
    tiny = {"g_base": 4, "g_levels": 2, "g_full": 4, "d_base": 4, "batch_size": 2, "cache_size": 4, "eval_count": 2,
            "checkpoint_every": 2, "preview_every": 2, "log_every": 1, "threads": 1, "steps": 2, "seed": 2,
            "g_output": "mask", "mask_weight": 1.0, "depth_weight": 1.0, "g_shape_input": True,
            "init": str(tmp_path / "plain.safetensors")}
    train_gan(tmp_path / "run", tiny)
    g, info = load_generator(tmp_path / "run" / "generator.safetensors")
    assert g.shape_input and info["options"]["g_shape_input"] is True
    assert json.loads((tmp_path / "run" / "options.json").read_text())["g_shape_input"] is True


def test_evaluation_draws_the_mean_hand_line_from_the_same_joints():
    sample = crop_sample(SimConfig(seed=12), 1)
    ref = FrameRef(sample.hand.joints(), sample.hand.shape.thickness, sample.transform)
    assert np.array_equal(ref.render_crop(sample.hand.shape.thickness), sample.clean)  # the reference's own render
    mean = ref.render_crop(MEAN_THICKNESS)
    assert abs(sample.hand.shape.thickness - MEAN_THICKNESS) > 0.02
    assert 0.8 < silhouette_iou(mean, sample.clean)[0] < 0.995  # the same joints, another hand


class _Told(Exception):
    pass


def test_evaluation_tells_g_each_reference_s_thickness(monkeypatch):
    want = np.float32([crop_sample(SimConfig(seed=12), i).hand.shape.thickness for i in range(3)])
    assert np.array_equal(next(sim_source(3, seed=12, batch=3).batches).thickness, want)
    told = []

    def generate(generator, y, view, batch_size=64, thickness=None):
        told.append(thickness)
        raise _Told

    monkeypatch.setattr(evaluate_module, "generate_raw_and_cut", generate)
    with pytest.raises(_Told):
        evaluate_module.evaluate(None, None, sim_source(3, seed=12, batch=3), None)
    assert np.array_equal(told[0], want)


JOINTS = crop_sample(SimConfig(seed=8), 0).hand.joints()


def test_the_frame_passes_the_request_s_thickness_to_g():
    told: list[float] = []

    def generator(y, transform, cut=True, thickness=1.0):
        told.append(thickness)
        return np.full((CROP_SIZE, CROP_SIZE), 1.0, np.float32)

    request = FrameRequest(JOINTS, KINECT_V1, use_generator=True)
    compute_frame(replace(request, thickness=1.07), generator)
    compute_frame(request, generator)
    assert told == [1.07, 1.0]


def test_a_batch_of_poses_is_drawn_at_each_hand_s_thickness():
    gen = InferenceGenerator(_aware_g(9))
    joints = np.stack([JOINTS, JOINTS])
    batch = generate_batch(gen, joints, KINECT_V1, frames=False, thicknesses=[0.9, 1.1])
    assert np.abs(batch.crops[0] - batch.crops[1]).mean() > 1e-3  # the same pose, two hands
    alone = generate_batch(gen, joints[:1], KINECT_V1, frames=False, thicknesses=1.1)
    assert np.allclose(alone.crops[0], batch.crops[1], atol=1e-5)


def test_train_qat_trains_a_shape_aware_g_through_its_thickness_plane(tmp_path):
    teacher = _aware_g(11)
    with torch.no_grad():  # zero: they can only move if the training poses' thickness reaches them
        for w in _plane_weights(teacher):
            w.zero_()
    save_checkpoint(tmp_path / "aware.safetensors", teacher, teacher.config, {"kind": "generator", "step": 1})
    run = tmp_path / "qat"
    assert main(["train", "qat", "--teacher", str(tmp_path / "aware.safetensors"), "--out", str(run), "--steps", "2",
                 "--batch-size", "2", "--eval-count", "3", "--checkpoint-every", "2", "--log-every", "1",
                 "--recalibrate-every", "2", "--lr", "1e-3", "--no-progress"]) == 0
    model, info = load_generator(run / "generator.safetensors")
    assert model.shape_input and np.isfinite(info["quant_aware"]["after"]["raw_mm"])
    assert all(torch.count_nonzero(w) > 0 for w in _plane_weights(model))  # the plane's weights were trained too
