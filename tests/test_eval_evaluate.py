"""`evaluate` end to end with tiny models built here, and the shipped models when present."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from app.cli import main
from engine.data.readers.sim import SimConfig
from engine.data.crop_bank import open_bank
from engine.eval.evaluate import evaluate, sim_source, training_stream
from engine.models.checkpoint import register, save_checkpoint
from engine.models.generator import SkeletonUNet
from engine.models.pose_net import PoseNet
from engine.seeds import TEST_SEED

KEYS = {"silhouette_iou", "boundary_f", "fg_mae_mm", "full_mae_mm", "finger_iou_mean", "pose_error_mm",
        "pose_error_reference_mm", "kid", "kid_std", "n"}


@register("test_nan_generator")
class NanGenerator(nn.Module):
    """Background everywhere, except NaN for poses whose wrist x is positive.

    The NaN comes from finite weights, as an overflowing real network's would: scale * x *
    scale overflows to inf for x > 0, and inf - inf is NaN; x <= 0 gives 0 - 0.
    """

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(1e30))

    def forward(self, y: torch.Tensor, view: torch.Tensor | None = None) -> torch.Tensor:
        big = self.scale * torch.relu(y[:, 0, 0]) * self.scale
        return torch.ones(y.shape[0], 1, 128, 128) + (big - big)[:, None, None, None]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    g = SkeletonUNet(base=4, levels=2, full_res=4)
    save_checkpoint(folder / "g.safetensors", g, g.config, {"training_data": {"data": "sim", "seed": 0}})
    e = PoseNet(widths=[2, 2, 4, 4, 4], hidden=8)
    save_checkpoint(folder / "e.safetensors", e, {"widths": [2, 2, 4, 4, 4], "hidden": 8}, {})
    save_checkpoint(folder / "nan.safetensors", NanGenerator(), {}, {})
    return {"g": folder / "g.safetensors", "e": folder / "e.safetensors", "nan": folder / "nan.safetensors",
            "g_module": g.eval(), "e_module": e.eval()}


def run_json(capsys, *args: str) -> dict:
    assert main(["evaluate", *args, "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # exactly one line: the JSON object
    return json.loads(out)


def test_baseline_from_the_evaluated_stream_itself_is_exact(models, tmp_path):
    # A bank drawn from the very poses evaluated retrieves each reference image itself.
    stream = SimConfig(seed=11)
    bank = open_bank(tmp_path, stream, 6)
    result = evaluate(models["g_module"], models["e_module"], sim_source(6, config=stream, batch=4), bank)
    nn_r = result["nn_baseline"]
    assert nn_r["silhouette_iou"] == pytest.approx(1.0) and nn_r["fg_mae_mm"] == pytest.approx(0.0, abs=0.1)
    assert nn_r["pose_error_mm"] == pytest.approx(nn_r["pose_error_reference_mm"], abs=0.05)
    assert result["raw"]["n"] == result["cut"]["n"] == nn_r["n"] == 6 and result["skipped"] == {}
    assert 0.0 <= result["cut"]["silhouette_iou"] <= 1.0 and 0.0 <= result["raw"]["silhouette_iou"] <= 1.0
    sim = result["simulator"]  # the upper line: the reference against itself
    assert sim["silhouette_iou"] == 1.0 and sim["boundary_f"] == 1.0 and sim["full_mae_mm"] == 0.0
    assert sim["finger_iou_mean"] == 1.0 and sim["kid"] != sim["kid"]  # KID left out (NaN)
    # The frame as shown, against the simulator's full render: the simulator's own crop pasted
    # loses only what the 128² crop cannot hold; outside the cube the frame is the simulator's.
    frame = sim["full_frame"]
    assert frame["n"] == 6 and frame["iou"] > 0.95 and frame["boundary_f"] > 0.9 and frame["window_iou"] > 0.95
    assert frame["iou_ci95"][0] <= frame["iou"] <= frame["iou_ci95"][1]
    assert set(result["raw"]["full_frame"]) == set(frame) == set(result["cut"]["full_frame"])
    assert "full_frame" not in nn_r  # another pose's crop: no frame of this pose to score
    # The line a G not told the thickness cannot pass: the same joints rendered as the mean hand
    mean_hand = result["simulator_mean_hand"]
    assert mean_hand["n"] == 6 and 0.85 < mean_hand["silhouette_iou"] < 1.0 and mean_hand["full_mae_mm"] > 0.0
    assert "full_frame" not in mean_hand


def test_cli_json_on_sim(models, tmp_path, capsys):
    r = run_json(capsys, "--model", str(models["g"]), "--estimator", str(models["e"]), "--data", "sim",
                 "--count", "5", "--batch", "2", "--bank-size", "8", "--cache-dir", str(tmp_path))
    assert KEYS <= set(r["raw"]) and KEYS <= set(r["cut"]) and KEYS <= set(r["nn_baseline"])
    assert r["raw"]["n"] == 5 and r["seed"] == TEST_SEED and r["split"] == "test" and r["held_out"] is True
    assert r["nn_baseline"]["bank_seed"] == 0 and r["nn_baseline"]["bank_size"] == 8
    assert "training_data" in r["nn_baseline"]["bank_stream"]
    assert r["estimator"].endswith("e.safetensors") and r["data"] == "sim"
    assert set(r["raw"]["bar"]) >= {"passed", "pose_error_ratio"} and "bar" in r["cut"]
    assert 0 <= r["cut"]["silhouette_iou"] <= 1 and r["cut"]["pose_error_reference_mm"] > 0
    assert r["nn_baseline"]["matches"] == "pose and view"


def test_cli_backend_is_chosen_and_reported(models, tmp_path, capsys):
    common = ("--estimator", str(models["e"]), "--data", "sim", "--count", "3", "--batch", "2",
              "--bank-size", "8", "--cache-dir", str(tmp_path))
    r = run_json(capsys, "--model", str(models["g"]), *common)
    assert r["backend"] == "torch" and "backend_fallback" not in r
    r = run_json(capsys, "--model", str(models["g"]), "--backend", "int8", *common)
    assert r["backend"] == "int8" and r["cut"]["n"] == 3
    r = run_json(capsys, "--model", str(models["nan"]), "--backend", "int8", *common)
    assert r["backend"] == "torch" and "torch only" in r["backend_fallback"]
    r = run_json(capsys, "--model", str(models["g"]), "--backend", "auto", *common)
    assert r["backend"] == "int8" and "backend_fallback" not in r  # the runtime's choice on a CPU


def test_cli_table_and_dataset_folder(models, tmp_path, capsys):
    assert main(["render", "--preset", "fist", "--out", str(tmp_path / "ds")]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--model", str(models["g"]), "--estimator", str(models["e"]),
                 "--data", str(tmp_path / "ds"), "--count", "3", "--bank-size", "4",
                 "--cache-dir", str(tmp_path / "cache")]) == 0
    out = capsys.readouterr().out
    assert "nn baseline" in out and "silhouette IoU" in out and "G raw" in out and "G with cut" in out
    assert "bar" not in out  # the bar is for held-out sim poses only


def test_non_finite_outputs_are_failures_counted_and_fail_the_bar(models, tmp_path, capsys):
    r = run_json(capsys, "--model", str(models["nan"]), "--estimator", str(models["e"]), "--data", "sim",
                 "--count", "8", "--bank-size", "4", "--cache-dir", str(tmp_path))
    failed = r["non_finite_outputs"]
    assert 0 < failed < 8 and r["raw"]["n"] == 8 and r["skipped"] == {}  # counted, not dropped
    assert "cut" not in r  # a model without a silhouette cut has only its raw output
    assert r["raw"]["bar"]["passed"] is False and r["raw"]["bar"]["non_finite_outputs"] == failed
    # the failures score as empty crops: the finite ones are empty too, so IoU is exactly 0
    assert r["raw"]["silhouette_iou"] == 0.0


def test_non_finite_outputs_lower_the_scores_instead_of_vanishing(models, tmp_path):
    stream = SimConfig(seed=11)
    bank = open_bank(tmp_path, stream, 4)
    nan_model = NanGenerator().eval()
    poses = sim_source(8, config=stream, batch=4)
    result = evaluate(nan_model, models["e_module"], poses, bank)
    assert result["raw"]["n"] == 8 and 0 < result["non_finite_outputs"] < 8
    assert np.isfinite(result["raw"]["pose_error_mm"])  # estimated on the empty crops, not NaN


def test_wrong_model_is_a_one_line_error(models, tmp_path, capsys):
    rc = main(["evaluate", "--model", str(models["e"]), "--estimator", str(models["e"]), "--data", "sim",
               "--count", "2", "--cache-dir", str(tmp_path)])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("error: model is not a pose-to-depth generator") and err.count("\n") == 1


def test_training_stream_is_read_from_the_checkpoint():
    info = {"training_data": {"data": "sim", "seed": 4, "sensors": ["none", "tof"], "cameras": ["kinect_v1"]}}
    stream, origin = training_stream({}, info)
    assert (stream.seed, stream.sensors) == (4, ("none", "tof")) and "training_data" in origin
    stream, origin = training_stream({}, {})
    assert stream.seed == 0 and "defaults" in origin


def test_shipped_generator_on_a_few_held_out_poses(tmp_path, capsys):
    r = run_json(capsys, "--data", "sim", "--count", "16", "--bank-size", "64", "--cache-dir", str(tmp_path))
    assert KEYS <= set(r["cut"]) and r["cut"]["n"] == 16 and r["held_out"] is True
    cut, raw = r["cut"], r["raw"]
    assert 0.5 < cut["silhouette_iou"] <= 1.0 and 0.5 < raw["silhouette_iou"] <= 1.0
    assert 0.0 <= cut["fg_mae_mm"] < 30.0 and 0.0 <= cut["full_mae_mm"] < 60.0
    assert 0.0 < cut["pose_error_reference_mm"] < 60.0 and cut["pose_error_mm"] < 100.0
    assert np.isfinite(cut["kid"]) and np.isfinite(cut["kid_std"]) and cut["kid_std"] > 0
    assert 0.3 < cut["finger_iou_mean"] <= 1.0
    # the shown frame is scored too; its IoU includes the simulator's forearm outside the cube
    assert 0.5 < cut["full_frame"]["window_iou"] <= cut["full_frame"]["iou"] + 0.05
    assert r["simulator"]["full_frame"]["iou"] > 0.95


REAL_NYU_LABEL = (Path(__file__).resolve().parents[2] / "shared" / "data" / "real_depth_samples"
                  / "nyu" / "nyu_test_groundtruth_label_frame1.txt")


@pytest.mark.skipif(not REAL_NYU_LABEL.is_file(), reason="shared NYU sample frame not present")
def test_shipped_generator_on_the_real_nyu_frame_with_missing_joints(tmp_path, capsys):
    # 9 of 21 joints are missing in the 14-point label: the generator's input is completed by
    # the fitted hand model, the metrics still use the labels alone.
    r = run_json(capsys, "--data", f"nyu:{REAL_NYU_LABEL}", "--count", "1", "--bank-size", "64",
                 "--cache-dir", str(tmp_path))
    assert r["cut"]["n"] == 1
    assert r["cut"]["silhouette_iou"] > 0.6  # without completion: 0.05 (a few bones drawn)
    assert r["cut"]["fg_mae_mm"] < 20.0


STYLE_KEYS = {"kid", "hole_ratio", "edge_hole_ratio", "hf_energy"}


@pytest.mark.parametrize("style", [["--style", "sr305_palm_a"], ["--style", "tof", "--learned"], ["--style", "tof"]])
def test_cli_style_evidence_keys(models, tmp_path, capsys, style):
    r = run_json(capsys, "--model", str(models["g"]), "--estimator", str(models["e"]), "--data", "sim",
                 "--count", "3", "--batch", "2", "--bank-size", "4", "--cache-dir", str(tmp_path), *style)
    assert KEYS <= set(r["raw"]) and KEYS <= set(r["cut"])  # the generator's evaluation is still there
    assert STYLE_KEYS <= set(r["styled"]) and STYLE_KEYS <= set(r["unstyled"])
    stats = STYLE_KEYS - {"kid"}
    assert set(r["style_reference"]) == stats | {f"{k}_se" for k in stats}
    assert {f"{k}_se" for k in stats} <= set(r["styled"]) and 0.0 <= r["outlier_ratio"] <= 1.0
    assert r["styled"]["n"] == r["unstyled"]["n"] == 3 and r["geometry_shift_mm"] >= 0
    assert set(r["style_check"]) >= {"kid_lower", "hf_energy_half_way", "geometry_kept", "passed"}
    expected = "SensorStyle" if style == ["--style", "tof"] else "LearnedStyle"
    assert r["style_stage"] == expected


def test_cli_learned_on_an_image_style_is_a_one_line_error(models, tmp_path, capsys):
    rc = main(["evaluate", "--model", str(models["g"]), "--estimator", str(models["e"]), "--data", "sim",
               "--count", "2", "--style", "sr305_palm_a", "--learned"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "--learned applies to sensor styles" in err[0]


def test_kid_is_no_win_within_its_spread():
    from engine.eval.evaluate import beats_baseline

    base = {"silhouette_iou": 0.5, "boundary_f": 0.5, "finger_iou_mean": 0.5, "fg_mae_mm": 9.0,
            "full_mae_mm": 9.0, "pose_error_mm": 30.0, "kid": 0.0001, "kid_std": 0.001}
    within = {**base, "kid": -0.00089, "kid_std": 0.0008}
    assert beats_baseline(within, base)["kid"] is False
    assert beats_baseline({**base, "kid": -0.002}, base)["kid"] is True
    assert beats_baseline({**base, "kid": -0.002, "kid_std": float("nan")}, base)["kid"] is False
