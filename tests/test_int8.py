"""The int8 backend of G and the CPU silhouette cut: int8 agrees with the float32 reference
within stated millimetres, is deterministic, falls back cleanly where it cannot run, and every
command that runs G can choose it."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch

from app.cli import main
from engine.models import int8
from engine.models.fast_cut import cut_silhouette_numpy
from engine.models.generator import SkeletonUNet, load_generator
from engine.models.inference import InferenceGenerator
from engine.models import SOFT_GENERATOR_PATH
from generator_fixtures import poses  # noqa: F401  (fixture)

HALF_CUBE_MM = 125.0  # one crop unit
# int8 vs float32 on the 10 poses below (measured: 0.26 mm, 0.08 %, 0.84 mm): the stated
# agreement, with room for another CPU's rounding, far below what a broken model gives
# (a wrong scale or a clipped input moves these by tens of mm and percent).
RAW_MEAN_MM = 1.0  # mean |int8 - float32| of the raw output over the crop
MASK_DISAGREE = 0.005  # fraction of pixels that are hand in one cut and not in the other
CUT_DEPTH_MEAN_MM = 3.0  # mean |int8 - float32| where both cuts have hand


@pytest.fixture(scope="module")
def shipped():
    """The soft-output generator the int8 agreement below was measured on. The default
    (mask output, 16 base channels) is not held to it: measured on these poses, its int8 hand
    depth differs by 5.1 mm on average (its card), so it stays on float32."""
    return load_generator(SOFT_GENERATOR_PATH)[0]


@pytest.fixture(scope="module")
def int8_shipped(shipped):
    return InferenceGenerator(shipped, backend="int8")


def test_int8_agrees_with_the_float32_reference_in_mm(shipped, int8_shipped, poses):
    assert int8_shipped.backend == "int8" and int8_shipped.fallback is None
    y, view = poses
    raw_ref, cut_ref = InferenceGenerator(shipped).raw_and_cut(y, view)
    raw, cut = int8_shipped.raw_and_cut(y, view)
    assert raw.dtype == np.float32 and raw.shape == raw_ref.shape
    assert np.abs(raw - raw_ref).mean() * HALF_CUBE_MM < RAW_MEAN_MM
    hand_ref, hand = cut_ref < 0.98, cut < 0.98
    assert hand_ref.sum() > 10_000  # hands were drawn
    assert (hand != hand_ref).mean() < MASK_DISAGREE
    assert np.abs(cut - cut_ref)[hand & hand_ref].mean() * HALF_CUBE_MM < CUT_DEPTH_MEAN_MM
    assert np.array_equal(int8_shipped(y, view), cut)


def test_int8_is_the_same_model_on_every_load(shipped, int8_shipped, poses):
    y, view = poses
    again = InferenceGenerator(shipped, backend="int8")
    assert np.array_equal(again.raw_and_cut(y, view)[0], int8_shipped.raw_and_cut(y, view)[0])


def test_int8_falls_back_to_float32_and_says_why(shipped, poses, monkeypatch, caplog):
    y, view = poses
    monkeypatch.setattr(int8, "int8_unavailable", lambda: "no x86 quantized engine here")
    with caplog.at_level(logging.WARNING):
        gen = InferenceGenerator(shipped, backend="int8")
    assert gen.backend == "torch" and "no x86 quantized engine here" in gen.fallback
    assert "no x86 quantized engine here" in caplog.text
    assert np.array_equal(gen(y, view), InferenceGenerator(shipped)(y, view))


def test_unknown_backend_is_one_line():
    with pytest.raises(ValueError, match="unknown generator backend 'fp16'"):
        InferenceGenerator(SkeletonUNet(base=4, levels=2, full_res=4), backend="fp16")


def test_union_cat_keeps_every_input_range():
    # Upsampled features (0..8) beside an encoding that goes negative: a plain quantized cat
    # requantizes both to the first range and clips the negatives to 0; union_cat keeps them.
    feats = torch.quantize_per_tensor(torch.linspace(0, 8, 64), 8 / 127, 0, torch.quint8)
    enc = torch.quantize_per_tensor(torch.linspace(-1, 1, 64), 2 / 127, 64, torch.quint8)
    out = int8.union_cat([feats, enc], 0).dequantize()
    step = (8 + 1) / 127
    assert np.abs(out.numpy() - np.concatenate([feats.dequantize(), enc.dequantize()])).max() <= step / 2 + 1e-6
    with pytest.warns(UserWarning, match="same quantization parameters"):
        plain = torch.cat([feats, enc], 0)
    assert plain.dequantize()[64:].min() >= 0  # why union_cat exists


def test_cpu_cut_is_the_torch_cut_bit_for_bit(shipped, poses):
    y, view = poses
    raw, _ = InferenceGenerator(shipped).raw_and_cut(y, view)
    for edge, frac, hand_max, depth_window, step in ((shipped.edge_window, shipped.edge_fraction, shipped.hand_max,
                                                      shipped.depth_window, shipped.depth_step), (9, 0.3, 0.7, 1, 0.0)):
        shipped_cut = SkeletonUNet(edge_window=edge, edge_fraction=frac, hand_max=hand_max,
                                   depth_window=depth_window, depth_step=step)
        ref = shipped_cut.cut_silhouette(torch.from_numpy(raw)[:, None])[:, 0].numpy()
        fast = cut_silhouette_numpy(raw, edge, frac, hand_max, depth_window, step)
        assert np.array_equal(fast, ref)
        assert (ref < 0.98).sum() > 1000


def test_generate_records_the_backend_it_ran(tmp_path):
    assert main(["generate", "--preset", "fist", "--device", "cpu", "--backend", "int8", "--out", str(tmp_path)]) == 0
    pose = json.loads((tmp_path / "sample_pose.json").read_text())
    assert pose["provenance"]["backend"] == "int8"
