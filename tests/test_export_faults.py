"""Export under concurrency and crashes: distinct complete pairs, no partial pair, recovery."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from engine import staged_files
from engine.export import ExportError, make_sample, write_sample
from engine.hand.pose_io import load_pose

sys.path.insert(0, str(Path(__file__).parent))
from export_worker import HAND_BOX, depth_mm_for, export_one, pair_inputs  # noqa: E402

WORKER = Path(__file__).with_name("export_worker.py")
PROCESSES, THREADS, PER_THREAD = 2, 4, 5
TIMEOUT_S = 300  # only a hung exporter gets there
# The files of the worker's samples (no style, no NPY): what engine.export writes then.
WRITTEN = ("_depth.png", "_labels.png", "_mask.png", "_controlnet.png", "_skeleton.png",
           "_preview.png", "_pose.json")
# The export's file-system steps (tests/export_worker.py counts them): 1 owner file, 2 reserve
# rename, 3-9 the staged files, 10 COMMIT, 11-17 moves into place, 18 release.
COMMIT_STEP, STEPS = 3 + len(WRITTEN), 4 + 2 * len(WRITTEN)


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def check_complete_pair(folder: Path, stem: str) -> str:
    """The writer of pair `stem`, after checking its four files belong together."""
    pose = load_pose(folder / f"{stem}_pose.json")
    writer = pose.extra["provenance"]["writer"]
    depth = cv2.imread(str(folder / f"{stem}_depth.png"), cv2.IMREAD_UNCHANGED)
    assert depth[HAND_BOX].min() == depth[HAND_BOX].max() == depth_mm_for(writer), stem
    for suffix in WRITTEN:
        assert (folder / f"{stem}{suffix}").is_file(), (stem, suffix)
    return writer


def test_processes_and_threads_never_overwrite_each_other(tmp_path):
    procs = [subprocess.Popen([sys.executable, str(WORKER), "concurrent", str(tmp_path), f"p{i}",
                               str(THREADS), str(PER_THREAD)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for i in range(PROCESSES)]
    try:
        for p in procs:  # every process is ready before any starts: they really overlap
            assert p.stdout.readline().strip() == "ready"
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.close()
        for p in procs:
            assert p.wait(TIMEOUT_S) == 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    stems = sorted({name.rsplit("_", 1)[0] for name in visible(tmp_path)})
    total = PROCESSES * THREADS * PER_THREAD
    assert len(stems) == total
    writers = {check_complete_pair(tmp_path, stem) for stem in stems}
    assert writers == {f"p{i}-{t}-{n}" for i in range(PROCESSES) for t in range(THREADS)
                       for n in range(PER_THREAD)}
    assert len(visible(tmp_path)) == total * len(WRITTEN)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def crash(folder: Path, step: int) -> None:
    done = subprocess.run([sys.executable, str(WORKER), "crash", str(folder), str(step)],
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == -signal.SIGKILL, done.stderr


@pytest.mark.parametrize("step", range(1, STEPS + 1))
def test_a_crash_mid_pair_leaves_no_partial_pair_and_the_next_export_recovers(tmp_path, step):
    export_one(str(tmp_path), "before")
    before = visible(tmp_path)
    crash(tmp_path, step)
    after_crash = visible(tmp_path)
    assert set(before) <= set(after_crash)
    assert sorted(n for n in after_crash if n.endswith("_pose.json")) == ["pair_0001_pose.json"] \
        or step == STEPS  # a pose file appears only with its whole pair (moved last)
    if step <= COMMIT_STEP:
        assert after_crash == before  # not committed: nothing of it is visible
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # the leftover

    export_one(str(tmp_path), "after")
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    stems = sorted({name.rsplit("_", 1)[0] for name in visible(tmp_path)})
    writers = [check_complete_pair(tmp_path, stem) for stem in stems]
    if step <= COMMIT_STEP:  # deleted
        assert writers == ["before", "after"]
    else:  # committed: rolled forward into the stem it had reserved
        assert writers == ["before", "crash", "after"] and stems[1] == "pair_0002"


def test_a_live_exporters_staging_is_left_alone(tmp_path):
    mine = staged_files.reserve(tmp_path, "pair_0001", [])  # held by this (live) process
    assert staged_files.recover(tmp_path) == []
    assert mine.dir.is_dir()
    with pytest.raises(ExportError, match="not overwriting"):
        depth, record, _ = pair_inputs("x")
        write_sample(tmp_path, make_sample(record, depth), stem="pair_0001")
    export_one(str(tmp_path), "next")  # takes the next free stem
    assert (tmp_path / "pair_0002_pose.json").is_file() and mine.dir.is_dir()
    mine.abandon()
    assert not list(tmp_path.glob(".pair_0001*"))


def test_another_hosts_staging_is_left_alone_and_a_dead_ones_is_cleaned(tmp_path):
    crash(tmp_path, COMMIT_STEP)  # dies holding .pair_0001.partial, uncommitted
    owner_file = tmp_path / ".pair_0001.partial" / staged_files.OWNER
    dead = json.loads(owner_file.read_text())
    host, rest = dead["id"].split("-", 1)
    owner_file.write_text(json.dumps({**dead, "id": f"{'0' if host[0] != '0' else '1'}{host[1:]}-{rest}"}))
    assert staged_files.recover(tmp_path) == []  # another machine's: cannot tell, never delete
    owner_file.write_text(json.dumps(dead))
    assert staged_files.recover(tmp_path) == ["pair_0001"]
    assert not list(tmp_path.iterdir())


def test_an_unfinished_commit_is_rolled_forward_with_the_bytes_that_were_staged(tmp_path):
    crash(tmp_path, COMMIT_STEP + 2)  # the depth PNG moved, the rest still staged
    staged = tmp_path / ".pair_0001.partial"
    assert visible(tmp_path) == ["pair_0001_depth.png"]
    expected = {p.name: p.read_bytes() for p in staged.iterdir() if p.name.startswith("pair_")}
    assert staged_files.recover(tmp_path) == ["pair_0001"]
    assert check_complete_pair(tmp_path, "pair_0001") == "crash"
    for name, data in expected.items():
        assert (tmp_path / name).read_bytes() == data
    assert visible(tmp_path) == sorted(f"pair_0001{s}" for s in WRITTEN)

