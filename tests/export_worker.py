"""A child process for tests/test_export_faults.py: exports pairs concurrently, or dies mid-pair.

    export_worker.py concurrent FOLDER TAG THREADS PER_THREAD
        prints "ready", waits for a line on stdin, then THREADS threads export PER_THREAD pairs
        each; pair i of thread t carries writer "TAG-t-i" in its pose file and depth value
        depth_mm_for(writer) in its depth, so a test can tell whose files a pair holds.
    export_worker.py crash FOLDER K
        exports one pair (writer "crash") and SIGKILLs itself at the K-th file-system step of
        the export: each atomic write and each rename (see engine.staged_files).
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import export, staged_files  # noqa: E402
from engine.camera import KINECT_V1  # noqa: E402
from engine.export import make_sample, write_sample  # noqa: E402
from engine.hand.pose_io import PoseRecord  # noqa: E402
from engine.hand.presets import load_preset  # noqa: E402

HAND_BOX = (slice(200, 260), slice(300, 360))


def depth_mm_for(writer: str) -> int:
    """A depth value unique enough per writer to catch files of two writers in one pair."""
    return 400 + zlib.crc32(writer.encode()) % 2000


def pair_inputs(writer: str) -> tuple[np.ndarray, PoseRecord, np.ndarray]:
    depth = np.zeros((KINECT_V1.height, KINECT_V1.width), np.float32)
    depth[HAND_BOX] = depth_mm_for(writer)
    labels = (depth > 0).astype(np.uint8) * 3
    record = load_preset("fist")
    return depth, PoseRecord.from_hand(record.hand, KINECT_V1, name="fist"), labels


def export_one(folder: str, writer: str) -> None:
    depth, record, labels = pair_inputs(writer)
    write_sample(folder, make_sample(record, depth, reference_labels=labels, provenance={"writer": writer}))


def concurrent(folder: str, tag: str, threads: int, per_thread: int) -> None:
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(t: int) -> None:
        barrier.wait()
        try:
            for i in range(per_thread):
                export_one(folder, f"{tag}-{t}-{i}")
        except BaseException as e:  # reported by the exit status
            errors.append(e)

    print("ready", flush=True)
    sys.stdin.readline()
    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        raise SystemExit(f"{len(errors)} exports failed: {errors[0]!r}")


def crash_at(folder: str, k: int) -> None:
    steps = 0

    def step(real):
        def wrapped(*args, **kwargs):
            nonlocal steps
            steps += 1
            if steps == k:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args, **kwargs)
        return wrapped

    export.atomic_write_bytes = step(export.atomic_write_bytes)
    staged_files.atomic_write_bytes = step(staged_files.atomic_write_bytes)
    staged_files.os.rename = step(os.rename)
    export_one(folder, "crash")
    raise SystemExit(f"the export finished in {steps} steps, before step {k}")


if __name__ == "__main__":
    mode, folder, *rest = sys.argv[1:]
    if mode == "concurrent":
        concurrent(folder, rest[0], int(rest[1]), int(rest[2]))
    else:
        crash_at(folder, int(rest[0]))
