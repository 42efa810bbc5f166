"""`train style`: a tiny run resumes where it stopped and refuses changed options."""
from __future__ import annotations

import json

import pytest

from app.cli import main
from engine.models.checkpoint import load_model
from engine.models.style_net import StyleStage
from engine.train import common
from engine.train.style import REAL_SAMPLES_DIR, STAGE_FILE, STATE_FILE

TINY = ["--batch-size", "2", "--cache-size", "4", "--st-every", "2", "--log-every", "1",
        "--checkpoint-every", "1", "--threads", "1", "--no-progress"]


def test_a_tiny_run_resumes_with_more_steps(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "style", "--out", str(out), "--steps", "2", *TINY]) == 0
    assert common.load_state(out / STATE_FILE)["step"] == 2
    first, _, info = load_model(out / STAGE_FILE)
    assert isinstance(first, StyleStage) and info["step"] == 2
    if REAL_SAMPLES_DIR.is_dir():  # ../shared's real frames, where this checkout has them
        assert any(name.startswith("nyu:") for name in info["training_data"]["real_frames"])
    else:
        assert info["training_data"]["real_frames"] == []  # trained on the sensor bank alone
    assert main(["train", "style", "--out", str(out), "--steps", "3", *TINY]) == 0
    assert common.load_state(out / STATE_FILE)["step"] == 3
    steps = [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3]  # the resumed run continued, it did not start over
    assert "step 3" in capsys.readouterr().out


def test_a_resume_with_other_options_and_a_bad_exclude_are_one_line_errors(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "style", "--out", str(out), "--steps", "1", "--exclude", "sr305", *TINY]) == 0
    _, _, info = load_model(out / STAGE_FILE)
    assert not any(name.startswith("sr305:") for name in info["training_data"]["real_frames"])
    capsys.readouterr()
    assert main(["train", "style", "--out", str(out), "--seed", "4", *TINY]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "--seed 4" in err[0]
    with pytest.raises(SystemExit):
        main(["train", "style", "--out", str(out), "--exclude", "kinect"])
