"""`python main.py generate`: the generator's depth frame, pose and preview, and its errors."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from app.cli import main
from engine.data.crop import make_transform
from engine.data.paste import BLEND_BAND_CROP_PX
from engine.hand.pose_io import record_from_dict
from engine.models.checkpoint import save_checkpoint
from engine.models import DEFAULT_GENERATOR_PATH, SOFT_GENERATOR_PATH
from engine.models.generator import SkeletonUNet


@pytest.fixture()
def all_hand_model(tmp_path) -> Path:
    """A tiny generator whose mask is on everywhere and whose depth is the cube centre's."""
    g = SkeletonUNet(base=4, levels=2, full_res=4)
    with torch.no_grad():
        g.head.weight.zero_()
        g.head.bias.copy_(torch.tensor([12.0, 0.0]))  # mask logit 12 (hand), depth tanh(0) = 0
    path = tmp_path / "tiny.safetensors"
    save_checkpoint(path, g, g.config, {"step": 0})
    return path


def read_outputs(out: Path) -> tuple[np.ndarray, dict]:
    depth = cv2.imread(str(out / "sample_depth.png"), cv2.IMREAD_UNCHANGED)
    assert depth.dtype == np.uint16 and depth.ndim == 2
    assert cv2.imread(str(out / "sample_preview.png")) is not None
    return depth, json.loads((out / "sample_pose.json").read_text())


def gs_own_pixels(depth: np.ndarray, pose: dict) -> np.ndarray:
    """The frame's pixels that are G's alone: its crop window less the band where the
    simulator's surround render takes over (engine.data.paste)."""
    record = record_from_dict(pose)
    t = make_transform(record.joints, record.camera)
    inset = int(np.ceil(BLEND_BAND_CROP_PX * t.scale))
    return depth[max(t.v0 + inset, 0):t.v0 + t.size_px - inset, max(t.u0 + inset, 0):t.u0 + t.size_px - inset]


def test_generate_writes_render_files(tmp_path, all_hand_model, capsys):
    out = tmp_path / "out"
    assert main(["generate", "--preset", "fist", "--model", str(all_hand_model), "--out", str(out)]) == 0
    depth, pose = read_outputs(out)
    inner = gs_own_pixels(depth, pose)
    record = record_from_dict(pose)
    centre_z = make_transform(record.joints, record.camera).centre[2]
    assert inner.size > 1000 and np.all(np.abs(inner.astype(float) - centre_z) <= 1.0)
    assert pose["provenance"]["source"] == "generator" and pose["provenance"]["style"] == "none"


@pytest.mark.skipif(not DEFAULT_GENERATOR_PATH.exists(), reason="shipped generator not trained yet")
def test_generate_with_the_shipped_default(tmp_path):
    out = tmp_path / "out"
    assert main(["generate", "--preset", "open_palm", "--out", str(out)]) == 0
    depth, pose = read_outputs(out)
    z = np.asarray(pose["joints"])[:, 2]
    hand = depth[depth > 0].astype(float)
    assert hand.size > 500  # an open palm covers thousands of pixels at preset distance
    assert np.all((hand > z.min() - 60) & (hand < z.max() + 60))


def test_bad_model_file_is_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint")
    assert main(["generate", "--model", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "bad.safetensors" in err and "\n" not in err
    assert main(["generate", "--model", str(tmp_path / "missing.safetensors"), "--out", str(tmp_path / "o")]) == 2


def test_generate_applies_a_bank_style_to_gs_depth(tmp_path, all_hand_model, capsys):
    plain, styled = tmp_path / "plain", tmp_path / "styled"
    assert main(["generate", "--preset", "fist", "--model", str(all_hand_model), "--out", str(plain)]) == 0
    args = ["generate", "--preset", "fist", "--model", str(all_hand_model), "--style", "sr305_palm_a",
            "--seed", "4", "--out", str(styled)]
    assert main(args) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["style sr305_palm_a: uint16, 0.125 mm per unit (given)"]  # the unit, one line
    before, _ = read_outputs(plain)
    after, pose = read_outputs(styled)
    assert not np.array_equal(after, before)  # the style changed G's depth ...
    hand = (after > 0) & (before > 0)
    assert np.abs(after[hand].astype(float) - before[hand]).mean() < 3.0  # ... not its geometry
    assert pose["provenance"]["style"] == "sr305_palm_a" and pose["provenance"]["seed"] == 4
    assert pose["provenance"]["style_assumption"].endswith("(given)")


@pytest.mark.parametrize("style, words", [
    ("kinect", ["unknown style 'kinect'", "bank names"]),
    ("{tmp}/missing.png", ["missing.png", "no such file"]),
    ("{tmp}/notes.png", ["notes.png", "not an image"]),
])
def test_a_bad_style_is_one_line_and_nothing_is_written(tmp_path, all_hand_model, capsys, style, words):
    (tmp_path / "notes.png").write_text("not a picture")
    code = main(["generate", "--model", str(all_hand_model), "--style", style.format(tmp=tmp_path),
                 "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and all(w in err for w in words), err
    assert not (tmp_path / "o").exists()


@pytest.mark.skipif(not DEFAULT_GENERATOR_PATH.exists(), reason="shipped generator not trained yet")
def test_generate_no_cut_shows_the_raw_network_output(tmp_path):
    # The soft-output generator, whose cut changes pixels (the shipped default's calibrated cut is
    # the identity on its hard output, so there both are the same image).
    soft = str(SOFT_GENERATOR_PATH)
    assert main(["generate", "--preset", "fist", "--model", soft, "--out", str(tmp_path / "cut")]) == 0
    assert main(["generate", "--preset", "fist", "--model", soft, "--no-cut", "--out", str(tmp_path / "raw")]) == 0
    cut, cut_pose = read_outputs(tmp_path / "cut")
    raw, raw_pose = read_outputs(tmp_path / "raw")
    assert cut_pose["provenance"]["silhouette_cut"] is True and raw_pose["provenance"]["silhouette_cut"] is False
    assert not np.array_equal(cut, raw)  # the cut changes the raw output's pixels


@pytest.mark.skipif(not DEFAULT_GENERATOR_PATH.exists(), reason="shipped generator not trained yet")
def test_generate_thickness_reaches_the_shipped_shape_aware_generator(tmp_path):
    # The default G is told the hand's thickness (SkeletonUNet.condition): a thicker hand covers
    # more of G's own pixels (the crop less the band where the simulator's surround takes over,
    # which follows the thickness by itself), and the sample's pose file records it.
    areas = {}
    for t in ("0.9", "1.1"):
        out = tmp_path / t
        assert main(["generate", "--preset", "open_palm", "--thickness", t, "--out", str(out)]) == 0
        depth, pose = read_outputs(out)
        assert record_from_dict(pose).hand.shape.thickness == pytest.approx(float(t))
        areas[t] = int((gs_own_pixels(depth, pose) > 0).sum())
    assert areas["1.1"] > 1.05 * areas["0.9"]
