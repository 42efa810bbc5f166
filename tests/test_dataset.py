"""`main.py dataset`: deterministic whatever the workers and shards, resumable after SIGKILL,
merged from shards, readable by the own reader and trainable."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from engine.data.readers import open_dataset
from engine.data.readers.own import pose_files, read_sample
from engine.dataset import FLUSH_EVERY, MANIFEST, DatasetPlan, merge, run_shard
from engine.hand.pose_io import PoseRecord, record_to_dict
from engine.hand.presets import load_preset
from engine.camera import KINECT_V1

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 300  # only a hung run gets there
STYLED = ["--style", "kinect_v1", "--seed", "11"]


def dataset_cmd(out: Path, count: int, *extra: str) -> list[str]:
    return [sys.executable, "main.py", "dataset", "--count", str(count), "--out", str(out), *STYLED, *extra]


def tree_bytes(folder: Path) -> dict[str, bytes]:
    """Every sample file and the manifest (the cards hold timings, and are left out)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "parts" not in p.parts and p.name != "dataset.json"}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "data"
    assert main(["dataset", "--count", "6", "--out", str(out), *STYLED]) == 0
    return out


def test_a_dataset_is_samples_a_manifest_and_a_card(reference):
    rows = [json.loads(line) for line in (reference / MANIFEST).read_text().splitlines()]
    assert [r["index"] for r in rows] == list(range(6))
    assert all(r["style"] == "kinect_v1" and r["source"] == "simulator" for r in rows)
    card = json.loads((reference / "dataset.json").read_text())
    assert card["samples"] == 6 and card["plan"]["seed"] == 11 and card["versions"]["project"]
    sample = read_sample(reference / rows[3]["files"]["pose"])
    np.testing.assert_array_equal(sample.labels > 0, sample.depth > 0)
    assert sample.provenance["index"] == 3
    assert len(open_dataset(f"own:{reference}")) == 6


def test_a_dataset_writes_controlnet_images_only_when_asked(reference, tmp_path):
    assert not list(reference.rglob("*_controlnet.png")) and not list(reference.rglob("*_skeleton.png"))
    assert main(["dataset", "--count", "1", "--out", str(tmp_path / "c"), "--controlnet", *STYLED]) == 0
    doc = json.loads(next((tmp_path / "c").rglob("*_pose.json")).read_text())
    assert {"controlnet", "skeleton"} <= set(doc["files"]) and doc["controlnet"]["size"] == 512
    assert DatasetPlan(count=1, format="controlnet").sample.conditioning


def test_same_seed_same_bytes_whatever_the_workers_and_shards(reference, tmp_path):
    assert main(["dataset", "--count", "6", "--out", str(tmp_path / "w2"), "--workers", "2", *STYLED]) == 0
    assert tree_bytes(tmp_path / "w2") == tree_bytes(reference)
    sharded = tmp_path / "sharded"  # two local processes, one shard each, then the merge
    procs = [subprocess.Popen(dataset_cmd(sharded, 6, "--shard", f"{i}/2"), cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=TIMEOUT_S)
        assert p.returncode == 0, err.decode()[-2000:]
    assert not (sharded / MANIFEST).exists()
    assert main(["dataset", "merge", "--out", str(sharded)]) == 0
    assert tree_bytes(sharded) == tree_bytes(reference)


def test_torchrun_ranks_split_the_work(reference, tmp_path):
    out = tmp_path / "ranks"
    for rank in range(2):
        env = {**os.environ, "RANK": str(rank), "WORLD_SIZE": "2"}
        done = subprocess.run(dataset_cmd(out, 6), cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=TIMEOUT_S)
        assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name for p in (out / "parts").glob("part-*")) == ["part-0-of-2.jsonl", "part-1-of-2.jsonl"]
    merge(out)
    assert tree_bytes(out) == tree_bytes(reference)


def test_merge_refuses_an_incomplete_dataset(tmp_path, capsys):
    plan = DatasetPlan(count=4, seed=1)
    run_shard(plan, tmp_path, 0, 2)
    assert main(["dataset", "merge", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "2 of 4 samples missing" in err and "\n" not in err


def test_resume_after_sigkill_has_no_duplicates_and_no_gaps(tmp_path):
    count = 3 * FLUSH_EVERY  # two flushes still to come when the first lands: a fast machine is still mid-run
    out = tmp_path / "killed"
    proc = subprocess.Popen(dataset_cmd(out, count), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    part = out / "parts" / "part-0-of-1.jsonl"
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        if part.exists() and part.stat().st_size > 0:  # the first batch is in: kill mid-run
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=TIMEOUT_S)
    assert proc.returncode == -signal.SIGKILL
    assert not (out / MANIFEST).exists()
    done = subprocess.run(dataset_cmd(out, count, "--resume"), cwd=ROOT, capture_output=True,
                          text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()]
    assert [r["index"] for r in rows] == list(range(count))
    assert not [p for p in out.rglob(".*")]  # no staging folder left behind
    again = tmp_path / "straight"
    run_shard(DatasetPlan(count=count, seed=11, style="kinect_v1"), again)
    merge(again)
    assert tree_bytes(out) == tree_bytes(again)  # the same bytes as an uninterrupted run


def test_pose_sources_and_bad_inputs(tmp_path, capsys):
    victory = load_preset("victory")
    record = PoseRecord.from_hand(victory.hand, KINECT_V1)
    lines = tmp_path / "poses.jsonl"
    lines.write_text(json.dumps(record_to_dict(record)) + "\n")
    assert main(["dataset", "--count", "2", "--out", str(tmp_path / "listed"), "--poses", str(lines)]) == 0
    first = read_sample(tmp_path / "listed/shard_00000/00000001_pose.json")
    np.testing.assert_allclose(first.record.joints, record.joints, atol=1e-3)
    pose = tmp_path / "victory.json"
    pose.write_text(json.dumps(record_to_dict(record)))
    assert main(["dataset", "--count", "2", "--out", str(tmp_path / "around"), "--poses", f"around:{pose}"]) == 0
    a, b = (read_sample(tmp_path / f"around/shard_00000/0000000{i}_pose.json").record.joints for i in (0, 1))
    assert 1.0 < np.abs(a - record.joints).max() < 80.0 and not np.allclose(a, b)
    lines.write_text('{"joints": [1]}\n')
    capsys.readouterr()
    for args, words in [(["--poses", str(lines)], f"{lines}:1:"), (["--shard", "3/2"], "0 <= I < N"),
                        (["--style", "nope"], "unknown style"), (["--poses", "bank2"], "--poses")]:
        assert main(["dataset", "--count", "1", "--out", str(tmp_path / "bad"), *args]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and words in err and "\n" not in err
    lines.write_text(json.dumps(record_to_dict(record)) + "\n")
    assert main(["dataset", "--count", "2", "--out", str(tmp_path / "listed"), "--poses", str(lines)]) == 2
    assert "--resume" in capsys.readouterr().err  # a started dataset is never overwritten silently


def test_train_pose_reads_an_own_dataset(reference, tmp_path):
    from engine.models.checkpoint import load_model
    from engine.train.pose import MODEL_FILE, train_pose

    given = {"data": f"own:{reference}", "steps": 2, "batch": 4, "cache_size": 6, "eval_count": 1,
             "widths": [2, 2, 4, 4, 4], "hidden": 8}
    metrics = train_pose(tmp_path / "run", given)
    assert metrics["steps"] == 2 and np.isfinite(list(metrics["pose_error_mm"].values())).all()
    assert load_model(tmp_path / "run" / MODEL_FILE)[2]["options"]["data"] == f"own:{reference}"
    with pytest.raises(ValueError, match="fewer than --batch"):
        train_pose(tmp_path / "small", {**given, "batch": 8, "cache_size": 8})


def test_a_sample_written_in_place_is_one_only_once_its_pose_file_lands(reference, tmp_path):
    rows = [json.loads(line) for line in (reference / MANIFEST).read_text().splitlines()]
    folder = tmp_path / "d" / "shard_00000"
    folder.mkdir(parents=True)
    for kind, name in rows[0]["files"].items():  # a sample cut short: all but its pose file
        if kind != "pose":
            (folder / Path(name).name).write_bytes((reference / name).read_bytes())
    assert pose_files(tmp_path / "d") == []  # the reader does not see it


def test_the_generator_draws_whole_fixed_blocks_so_shards_give_the_same_bytes(tmp_path, monkeypatch):
    """G runs on blocks of GENERATOR_BLOCK indices fixed by index, through generate_batch: a shard
    that starts mid-block still draws the whole block, so a sample's batch-mates never change."""
    import torch

    import engine.runtime_batch as runtime_batch
    from engine.dataset import GENERATOR_BLOCK

    block = GENERATOR_BLOCK
    batches: list[np.ndarray] = []
    real = runtime_batch.generate_batch

    def spy(generator, joints, *args, **kwargs):
        batches.append(np.array(joints))
        return real(generator, joints, *args, **kwargs)

    monkeypatch.setattr(runtime_batch, "generate_batch", spy)
    threads = torch.get_num_threads()
    try:
        plan = DatasetPlan(count=block + block // 2, seed=3, source="generator", style="kinect_v1")
        halves, whole = tmp_path / "halves", tmp_path / "whole"
        run_shard(plan, halves, 1, 2)  # the second half starts mid-block: the whole first block, then the rest
        assert [len(b) for b in batches] == [block, block // 2]
        run_shard(plan, halves, 0, 2)  # the first half: the first block again, the same poses
        np.testing.assert_array_equal(batches[2], batches[0])
        run_shard(plan, whole)
    finally:
        torch.set_num_threads(threads)
    merge(halves)
    merge(whole)
    assert tree_bytes(halves) == tree_bytes(whole)
    sample = read_sample(whole / "shard_00000/00000007_pose.json")
    assert sample.provenance["source"] == "generator" and (sample.depth > 0).sum() > 500
    from engine.models.int8 import int8_unavailable
    assert sample.provenance["backend"] == ("int8" if int8_unavailable() is None else "torch")  # the runtime's
    np.testing.assert_array_equal(sample.labels > 0, sample.depth > 0)  # labels of G's own pixels


def test_pool_workers_run_opencv_on_one_thread(tmp_path):
    """One process per core already fills the CPU: OpenCV's own pool in each would oversubscribe
    it. The parent of forked workers holds one thread while they start and restores its own after."""
    import cv2

    from engine import dataset

    before = cv2.getNumThreads()
    with dataset._one_opencv_thread():
        assert cv2.getNumThreads() == 1
    assert cv2.getNumThreads() == before
    try:
        plan = DatasetPlan(count=1)
        dataset._init_pool_worker(plan, tmp_path, dataset.prepare_style(plan), spawned=True)
        assert cv2.getNumThreads() == 1
    finally:
        cv2.setNumThreads(before)


def test_a_pool_worker_runs_a_learned_style_on_one_torch_thread(tmp_path, monkeypatch):
    """A single-threaded parent (the CLI) prepares on one torch thread and restores its own; a
    pool worker styles on one; an in-process writer is left alone."""
    import threading

    import torch

    from engine import dataset
    from engine.style.learned import LearnedStyle

    seen = []
    real = LearnedStyle._prepare
    monkeypatch.setattr(LearnedStyle, "_prepare", lambda self: seen.append(torch.get_num_threads()) or real(self))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        plan = DatasetPlan(count=1, seed=0, style="sr305_palm_a")
        with monkeypatch.context() as m:
            m.setattr(threading, "active_count", lambda: 1)
            style = dataset.prepare_style(plan)
        assert seen == [1] and torch.get_num_threads() == 2
        dataset._init_pool_worker(plan, tmp_path, style, spawned=False)
        assert torch.get_num_threads() == 1
        torch.set_num_threads(2)
        dataset._init_worker(plan, tmp_path, style)  # in-process: left alone
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
        dataset._worker = None


def test_a_learned_style_is_prepared_once_for_all_workers(tmp_path, monkeypatch):
    """The CLI's input check prepares the style, and the workers (forked here) get that one: a
    learned style's calibration ran once in the parent and once in each worker before."""
    import multiprocessing

    from engine import dataset
    from engine.style.learned import LearnedStyle

    log = tmp_path / "prepared.txt"
    real = LearnedStyle._prepare

    def counted(self):
        with open(log, "a") as f:
            f.write(f"{os.getpid()}\n")
        real(self)

    monkeypatch.setattr(LearnedStyle, "_prepare", counted)
    monkeypatch.setattr(dataset, "_pool_context", lambda: multiprocessing.get_context("fork"))
    monkeypatch.setattr(dataset, "FLUSH_EVERY", 16)  # chunks of 8: both workers write
    assert main(["dataset", "--count", "24", "--out", str(tmp_path / "d"), "--style", "sr305_palm_a",
                 "--workers", "2"]) == 0
    assert log.read_text().split() == [str(os.getpid())]
    assert len((tmp_path / "d" / MANIFEST).read_text().splitlines()) == 24


def test_the_generator_is_built_once_for_all_forked_workers(tmp_path, monkeypatch):
    """The CLI's input check loads the generator (and builds its int8 body) once; forked workers
    use that one, and write what one process writes."""
    import multiprocessing

    import torch

    from engine import dataset
    from engine.models import inference

    log = tmp_path / "built.txt"
    real = inference.InferenceGenerator.__init__

    def counted(self, *args, **kwargs):
        with open(log, "a") as f:
            f.write(f"{os.getpid()}\n")
        real(self, *args, **kwargs)

    monkeypatch.setattr(inference.InferenceGenerator, "__init__", counted)
    monkeypatch.setattr(dataset, "_pool_context", lambda: multiprocessing.get_context("fork"))
    monkeypatch.setattr(dataset, "FLUSH_EVERY", 16)  # chunks of 8: both workers write
    threads = torch.get_num_threads()
    try:
        for workers, out in ((2, "two"), (1, "one")):
            assert main(["dataset", "--count", "20", "--out", str(tmp_path / out), "--source", "generator",
                         "--workers", str(workers)]) == 0
    finally:
        torch.set_num_threads(threads)
    assert log.read_text().split() == [str(os.getpid())] * 2  # once per command, in this process
    assert tree_bytes(tmp_path / "two") == tree_bytes(tmp_path / "one")


def test_the_generators_backend_is_chosen_and_recorded(tmp_path):
    """--backend runs G as asked (torch: the float32 reference, not the default int8) and the
    samples' provenance, the manifest and the card record it; an unknown one is refused."""
    import torch

    threads = torch.get_num_threads()
    try:
        assert main(["dataset", "--count", "3", "--out", str(tmp_path / "ref"), "--source", "generator",
                     "--backend", "torch"]) == 0
    finally:
        torch.set_num_threads(threads)
    rows = [json.loads(line) for line in (tmp_path / "ref" / MANIFEST).read_text().splitlines()]
    assert [r["backend"] for r in rows] == ["torch"] * 3
    assert read_sample(tmp_path / "ref" / "shard_00000/00000001_pose.json").provenance["backend"] == "torch"
    assert json.loads((tmp_path / "ref" / "dataset.json").read_text())["plan"]["backend"] == "torch"
    with pytest.raises(ValueError, match="unknown generator backend 'fp16'"):
        DatasetPlan(count=1, source="generator", backend="fp16")


def test_a_prepared_style_reaches_a_spawned_worker_prepared(tmp_path, monkeypatch):
    """A spawned worker unpickles the parent's prepared style: it styles as the parent does and
    never prepares again."""
    import pickle

    from engine.dataset import DatasetWriter, prepare_style
    from engine.style.learned import LearnedStyle

    plan = DatasetPlan(count=2, seed=5, style="sr305_palm_a")
    style = prepare_style(plan)
    copy = pickle.loads(pickle.dumps(style))
    monkeypatch.setattr(LearnedStyle, "_prepare", lambda self: pytest.fail("prepared again"))
    assert copy.prepared and copy.calibration == style.calibration
    DatasetWriter(plan, tmp_path / "a", style).write_many([0, 1])
    DatasetWriter(plan, tmp_path / "b", copy).write_many([0, 1])
    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")


def test_a_learned_styles_samples_are_the_same_bytes_however_they_are_batched(tmp_path, monkeypatch):
    """The simulator's frames are styled SIMULATOR_BATCH at a time (one stage call): a sample's
    bytes do not depend on that batch, on the workers' chunks or on the shards."""
    from engine import dataset

    plan = DatasetPlan(count=7, seed=9, style="sr305_palm_a")
    run_shard(plan, tmp_path / "whole")
    merge(tmp_path / "whole")
    monkeypatch.setattr(dataset, "SIMULATOR_BATCH", 3)
    for shard in (1, 0):
        run_shard(plan, tmp_path / "halves", shard, 2)
    merge(tmp_path / "halves")
    assert tree_bytes(tmp_path / "halves") == tree_bytes(tmp_path / "whole")
