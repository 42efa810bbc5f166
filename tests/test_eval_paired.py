"""evaluate's paired comparison: a model against itself differs by exactly nothing, a small
consistent loss that overlapping intervals hide is called worse, and `--compare-to` reports it."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from app.cli import main
from app.commands.evaluate import compare_spec
from engine.eval.paired import HIGHER_IS_BETTER, paired_differences
from engine.models.checkpoint import save_checkpoint
from engine.models.generator import SkeletonUNet
from engine.models.pose_net import PoseNet


def rows(rng: np.random.Generator, n: int = 300) -> dict[str, np.ndarray]:
    errors = lambda: np.stack([rng.uniform(0, 5000, n), rng.integers(500, 2000, n)], axis=1)  # noqa: E731
    return {"silhouette_iou": rng.uniform(0.85, 1.0, n), "boundary_f": rng.uniform(0.9, 1.0, n),
            "fg_mae_mm": errors(), "full_mae_mm": errors(), "finger_iou_mean": rng.uniform(0.5, 1.0, (n, 5)),
            "pose_error_mm": rng.uniform(10, 40, n)}


def test_the_same_images_differ_by_nothing_and_a_consistent_loss_is_worse():
    a = rows(np.random.default_rng(0))
    same = paired_differences(a, a)
    assert set(same) == set(HIGHER_IS_BETTER)
    assert all(d["difference"] == 0 and d["ci95"] == [0, 0] and d["verdict"] == "within noise" for d in same.values())
    # Every image a little worse: far inside either model's own spread, but consistent.
    b = {k: v.copy() for k, v in a.items()}
    b["silhouette_iou"] -= 0.001
    b["fg_mae_mm"][:, 0] *= 1.01
    worse = paired_differences(b, a)
    assert worse["silhouette_iou"]["verdict"] == "worse" and worse["silhouette_iou"]["difference"] == pytest.approx(-0.001)
    assert worse["fg_mae_mm"]["verdict"] == "worse" and worse["fg_mae_mm"]["ci95"][0] > 0
    assert worse["boundary_f"]["verdict"] == "within noise"
    assert paired_differences(a, b)["fg_mae_mm"]["verdict"] == "better"
    with pytest.raises(ValueError, match="same poses"):
        paired_differences(a, {k: v[:-1] for k, v in a.items()})


def test_compare_spec_keeps_colons_of_the_path():
    assert compare_spec("runs/g.safetensors:int8") == (compare_spec("runs/g.safetensors")[0], "int8")
    assert compare_spec("runs/g.safetensors")[1] == "torch"
    assert str(compare_spec("C:/g.safetensors")[0]) == "C:/g.safetensors"


def test_cli_compare_to_itself_and_to_its_int8(tmp_path, capsys):
    torch.manual_seed(0)
    g = SkeletonUNet(base=4, levels=2, full_res=4)
    save_checkpoint(tmp_path / "g.safetensors", g, g.config, {"training_data": {"data": "sim", "seed": 0}})
    e = PoseNet(widths=[2, 2, 4, 4, 4], hidden=8)
    save_checkpoint(tmp_path / "e.safetensors", e, {"widths": [2, 2, 4, 4, 4], "hidden": 8}, {})
    common = ["evaluate", "--model", str(tmp_path / "g.safetensors"), "--estimator", str(tmp_path / "e.safetensors"),
              "--data", "sim", "--count", "4", "--batch", "2", "--bank-size", "8", "--cache-dir", str(tmp_path)]
    assert main([*common, "--json", "--compare-to", str(tmp_path / "g.safetensors")]) == 0
    r = json.loads(capsys.readouterr().out)
    other = r["compare_to"]
    assert other["backend"] == "torch" and other["n"] == 4 and set(other) >= {"raw", "cut", "model"}
    for name in ("raw", "cut"):
        assert other[name]["scores"]["silhouette_iou"] == r[name]["silhouette_iou"]
        assert all(d["difference"] == 0 and d["verdict"] == "within noise" for d in other[name]["paired"].values())
    assert "per_image" not in r
    assert main([*common, "--compare-to", f"{tmp_path / 'g.safetensors'}:int8"]) == 0
    out = capsys.readouterr().out
    assert "paired against" in out and "(int8)" in out and "fg_mae_mm" in out
