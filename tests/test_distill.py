"""`train distill`: a tiny run writes a loadable student with its cut and scores, and resumes."""
from __future__ import annotations

import json

import numpy as np

from app.cli import main
from engine.models.generator import load_generator
from engine.models.inference import InferenceGenerator

TINY = ["--cache-size", "8", "--eval-count", "4", "--batch-size", "2", "--checkpoint-every", "2",
        "--log-every", "1", "--base", "6", "--full-res", "4", "--no-progress"]


def test_a_tiny_distillation_runs_resumes_and_exports_a_generator(tmp_path):
    run = tmp_path / "run"
    assert main(["train", "distill", "--out", str(run), "--steps", "2", *TINY]) == 0
    student, info = load_generator(run / "generator.safetensors")
    assert student.config["base"] == 6 and info["step"] == 2
    assert {"iou", "fg_mae_mm"} <= set(info["eval"]) and "calibrated_on" in info["silhouette_cut"]
    assert info["objective"]["teacher"].endswith("generator_soft.safetensors")
    out = InferenceGenerator(student)(np.zeros((1, 21, 3), np.float32))
    assert out.shape == (1, 128, 128) and np.isfinite(out).all()
    # Resume: the step count grows from the checkpoint, the log holds each step once.
    assert main(["train", "distill", "--out", str(run), "--steps", "3", *TINY]) == 0
    steps = [json.loads(line).get("step") for line in (run / "log.jsonl").read_text().splitlines()]
    rows = [r.split(",")[0] for r in (run / "log.csv").read_text().splitlines()[1:]]
    assert rows == ["1", "2", "3"] and 3 in steps
    assert load_generator(run / "generator.safetensors")[1]["step"] == 3


def test_distill_rejects_changed_options_in_one_line(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "distill", "--out", str(run), "--steps", "1", *TINY]) == 0
    capsys.readouterr()
    assert main(["train", "distill", "--out", str(run), "--steps", "1", *TINY[:-1], "--seed", "5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--seed 5" in err[0]
