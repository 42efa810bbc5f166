"""Supervised silhouette/depth heads and the "mask" output mode (issue 15 section 2).

The loss terms on hand-computed cases; the mask output composes exactly d where m > 0; a
checkpoint without an `output` key loads as a soft model with its cut; a tiny run trained with
the heads evaluates through `python main.py evaluate`.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.data.crop import BACKGROUND
from engine.losses import depth_l1, head_loss, mask_bce
from engine.models.checkpoint import save_checkpoint
from engine.models.generator import SkeletonUNet, generate_raw_and_cut, load_generator, network_output
from engine.models.inference import InferenceGenerator
from engine.train.calibration import IDENTITY_CUT
from engine.train.gan import train_gan
from generator_fixtures import poses  # noqa: F401  (fixture)
from tiny_runs import TINY_HEADS_RUN

ROOT = Path(__file__).resolve().parents[1]


def test_mask_bce_on_a_hand_computed_case():
    target = torch.tensor([[[[0.2, 1.0]]]])  # one hand pixel, one background pixel
    logit = torch.tensor([[[[0.0, math.log(3.0)]]]])  # p = 1/2 on the hand, 3/4 on the background
    expected = (-math.log(0.5) - math.log(0.25)) / 2
    assert float(mask_bce(logit, target)) == pytest.approx(expected, rel=1e-6)


def test_depth_l1_counts_only_the_true_silhouette():
    target = torch.tensor([[[[0.2, -0.4, 1.0, 0.99]]]])  # two hand pixels; 0.99 is background (>= 0.98)
    depth = torch.tensor([[[[0.5, -0.4, -1.0, -1.0]]]])
    assert float(depth_l1(depth, target)) == pytest.approx(0.15, abs=1e-7)  # (0.3 + 0) / 2
    assert float(depth_l1(depth, torch.ones_like(target))) == 0.0  # no hand: no term, no NaN


def test_head_loss_weights_each_term():
    target = torch.tensor([[[[0.2, 1.0]]]])
    logit, depth = torch.zeros(1, 1, 1, 2), torch.zeros(1, 1, 1, 2)
    total, bce, l1 = head_loss(logit, depth, target, 2.0, 10.0)
    assert float(bce) == pytest.approx(math.log(2.0), rel=1e-6)
    assert float(l1) == pytest.approx(0.2, abs=1e-7)
    assert float(total) == pytest.approx(2.0 * math.log(2.0) + 10.0 * 0.2, rel=1e-6)


def test_mask_output_is_the_depth_head_where_the_logit_is_positive():
    out = torch.tensor([[[[2.0, -1.0], [0.0, 0.5]], [[0.3, 0.3], [-0.2, 5.0]]]])
    hard = network_output(out, "mask")
    d = torch.tanh(out[0, 1])
    expected = torch.tensor([[[[d[0, 0], BACKGROUND], [BACKGROUND, d[1, 1]]]]])
    assert torch.equal(hard, expected)
    soft = network_output(out, "soft")
    m = torch.sigmoid(out[:, :1])
    assert torch.allclose(soft, m * torch.tanh(out[:, 1:]) + (1 - m) * BACKGROUND)


def _trained_like(output: str) -> SkeletonUNet:
    torch.manual_seed(2)
    g = SkeletonUNet(base=4, levels=2, full_res=4, output=output)
    g.train()(torch.randn(4, 21, 3) * 0.3)  # batch-norm statistics off their defaults
    return g.eval()


def test_mask_model_eval_output_and_its_fast_path_agree():
    g = _trained_like("mask")
    y = (torch.randn(3, 21, 3) * 0.3).numpy()
    v = np.tile(np.array([[0.1, -0.2, 0.3, 0.2, -0.1]], np.float32), (3, 1))
    with torch.no_grad():
        out = g.body(torch.from_numpy(InferenceGenerator(g).encode(y, v).numpy()).contiguous())
    raw, cut = generate_raw_and_cut(g, y, v)
    assert set(np.unique(raw[np.asarray(out[:, 0] <= 0)])) <= {BACKGROUND}
    hand = np.asarray(out[:, 0] > 1e-3)
    assert np.allclose(raw[hand], np.tanh(out[:, 1].numpy())[hand], atol=1e-3)
    g.set_silhouette_cut(*IDENTITY_CUT)
    _, identity = generate_raw_and_cut(g, y, v)
    assert np.array_equal(identity, raw)  # the identity cut changes nothing of a hard output
    assert g.config["output"] == "mask"


def test_checkpoint_without_output_key_loads_soft_with_its_cut(tmp_path):
    g = _trained_like("soft")
    g.set_silhouette_cut(5, 0.5, 0.9, 3, 0.08)
    assert "output" not in g.config  # old checkpoints never had it; a soft model writes none
    save_checkpoint(tmp_path / "g.safetensors", g, g.config, {})
    h, _ = load_generator(tmp_path / "g.safetensors")
    assert h.output == "soft"
    y, view = torch.randn(2, 21, 3) * 0.3, torch.tensor([[0.1, -0.2, 0.3, 0.2, -0.1]] * 2)
    with torch.no_grad():
        soft, _ = g.forward_parts(y, view)
        assert torch.equal(h(y, view), g.cut_silhouette(soft))
        assert float(((soft > -1) & (soft < 1)).float().mean()) > 0.5  # soft values, not a hard mask


def test_mask_model_round_trips_its_output_mode(tmp_path):
    g = _trained_like("mask")
    save_checkpoint(tmp_path / "g.safetensors", g, g.config, {})
    h, _ = load_generator(tmp_path / "g.safetensors")
    assert h.output == "mask"
    with pytest.raises(ValueError, match="unknown generator output"):
        SkeletonUNet(output="blurry")


def test_train_with_heads_then_evaluate(tmp_path):
    run = tmp_path / "run"
    summary = train_gan(run, TINY_HEADS_RUN)
    assert summary["finished"]
    header = (run / "log.csv").read_text().splitlines()[0].split(",")
    assert {"loss_g_mask", "loss_g_depth"} <= set(header)
    record = [json.loads(r) for r in (run / "log.jsonl").read_text().splitlines() if '"eval"' in r][-1]
    assert {"raw_iou", "raw_full_mae_mm", "full_mae_mm"} <= set(record["eval"])
    g, info = load_generator(run / "generator.safetensors")
    assert g.output == "mask" and info["objective"]["mask_weight"] == 1.0
    proc = subprocess.run([sys.executable, "main.py", "evaluate", "--model", str(run / "generator.safetensors"),
                           "--data", "sim", "--count", "2", "--seed", "1000003", "--bank-size", "4",
                           "--cache-dir", str(tmp_path / "cache"), "--threads", "1", "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert result["raw"]["n"] == 2 and "cut" in result


def test_negative_head_weight_is_refused(tmp_path):
    with pytest.raises(ValueError, match="--mask-weight must be >= 0"):
        train_gan(tmp_path / "run", {"mask_weight": -1.0, "cache_size": 4})


def _with_statistics(model: SkeletonUNet) -> SkeletonUNet:
    """Batch-norm statistics and affine parameters away from their defaults, then eval mode."""
    with torch.no_grad():
        for _ in range(3):
            model.train()(torch.randn(4, 21, 3) * 0.3)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return model.eval()


def test_shuffle_stage_runs_at_64_and_folds_to_the_same_output(poses):
    torch.manual_seed(3)
    model = _with_statistics(SkeletonUNet(base=6, levels=3, full_res=8, full_stage="shuffle"))
    assert model.head.out_channels == 8 and model.config["full_stage"] == "shuffle"
    y, view = poses
    with torch.no_grad():
        ref = model(torch.from_numpy(y), torch.from_numpy(view))[:, 0].numpy()
    assert ref.shape == (len(y), 128, 128)
    assert np.abs(InferenceGenerator(model)(y, view) - ref).max() < 1e-3
    with pytest.raises(ValueError, match="unknown generator full stage"):
        SkeletonUNet(full_stage="bicubic")


def test_shuffle_mask_model_runs_on_every_backend(poses):
    torch.manual_seed(4)
    model = _with_statistics(SkeletonUNet(base=6, levels=3, full_res=8, full_stage="shuffle", output="mask"))
    y, view = poses
    for backend in ("torch", "int8"):
        g = InferenceGenerator(model, backend=backend)
        raw, cut = g.raw_and_cut(y, view)
        assert raw.shape == (len(y), 128, 128) and np.isfinite(raw).all()
        assert backend == "torch" or g.backend == "int8" or g.fallback  # int8 runs, or says why not


def test_conv_flops_of_the_shipped_and_the_soft_generator():
    from engine.bench_runtime import conv_gflop
    from engine.models import SOFT_GENERATOR_PATH

    # the default: 0.409 before its thickness plane, one input channel more in two convolutions (0.4116),
    # then its output stage's 3x3 (16 -> 16) and 1x1 (16 -> 8) convolutions at 64x64 (+0.0199)
    for path, expected in ((None, 0.4315), (SOFT_GENERATOR_PATH, 1.043)):
        g = InferenceGenerator(load_generator(*(() if path is None else (path,)))[0])
        enc = g.encode(np.zeros((1, 21, 3), np.float32), np.zeros((1, 5), np.float32))
        assert conv_gflop(g.net, enc) == pytest.approx(expected, abs=0.001)
