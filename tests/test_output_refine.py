"""G's output-resolution stage (`SkeletonUNet(refine=..., refine_stage=...)`, `train gan
--g-refine --g-refine-stage`), in both forms: the config names it only when set, a G without it
starts one with it as itself, the int8 runtime keeps in float32 what must be (the whole "full"
stage; the "features" stage's 1x1 convolution, its 3x3 one in int8) and its simulation matches,
quantization-aware training keeps its trained weights, and a training run builds it from a plain
init and teaches it."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from engine.models.checkpoint import save_checkpoint
from engine.models.fast_encoding import encode_pose_numpy
from engine.models.generator import ENCODING_SIZE, SkeletonUNet, load_generator
from engine.models.inference import InferenceGenerator, fold_generator
from engine.models.int8 import quantize_body, runtime_qparams, simulate_body, stream_poses
from engine.train import common
from engine.train.gan import generator_param_groups, train_gan
from engine.train.quant_aware import unfold_into
from engine.train.warm_start import read_init

SIZES = {"base": 4, "levels": 2, "full_res": 4, "output": "mask", "full_stage": "shuffle", "shape_input": True}
STAGES = ["full", "features"]


def _trained_looking(g: SkeletonUNet, seed: int) -> SkeletonUNet:
    """`g` with its BatchNorm statistics moved off their defaults and some hand in its crops."""
    torch.manual_seed(seed)
    y, view, thickness = stream_poses(seed, 0, 4)
    g.train()(torch.from_numpy(y), torch.from_numpy(view), thickness=torch.from_numpy(thickness))
    with torch.no_grad():
        g.head.bias[:4] = 0.5  # the silhouette logit of the four sub-pixels (pixel shuffle's first map)
    return g.eval()


def _with_live_stage(g: SkeletonUNet, seed: int = 0) -> SkeletonUNet:
    """`g` with its stage's last convolution moved off zero, so that the stage acts."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        g.refine.conv2.weight.copy_(0.3 * torch.randn(g.refine.conv2.weight.shape, generator=generator))
    return g


def _encodings(g: SkeletonUNet, count: int = 6, seed: int = 4) -> torch.Tensor:
    y, view, thickness = stream_poses(seed, 0, count)
    return g.condition(torch.from_numpy(encode_pose_numpy(y, view, size=ENCODING_SIZE)), torch.from_numpy(thickness))


def test_the_config_names_the_stage_only_when_set(tmp_path):
    assert "refine" not in SkeletonUNet(**SIZES).config and SkeletonUNet(**SIZES).refine is None
    assert "refine_stage" not in SkeletonUNet(**SIZES, refine_stage="features").config
    for stage in STAGES:
        g = SkeletonUNet(**SIZES, refine=3, refine_stage=stage)
        save_checkpoint(tmp_path / "g.safetensors", g, g.config)
        loaded, _ = load_generator(tmp_path / "g.safetensors")
        assert loaded.config["refine"] == 3 and loaded.refine.conv1.out_channels == 3
        assert loaded.config.get("refine_stage", "full") == stage and type(loaded.refine) is type(g.refine)
    with pytest.raises(ValueError, match="refine"):
        SkeletonUNet(**SIZES, refine=-1)
    with pytest.raises(ValueError, match="refine stage"):
        SkeletonUNet(**SIZES, refine=3, refine_stage="half")


@pytest.mark.parametrize("stage", STAGES)
def test_the_stage_changes_the_output_only_once_its_last_convolution_moves(stage):
    g = _trained_looking(SkeletonUNet(**SIZES, refine=3, refine_stage=stage), 1)
    x = _encodings(g)
    with torch.no_grad():
        maps = g.body(x)
        _with_live_stage(g)
        moved = g.body(x)
    assert maps.shape == moved.shape == (6, 2, 128, 128)
    assert (moved - maps).abs().mean() > 1e-3


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("backend", ["torch", "int8"])
def test_a_g_without_the_stage_starts_one_with_it_as_itself(tmp_path, backend, stage):
    plain = _trained_looking(SkeletonUNet(**SIZES), 3)
    save_checkpoint(tmp_path / "plain.safetensors", plain, plain.config)
    refined = SkeletonUNet(**SIZES, refine=3, refine_stage=stage)
    refined.load_state_dict(read_init(tmp_path / "plain.safetensors", refined))
    refined.eval()
    y, view, thickness = stream_poses(4, 0, 5)
    want = InferenceGenerator(plain, backend=backend).raw_and_cut(y, view, thickness)
    got = InferenceGenerator(refined, backend=backend).raw_and_cut(y, view, thickness)
    assert (want[0] < 0.98).any()  # some hand: the comparison means something
    if backend == "torch":
        assert all(np.array_equal(a, b) for a, b in zip(want, got))
    else:  # int8 calibrates its scales on the body's activations, which are the same
        assert all(np.abs(a - b).max() < 1e-5 for a, b in zip(want, got))


def test_init_refuses_a_stage_the_run_does_not_have_in_one_line(tmp_path):
    g = SkeletonUNet(**SIZES, refine=3)
    save_checkpoint(tmp_path / "g.safetensors", g, g.config)
    with pytest.raises(ValueError, match="--g-refine 3"):
        read_init(tmp_path / "g.safetensors", SkeletonUNet(**SIZES))
    with pytest.raises(ValueError, match="--g-refine 3"):
        read_init(tmp_path / "g.safetensors", SkeletonUNet(**SIZES, refine=5))
    with pytest.raises(ValueError, match="--g-refine-stage full"):
        read_init(tmp_path / "g.safetensors", SkeletonUNet(**SIZES, refine=3, refine_stage="features"))


@pytest.mark.parametrize("stage", STAGES)
def test_int8_keeps_the_stage_in_float32_and_the_simulation_matches_it(stage):
    g = _with_live_stage(_trained_looking(SkeletonUNet(**SIZES, refine=3, refine_stage=stage), 2))
    folded = fold_generator(g)
    runtime = quantize_body(folded)
    modules = dict(runtime.named_modules())
    last = modules["net.refine.conv2"]
    assert type(last) is torch.nn.Conv2d and last.weight.dtype == torch.float32  # not a quantized conv
    first_is_int8 = hasattr(modules["net.refine.conv1"], "scale")  # a quantized convolution has an output scale
    assert first_is_int8 == (stage == "features")
    x = _encodings(folded)
    with torch.no_grad():
        exact, int8 = folded.body(x), runtime(x)
        simulated = simulate_body(folded, runtime_qparams(runtime), x)
        idle = copy.deepcopy(folded)  # the same G with its stage's last convolution back at zero
        idle.refine.conv2.weight.zero_()
        idle.refine.conv2.bias.zero_()
        int8_idle = quantize_body(idle)(x)
    assert (int8 - exact).abs().mean() > 1e-4  # int8 rounds the body
    assert (simulated - int8).abs().mean() < 0.5 * (int8 - exact).abs().mean()
    # the stage acts in the runtime, and the simulation follows it there
    assert (int8_idle - int8).abs().mean() > 10 * (simulated - int8).abs().mean()


@pytest.mark.parametrize("stage", STAGES)
def test_unfolding_keeps_the_trained_stage(stage):
    teacher = _trained_looking(SkeletonUNet(**SIZES, refine=3, refine_stage=stage), 6)
    student = fold_generator(teacher)
    _with_live_stage(student, seed=1)
    model = unfold_into(teacher, student)
    assert torch.equal(model.refine.conv2.weight, student.refine.conv2.weight)
    x = _encodings(student)
    with torch.no_grad():
        assert torch.allclose(fold_generator(model).body(x), student.body(x), atol=1e-4)


@pytest.mark.parametrize("stage", STAGES)
def test_train_gan_builds_the_stage_from_a_plain_init_and_trains_it(tmp_path, stage):
    plain = _trained_looking(SkeletonUNet(**SIZES), 7)
    save_checkpoint(tmp_path / "plain.safetensors", plain, plain.config)
    tiny = {"g_base": 4, "g_levels": 2, "g_full": 4, "d_base": 4, "batch_size": 2, "cache_size": 4, "eval_count": 2,
            "checkpoint_every": 2, "preview_every": 2, "log_every": 1, "threads": 1, "steps": 2, "seed": 2,
            "g_output": "mask", "g_full_stage": "shuffle", "mask_weight": 1.0, "depth_weight": 1.0,
            "g_shape_input": True, "g_refine": 3, "g_refine_stage": stage, "init": str(tmp_path / "plain.safetensors")}
    train_gan(tmp_path / "run", tiny)
    g, info = load_generator(tmp_path / "run" / "generator.safetensors")
    assert g.config["refine"] == 3 and info["options"]["g_refine"] == 3
    assert g.config.get("refine_stage", "full") == stage == info["options"]["g_refine_stage"]
    assert torch.count_nonzero(g.refine.conv2.weight) > 0  # it started at zero and learnt
    assert not torch.equal(g.head.weight, plain.head.weight)  # the body trains with it


def test_the_stage_can_learn_at_its_own_rate_which_follows_the_schedule():
    g = SkeletonUNet(**SIZES, refine=3)
    options = {"lr_g": 5e-5, "g_refine_lr": 1e-3}
    optimiser = torch.optim.Adam(generator_param_groups(g, options), lr=options["lr_g"])
    body, stage = optimiser.param_groups
    assert {id(p) for p in stage["params"]} == {id(p) for p in g.refine.parameters()}
    assert len(body["params"]) + len(stage["params"]) == len(list(g.parameters()))
    common.set_lr(optimiser, common.cosine_lr(options["lr_g"], 50, 100))  # halfway down the cosine
    assert stage["lr"] == pytest.approx(body["lr"] * 20)
    assert len(generator_param_groups(g, {"lr_g": 5e-5, "g_refine_lr": None})) == 1


@pytest.mark.parametrize("option", [{"g_refine_lr": 1e-3}, {"g_refine_stage": "features"}])
def test_a_stage_option_without_a_stage_is_refused_in_one_line(tmp_path, option):
    with pytest.raises(ValueError, match="--" + next(iter(option)).replace("_", "-")):
        train_gan(tmp_path / "run", {**option, "steps": 1})
    assert not (tmp_path / "run").exists()  # refused before anything is written
