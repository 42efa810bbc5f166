"""Resume plumbing of the trainers: logs cut short by a kill, RNG states in a weights_only file,
leftovers of killed atomic writes, and a state file that is not one."""
from __future__ import annotations

import csv
import io
import json
import random

import numpy as np
import pytest
import torch

from engine.train import common
from engine.train.gan import train_gan
from engine.train.rng import restore_rng_state, rng_state

COLUMNS = ("step", "loss")
TINY = {"g_base": 4, "g_levels": 2, "g_full": 4, "d_base": 4, "batch_size": 2, "cache_size": 4,
        "eval_count": 1, "checkpoint_every": 1, "preview_every": 5, "threads": 1}


def test_resumed_log_drops_later_and_cut_short_lines(tmp_path):
    log = common.RunLog(tmp_path, COLUMNS)
    for step in range(1, 13):
        log.row({"step": step, "loss": 0.5 * step})
    with (tmp_path / "log.csv").open("a") as f:
        f.write("1")  # a kill in the middle of writing the row of step 13
    with (tmp_path / "log.jsonl").open("a") as f:
        f.write('{"step": 2, "eval": {"iou"')  # ... or of a record
    common.RunLog(tmp_path, COLUMNS, resume_step=4)
    with (tmp_path / "log.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [["step", "loss"]] + [[str(s), f"{0.5 * s:.6g}"] for s in range(1, 5)]
    records = [json.loads(ln) for ln in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4]


def test_a_header_cut_short_is_written_again(tmp_path):
    (tmp_path / "log.csv").write_text("ste")
    common.RunLog(tmp_path, COLUMNS, resume_step=0).row({"step": 1, "loss": 2.0})
    assert (tmp_path / "log.csv").read_text().splitlines() == ["step,loss", "1,2"]


def test_rng_states_survive_a_weights_only_file():
    torch.manual_seed(3)
    np.random.seed(4)
    random.seed(5)
    buf = io.BytesIO()
    torch.save(rng_state(), buf)
    expected = (torch.rand(3), np.random.rand(3), random.random())
    torch.manual_seed(99)
    np.random.seed(99)
    random.seed(99)
    restore_rng_state(torch.load(io.BytesIO(buf.getvalue()), weights_only=True))
    again = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(expected[0], again[0]) and np.array_equal(expected[1], again[1]) and expected[2] == again[2]


def test_stale_temporaries_are_removed_and_others_kept(tmp_path):
    (tmp_path / ".train_state.pt.k2j4x9.tmp").write_bytes(b"half")
    (tmp_path / "notes.tmp").write_text("a user's file")
    common.remove_stale_temps(tmp_path, tmp_path / "missing")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.tmp"]


def test_a_state_file_of_another_kind_is_one_line_error(tmp_path):
    run = tmp_path / "run"
    train_gan(run, {**TINY, "steps": 1})
    common.save_state(run / "train_state.pt", {"format": 2, "step": 1, "generator": {"nonsense": torch.zeros(1)}})
    with pytest.raises(ValueError, match=r"train_state\.pt: not a state file of this run") as err:
        train_gan(run, {"steps": 2})
    assert "\n" not in str(err.value)
    common.save_state(run / "train_state.pt", {"format": 9, "step": 1})  # from a newer version
    with pytest.raises(ValueError, match=r"train_state\.pt: state format 9 is not one this version reads"):
        train_gan(run, {"steps": 2})


def test_an_older_run_folder_still_resumes(tmp_path):
    """Format 1: the state file held optimisers and counters, G and D had files of their own."""
    from engine.models.checkpoint import save_checkpoint
    from engine.models.discriminator import PatchCritic

    run = tmp_path / "run"
    train_gan(run, {**TINY, "steps": 2})
    state = common.load_state(run / "train_state.pt")
    d = PatchCritic(base=TINY["d_base"])
    d.load_state_dict(state["discriminator"])
    save_checkpoint(run / "discriminator.safetensors", d, d.config, {"kind": "discriminator", "step": 2})
    common.save_state(run / "train_state.pt", {k: state[k] for k in (
        "step", "elapsed_s", "best", "opt_g", "opt_d", "scaler_g", "scaler_d")})
    summary = train_gan(run, {"steps": 3})
    assert summary["resumed_from"] == 2 and summary["step"] == 3
    assert "generator" in common.load_state(run / "train_state.pt")  # saved in the new format since
