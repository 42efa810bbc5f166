"""Quantization-aware distillation (`train qat`): the float32 simulation of the int8 runtime
rounds as the runtime does, the trained weights go back into an ordinary checkpoint exactly,
training through the simulation lowers its objective, and the command runs, resumes and
refuses what it must."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from app.cli import main
from engine.models import DEFAULT_GENERATOR_PATH, SOFT_GENERATOR_PATH
from engine.models.fast_encoding import encode_pose_numpy
from engine.models.generator import ENCODING_SIZE, load_generator
from engine.models.inference import fold_generator
from engine.models.int8 import quantize_body, runtime_qparams, simulate_body
from engine.seeds import DEVELOPMENT_SEED_OFFSET, TEST_SEED
from engine.train import quant_aware
from engine.train.quant_aware import quant_aware_loss, train_step, unfold_into
from generator_fixtures import poses  # noqa: F401  (fixture)

TINY = ["--batch-size", "2", "--eval-count", "3", "--checkpoint-every", "2", "--log-every", "1",
        "--recalibrate-every", "2", "--no-progress"]


@pytest.fixture(scope="module")
def encodings(poses):
    y, view = poses
    return torch.from_numpy(encode_pose_numpy(y, view, size=ENCODING_SIZE))


@pytest.mark.parametrize("path", [DEFAULT_GENERATOR_PATH, SOFT_GENERATOR_PATH], ids=["default", "soft"])
def test_the_simulation_rounds_as_the_int8_runtime_does(path, encodings):
    folded = fold_generator(load_generator(path)[0])
    runtime = quantize_body(folded)
    x = folded.condition(encodings)  # the body's input (the default is told the hand's thickness: here the mean)
    with torch.no_grad():
        exact, int8, simulated = folded.body(x), runtime(x), simulate_body(folded, runtime_qparams(runtime), x)
    # Measured on these poses: the simulation lies 0.003 (default) and 0.004 (soft: its bilinear
    # upsampling rounds in integers) from the runtime, int8 0.06 and 0.019 from float32. A
    # simulation that missed a rounding (the concatenations' union range, the input's scale)
    # lies as far from the runtime as float32 does.
    gap = (int8 - exact).abs().mean().item()
    assert gap > 0.005  # int8 does round: the comparison below means something
    assert (simulated - int8).abs().mean().item() < 0.5 * gap
    sign_flips = lambda a, b: ((a[:, 0] > 0) != (b[:, 0] > 0)).float().mean().item()
    assert sign_flips(simulated, int8) < 0.5 * sign_flips(exact, int8)


def test_unfolding_gives_back_the_trained_folded_weights(encodings):
    teacher = load_generator(DEFAULT_GENERATOR_PATH)[0]
    trained = fold_generator(teacher)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():  # stand-in for training: every folded weight moves
        for p in trained.parameters():
            p.add_(0.01 * p.abs().mean() * torch.randn(p.shape, generator=generator))
    model = unfold_into(teacher, trained)
    assert model.config == teacher.config  # the teacher's architecture and silhouette cut
    refolded = fold_generator(model)
    for (name, a), b in zip(trained.named_parameters(), refolded.parameters()):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-6), name
    for bn_model, bn_teacher in zip((m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)),
                                    (m for m in teacher.modules() if isinstance(m, torch.nn.BatchNorm2d))):
        assert torch.equal(bn_model.running_var, bn_teacher.running_var)  # statistics kept
    x = trained.condition(encodings)
    with torch.no_grad():
        assert torch.allclose(refolded.body(x), trained.body(x), atol=1e-4)


def test_training_through_the_simulation_lowers_its_objective(encodings):
    # The soft G: fixed (never retrained, unlike the default, which is already trained for int8)
    # and the full-resolution last stage's path through the simulation.
    teacher = fold_generator(load_generator(SOFT_GENERATOR_PATH)[0])
    student = fold_generator(load_generator(SOFT_GENERATOR_PATH)[0]).requires_grad_(True)
    qparams = runtime_qparams(quantize_body(student))
    with torch.no_grad():
        target = teacher.body(encodings)
        assert quant_aware_loss(target, target, 100.0)[0].item() == pytest.approx(0.0, abs=1e-7)
        start = quant_aware_loss(simulate_body(student, qparams, encodings), target, 100.0)[0].item()
    optimiser = torch.optim.Adam(student.parameters(), lr=1e-5)  # measured: 0.0105 -> 0.0075 in 8 steps
    for _ in range(8):
        train_step(student, teacher, qparams, optimiser, encodings, 100.0)
    with torch.no_grad():
        end = quant_aware_loss(simulate_body(student, qparams, encodings), target, 100.0)[0].item()
    assert start > 0 and end < 0.9 * start


def test_a_tiny_run_exports_an_ordinary_generator_and_resumes(tmp_path):
    run = tmp_path / "run"
    assert main(["train", "qat", "--out", str(run), "--steps", "3", *TINY]) == 0
    model, info = load_generator(run / "generator.safetensors")
    teacher, teacher_info = load_generator(DEFAULT_GENERATOR_PATH)
    assert model.config == teacher.config and info["step"] == teacher_info["step"]
    record = info["quant_aware"]
    assert record["step"] == 3 and record["teacher"].endswith("generator_default.safetensors")
    for agreement in (record["before"], record["after"]):
        assert set(agreement) == {"silhouette_disagreement", "depth_mm", "raw_mm"}
        assert 0 < agreement["raw_mm"] < 5  # int8 against float32: rounding, not a broken model
    # The scores are the float32 ancestor's, kept as such; the teacher's own int8 record is kept too.
    assert info["teacher_eval"] == teacher_info.get("eval", teacher_info.get("teacher_eval")) and "eval" not in info
    if "quant_aware" in teacher_info:
        assert record["teacher_quant_aware"] == teacher_info["quant_aware"]
    # Resume: the step count grows from the checkpoint, the log holds each step once.
    assert main(["train", "qat", "--out", str(run), "--steps", "4", *TINY]) == 0
    rows = [r.split(",")[0] for r in (run / "log.csv").read_text().splitlines()[1:]]
    assert rows == ["1", "2", "3", "4"]
    steps = [json.loads(line).get("step") for line in (run / "log.jsonl").read_text().splitlines()]
    assert 4 in steps and load_generator(run / "generator.safetensors")[1]["quant_aware"]["step"] == 4


def test_a_resumed_run_is_the_run_it_continues(tmp_path):
    whole, split = tmp_path / "whole", tmp_path / "split"
    assert main(["train", "qat", "--out", str(whole), "--steps", "4", *TINY]) == 0
    assert main(["train", "qat", "--out", str(split), "--steps", "4", "--max-minutes", "0", *TINY]) == 0
    assert load_generator(split / "generator.safetensors")[1]["quant_aware"]["step"] == 1  # stopped early
    assert main(["train", "qat", "--out", str(split), "--steps", "4", *TINY]) == 0
    a, b = (load_generator(r / "generator.safetensors")[0].state_dict() for r in (whole, split))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_qat_refuses_changed_options_and_the_test_stream_in_one_line(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "qat", "--out", str(run), "--steps", "1", *TINY]) == 0
    capsys.readouterr()
    assert main(["train", "qat", "--out", str(run), "--steps", "1", *TINY, "--lr", "1e-3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--lr 0.001" in err[0]
    seed = TEST_SEED - DEVELOPMENT_SEED_OFFSET
    assert main(["train", "qat", "--out", str(tmp_path / "t"), "--steps", "1", *TINY, "--seed", str(seed)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(TEST_SEED) in err[0]


def test_qat_says_in_one_line_when_int8_cannot_run(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(quant_aware, "int8_unavailable", lambda: "this torch build has no 'x86' quantized engine")
    assert main(["train", "qat", "--out", str(tmp_path / "run"), "--steps", "1", *TINY]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "int8" in err[0] and "x86" in err[0]
    assert not (tmp_path / "run" / "generator.safetensors").exists()
