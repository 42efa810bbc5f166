"""`python main.py generate`: the generator's depth frame, pose and preview, and its errors."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from app.cli import main
from engine.models.checkpoint import save_checkpoint
from engine.models import DEFAULT_GENERATOR_PATH
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
    depth = cv2.imread(str(out / "depth.png"), cv2.IMREAD_UNCHANGED)
    assert depth.dtype == np.uint16 and depth.ndim == 2
    assert cv2.imread(str(out / "preview.png")) is not None
    return depth, json.loads((out / "pose.json").read_text())


def test_generate_writes_render_files(tmp_path, all_hand_model, capsys):
    out = tmp_path / "out"
    assert main(["generate", "--preset", "fist", "--model", str(all_hand_model), "--out", str(out)]) == 0
    depth, pose = read_outputs(out)
    joints = np.asarray(pose["joints"])
    z_c = (joints[:, 2].min() + joints[:, 2].max()) / 2  # the crop centre's depth
    hand = depth[depth > 0]
    assert hand.size > 1000 and np.all(np.abs(hand.astype(float) - z_c) <= 1.0)
    assert pose["source"] == "generator" and pose["style"] == "none"


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


def test_styles_other_than_none_are_not_available_yet(tmp_path, all_hand_model, capsys):
    code = main(["generate", "--model", str(all_hand_model), "--style", "kinect", "--out", str(tmp_path / "o")])
    assert code == 2
    assert "styles are not available yet" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
