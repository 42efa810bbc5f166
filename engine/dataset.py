"""A dataset of samples (engine.export's layout): planned, split, written, resumed and merged.

Layout of OUT:
    shard_00000/00000000_depth.png ...   sample i in shard folder i // SHARD_SIZE, stem i (8 digits)
    parts/part-I-of-N.jsonl              one manifest row per sample written by shard I of N
    parts/card-I-of-N.json               what shard I ran: command, counts, timing, versions
    manifest.jsonl, dataset.json         the merged manifest (rows in index order) and card
    labels.txt | keypoints.json | prompt.json   the --format's index (engine.dataset_formats)
Determinism: sample i depends on (options, seed, i) only (engine.dataset_poses; the style's
seed is drawn from the same pair; the generator draws fixed blocks of indices, GENERATOR_BLOCK;
a learned style's batches give each frame the same bytes whatever its batch-mates), every file
is encoded deterministically, and rows come from the samples' own pose bytes, so the samples
and the merged manifest are the same bytes whatever the workers, shards or interruptions. The
cards hold timing and are the only exception.
Style: prepared once, in the process that plans the run (a learned style's calibration is
most of a second), and handed to the workers (prepare_style, _pool_context).
Resume: a sample is done when its pose file (placed last) exists. Samples are written in place
(engine.export.place_in_place: this writer owns its stems), without a flush each (10 ms a
file on this disk); every FLUSH_EVERY samples the disk is synced and only
then are their rows appended to the manifest part, so after a kill or a power cut the part
lists only durable samples; on resume, a sample on disk but not in the part is rewritten.
"""
from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import platform
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from engine.camera import CAMERA_PRESETS
from engine.dataset_formats import check_format, write_format
from engine.dataset_poses import open_pose_source
from engine.export import SUFFIXES, SampleContent, SampleOptions, encode_sample, place_in_place
from engine.io_utils import atomic_write_json, atomic_write_text, fsync_dir
from engine.models.device_names import BACKEND_CHOICES, RUNTIME_BACKEND
from engine.process_memory import keep_freed_memory
from engine.sample_frames import (
    generated_samples,
    generator_provenance,
    project_version,
    simulated_samples,
    style_provenance,
)
from engine.style.base import Style

SHARD_SIZE = 1000  # samples per folder: listing stays fast, and no folder holds 10^5 files
STEM_DIGITS = 8
FLUSH_EVERY = 64  # samples between disk syncs (and manifest appends)
# The generator draws the indices of one block of this many as one batch (one network call at
# the int8 runtime's chunk, engine.models.inference.INT8_CHUNK, and two full calls of a learned
# style's stage: blocks of 8 measured 186 samples/s against 193 at 32, 2 workers, idle). Blocks are fixed by index, and a block is drawn whole even
# when a shard or a resume needs only part of it: a network's output may depend on its
# batch-mates (the kernels chosen for the batch size), so each sample's bytes keep one batch.
GENERATOR_BLOCK = 32
# The simulator's frames are styled this many at a time (Style.apply_batch: a learned style's
# network call per batch; a frame's bytes do not depend on the batch), as many as the stage's
# one call (engine.models.style_inference.BATCH) without importing torch here.
SIMULATOR_BATCH = 16
PARTS = "parts"
MANIFEST = "manifest.jsonl"
CARD = "dataset.json"


@dataclass(frozen=True)
class DatasetPlan:
    """What a dataset is: everything a sample depends on (stored in the card)."""

    count: int
    seed: int = 0
    source: str = "simulator"  # or "generator"
    style: str = "none"
    style_scale_mm: float | None = None
    poses: str = "random"
    frames: int = 1  # > 1: the poses are keyframes this many frames apart (engine.dataset_keyframes)
    camera: str = "kinect_v1"
    model: str | None = None  # generator checkpoint (source "generator")
    backend: str = RUNTIME_BACKEND  # how the generator runs (engine.models.inference; source "generator")
    format: str = "own"  # an index for other training code (engine.dataset_formats)
    # Preview and ControlNet images are off unless asked: nobody trains on them, and they were
    # a fifth of a sample's time (--format controlnet turns the ControlNet images on).
    sample: SampleOptions = field(default_factory=lambda: SampleOptions(preview=False, conditioning=False,
                                                                        durable=False))

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"--count must be at least 1, not {self.count}")
        if self.camera not in CAMERA_PRESETS:
            raise ValueError(f"unknown camera {self.camera!r}; choose from {', '.join(CAMERA_PRESETS)}")
        if self.source not in ("simulator", "generator"):
            raise ValueError(f"unknown source {self.source!r}; use simulator or generator")
        if self.backend not in BACKEND_CHOICES:
            raise ValueError(f"unknown generator backend {self.backend!r}; use {', '.join(BACKEND_CHOICES)}")
        check_format(self.format)
        if self.format == "controlnet" and not self.sample.conditioning:  # its index pairs those images
            object.__setattr__(self, "sample", replace(self.sample, conditioning=True))
        if self.frames < 1:
            raise ValueError(f"--frames must be at least 1, not {self.frames}")


def shard_range(count: int, shard: int, shards: int) -> range:
    """The contiguous indices shard `shard` of `shards` writes."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard}/{shards}: need 0 <= I < N")
    return range(count * shard // shards, count * (shard + 1) // shards)


def stem_of(index: int) -> str:
    return f"shard_{index // SHARD_SIZE:05d}/{index:0{STEM_DIGITS}d}"


def part_paths(out: Path, shard: int, shards: int) -> tuple[Path, Path]:
    """(manifest part, card part) of one shard."""
    return out / PARTS / f"part-{shard}-of-{shards}.jsonl", out / PARTS / f"card-{shard}-of-{shards}.json"


def prepare_style(plan: DatasetPlan) -> Style:
    """The plan's style, prepared once in this process for all its workers (which fork from it,
    or get it pickled when spawned; `_batches`): a learned style's preparation (its calibration)
    cost 0.8 s of CPU, and the CLI's input check, then each worker, made it again. In a process
    of one Python thread (the CLI, which forks its workers), prepared on one torch thread: the
    calibration is a few small calls, and a process that never ran torch's thread pool leaves no
    pool threads behind while its workers run. Elsewhere (the GUI) torch's setting, which is the
    whole process's, is left alone."""
    from engine.style.registry import resolve_style

    style = resolve_style(plan.style, plan.style_scale_mm)
    with _one_torch_thread() if threading.active_count() == 1 else contextlib.nullcontext():
        return style.prepare()


@dataclass(frozen=True, eq=False)
class PreparedGenerator:
    """The plan's generator as its backend runs it (by default int8 on the CPU), with its
    provenance (the backend that runs, and why not the one asked for where it fell back)."""

    generator: Any  # engine.models.inference.InferenceGenerator (imported with torch, on use)
    provenance: dict


def prepare_generator(plan: DatasetPlan) -> PreparedGenerator | None:
    """The plan's generator (None for the simulator source), loaded and built once in this
    process for all its forked workers: loading it and calibrating its int8 body cost 1.8 s of
    CPU and torch's import 1.1 s more, which each worker paid again. On one torch thread in a
    process of one Python thread (the CLI), as prepare_style, so a forked worker never meets
    torch's thread pool."""
    if plan.source != "generator":
        return None
    import torch  # noqa: F401  (loaded first, so _one_torch_thread sets its threads)

    from engine.models import DEFAULT_GENERATOR_PATH
    from engine.models.generator import load_generator
    from engine.models.inference import InferenceGenerator

    path = plan.model or DEFAULT_GENERATOR_PATH
    with _one_torch_thread() if threading.active_count() == 1 else contextlib.nullcontext():
        model, info = load_generator(path)
        generator = InferenceGenerator(model, backend=plan.backend)
    fallback = {"backend_fallback": generator.fallback} if generator.fallback else {}
    return PreparedGenerator(generator, {**generator_provenance(path, info), "backend": generator.backend, **fallback})


class DatasetWriter:
    """Writes samples with a prepared style and generator once per process (one per worker;
    `bench` times one)."""

    def __init__(self, plan: DatasetPlan, out: Path, style: Style, one_torch_thread: bool = False,
                 generator: PreparedGenerator | None = None) -> None:
        """`style`: the plan's, prepared (`prepare_style`); `generator`: the plan's, prepared
        (`prepare_generator`), else loaded here. `one_torch_thread`: a pool worker's
        writer (one process per core) runs a style's or the generator's torch on one thread; two
        threads per worker took a learned style's dataset from 122 to 45 samples/s on two cores
        (and a worker forked from a process that ran torch's pool would hang in it)."""
        keep_freed_memory()  # each sample's frames reuse the last one's pages (engine.process_memory)
        self.plan, self.out = plan, out
        if one_torch_thread and "torch" in sys.modules:  # loaded by a learned style, not for the sensors
            sys.modules["torch"].set_num_threads(1)
        # The clean "sensor" changes nothing; as no style at all it costs no frame copies.
        self.style = None if getattr(style, "sensor", None) == "none" else style.prepare()
        self.poses = open_pose_source(plan.poses, CAMERA_PRESETS[plan.camera], plan.frames)
        self.provenance = {**style_provenance(plan.style, plan.style_scale_mm, style),
                           "poses": plan.poses, "frames": plan.frames, "dataset_seed": plan.seed}
        self.generator = None
        if plan.source == "generator":
            import torch

            torch.set_num_threads(1)  # one process per core does the parallelism
            prepared = generator if generator is not None else prepare_generator(plan)
            self.generator = prepared.generator
            self.provenance.update(prepared.provenance)
        self._folders: set[Path] = set()

    def write_many(self, indices: list[int]) -> list[dict]:
        """Write samples `indices` (ascending); their manifest rows."""
        if self.generator is None:
            rows = []
            for start in range(0, len(indices), SIMULATOR_BATCH):
                part = indices[start:start + SIMULATOR_BATCH]
                rows += [self._write(i, content) for i, content in zip(part, self._simulated(part))]
            return rows
        wanted, rows = set(indices), []
        for start in sorted({i - i % GENERATOR_BLOCK for i in indices}):
            block = range(start, min(start + GENERATOR_BLOCK, self.plan.count))
            rows += [self._write(i, content) for i, content in zip(block, self._generated(block)) if i in wanted]
        return rows

    def _style_seed(self, index: int) -> int:
        return int(np.random.SeedSequence([self.plan.seed, index, 1]).generate_state(1)[0])

    def _simulated(self, indices: list[int]) -> list[SampleContent]:
        return simulated_samples([self.poses.record(self.plan.seed, i) for i in indices], self.style,
                                 [self._style_seed(i) for i in indices],
                                 [{**self.provenance, "index": i} for i in indices])

    def _generated(self, indices: range) -> list[SampleContent]:
        return generated_samples([self.poses.record(self.plan.seed, i) for i in indices], self.generator,
                                 self.style, [self._style_seed(i) for i in indices],
                                 [{**self.provenance, "index": i} for i in indices])

    def _write(self, index: int, content: SampleContent) -> dict:
        folder, stem = (self.out / stem_of(index)).parent, stem_of(index).rsplit("/", 1)[1]
        if folder not in self._folders:
            folder.mkdir(parents=True, exist_ok=True)
            self._folders.add(folder)
        files = encode_sample(content, stem, self.plan.sample)
        place_in_place(folder, files, stem)
        return manifest_row(json.loads(files["pose"]), index)


def manifest_row(doc: dict, index: int) -> dict:
    """The manifest row of sample `index` from its pose file's content (the bytes written, read
    back as any reader reads them, so it is the same however and whenever the sample was written)."""
    folder = stem_of(index).rsplit("/", 1)[0]
    return {"index": index, "files": {k: f"{folder}/{n}" for k, n in doc["files"].items()},
            "camera": doc["camera"], "handedness": doc["handedness"], **doc["provenance"]}


_worker: DatasetWriter | None = None


def _init_worker(plan: DatasetPlan, out: Path, style: Style, one_torch_thread: bool = False,
                 generator: PreparedGenerator | None = None) -> None:
    global _worker
    _worker = DatasetWriter(plan, out, style, one_torch_thread, generator)


def _init_pool_worker(plan: DatasetPlan, out: Path, style: Style, spawned: bool,
                      generator: PreparedGenerator | None = None) -> None:
    """A pool process: one OpenCV and one torch thread, since the pool runs one process per core.
    OpenCV's own pool (a thread per core in every process) oversubscribed the cores and its idle
    threads spun on sched_yield: 160 calls a sample. A forked worker inherits the setting from
    `_one_opencv_thread` (setting it there would wait on pool threads a fork does not copy).
    `style` is the parent's, prepared: a forked worker shares it, a spawned one unpickles it.
    `generator`, the parent's prepared one, reaches forked workers only (a spawned one loads its
    own: the int8 model is not pickled)."""
    if spawned:
        cv2.setNumThreads(1)
    _init_worker(plan, out, style, one_torch_thread=True, generator=generator)


@contextlib.contextmanager
def _one_torch_thread() -> Iterator[None]:
    """torch (where a learned style or the generator loaded it) on one thread for the block, then
    as it was."""
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if torch is not None:
            torch.set_num_threads(before)


@contextlib.contextmanager
def _one_opencv_thread() -> Iterator[None]:
    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


def _write_chunk(indices: list[int]) -> list[dict]:
    return _worker.write_many(indices)


def _chunks(todo: list[int], size: int) -> list[list[int]]:
    """`todo` cut where index // size changes: with `size` a multiple of GENERATOR_BLOCK, no
    generator block is split between two chunks (two workers would draw it twice)."""
    chunks: list[list[int]] = []
    for i in todo:
        if chunks and chunks[-1][-1] // size == i // size:
            chunks[-1].append(i)
        else:
            chunks.append([i])
    return chunks


def _read_part(path: Path) -> list[dict]:
    """The rows of a manifest part; a torn last line (a kill mid-append) is dropped."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            break
    return rows


def run_shard(plan: DatasetPlan, out: Path, shard: int = 0, shards: int = 1, workers: int = 1,
              resume: bool = False, command: str = "",
              progress: Callable[[int, int], None] | None = None,
              cancelled: Callable[[], bool] = lambda: False, style: Style | None = None,
              generator: PreparedGenerator | None = None) -> dict:
    """Write this shard's samples; returns its card. `progress(done, total)` after each batch;
    `cancelled()` is asked between batches (the GUI's cancel): what was flushed stays, and a
    resume finishes the rest. `style`, `generator`: the plan's, prepared already
    (`prepare_style`, `prepare_generator`; the CLI's input check made them), else prepared here
    (the generator by each worker when they are spawned)."""
    out = Path(out)
    indices = shard_range(plan.count, shard, shards)
    part, card_path = part_paths(out, shard, shards)
    if part.exists() and not resume:
        raise ValueError(f"{out}: shard {shard}/{shards} was started before; --resume continues it")
    out.mkdir(parents=True, exist_ok=True)
    (out / PARTS).mkdir(exist_ok=True)
    rows = [r for r in _read_part(part) if r["index"] in indices]
    atomic_write_text(part, "".join(json.dumps(r) + "\n" for r in rows))  # drops a torn line
    done = {r["index"] for r in rows}
    todo = [i for i in indices if i not in done]
    start, total, written = time.perf_counter(), len(indices), 0
    if progress is not None:
        progress(len(done), total)
    if style is None:
        style = prepare_style(plan)
    for batch in _batches(todo, plan, out, style, generator, workers, cancelled):
        os.sync()  # the batch's files are on the disk before the manifest says so
        with open(part, "a", encoding="utf-8") as f:
            f.write("".join(json.dumps(r) + "\n" for r in batch))
            f.flush()
            os.fsync(f.fileno())
        written += len(batch)
        if progress is not None:
            progress(len(done) + written, total)
    elapsed = time.perf_counter() - start
    card = {"command": command, "plan": _plan_dict(plan), "shard": shard, "shards": shards,
            "indices": [indices.start, indices.stop], "samples": len(done) + written,
            "written_now": written, "resumed_with": len(done), "complete": len(done) + written == total,
            "seconds": round(elapsed, 3), "samples_per_s": round(written / elapsed, 2) if elapsed else None,
            "workers": workers, "versions": versions(plan)}
    atomic_write_json(card_path, card)
    return card


def _batches(todo: list[int], plan: DatasetPlan, out: Path, style: Style, generator: PreparedGenerator | None,
             workers: int, cancelled: Callable[[], bool]) -> Iterator[list[dict]]:
    """Rows of the written samples, FLUSH_EVERY at a time, in index order."""
    if workers <= 1:
        _init_worker(plan, out, style, generator=generator)
        for chunk in _chunks(todo, FLUSH_EVERY):
            if cancelled():
                return
            yield _write_chunk(chunk)
        return
    per = max(GENERATOR_BLOCK, FLUSH_EVERY // workers // GENERATOR_BLOCK * GENERATOR_BLOCK)
    context = _pool_context()
    forked = context.get_start_method() == "fork"  # then this process runs no other Python thread
    if forked and generator is None:
        generator = prepare_generator(plan)
    with _one_opencv_thread() if forked else contextlib.nullcontext(), ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init_pool_worker,
            initargs=(plan, out, style, not forked, generator if forked else None)) as pool:
        # All queued at once, so the workers go on writing while this process syncs the disk
        # (a map per batch left them idle at every sync: 2 workers ran slower than 1).
        futures = [pool.submit(_write_chunk, chunk) for chunk in _chunks(todo, per)]
        try:
            batch: list[dict] = []
            for future in futures:
                if not batch and cancelled():
                    return
                batch += future.result()
                if len(batch) >= FLUSH_EVERY or future is futures[-1]:
                    yield batch
                    batch = []
        finally:
            for future in futures:
                future.cancel()


def _pool_context() -> multiprocessing.context.BaseContext:
    """fork where it is safe: on Linux, from a process with one Python thread (the CLI), a worker
    starts in milliseconds with every module loaded and the style prepared (spawn re-imports
    them: 0.3 s of CPU a worker, 1.2 s more with torch, and unpickles the style). torch may be
    loaded (a learned style): every worker runs it on one thread (`_init_pool_worker`), and a
    one-thread region never touches the OpenMP pool a fork leaves behind (with two threads a
    forked child of a process that ran the pool hangs). The GUI's worker thread spawns."""
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _plan_dict(plan: DatasetPlan) -> dict:
    d = asdict(plan)
    d["sample"]["controlnet"] = asdict(plan.sample.controlnet)
    return d


def versions(plan: DatasetPlan) -> dict:
    """Versions that shape the bytes (the card's record of them)."""
    v = {"project": project_version(), "python": platform.python_version(),
         "numpy": np.__version__, "opencv": cv2.__version__, "zlib": zlib.ZLIB_RUNTIME_VERSION}
    if plan.source == "generator" and "torch" in sys.modules:
        v["torch"] = sys.modules["torch"].__version__
    return v


def merge(out: Path) -> dict:
    """Check that the shards' parts cover every index once with its files, and write the one
    manifest and card; ValueError (one line) names what is missing."""
    out = Path(out)
    cards = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((out / PARTS).glob("card-*.json"))]
    if not cards:
        raise ValueError(f"{out}: no shard cards in {PARTS}/ (is it a dataset folder?)")
    plans = {json.dumps(c["plan"], sort_keys=True) for c in cards}
    shards = {c["shards"] for c in cards}
    if len(plans) != 1 or len(shards) != 1:
        raise ValueError(f"{out}: the shards were run with different options; not merging")
    count, n = cards[0]["plan"]["count"], shards.pop()
    rows: dict[int, dict] = {}
    for part in sorted((out / PARTS).glob(f"part-*-of-{n}.jsonl")):
        for row in _read_part(part):
            if row["index"] in rows:
                raise ValueError(f"{part}: sample {row['index']} is listed twice")
            rows[row["index"]] = row
    missing = [i for i in range(count) if i not in rows]
    if missing:
        raise ValueError(f"{out}: {len(missing)} of {count} samples missing (first: {missing[0]}, "
                         f"shard {missing[0] * n // count}/{n}); run that shard with --resume")
    absent = [i for i in range(count) if not (out / rows[i]["files"]["pose"]).is_file()]
    if absent:
        raise ValueError(f"{out}: sample {absent[0]}'s files are gone ({len(absent)} such)")
    ordered = [rows[i] for i in range(count)]
    atomic_write_text(out / MANIFEST, "".join(json.dumps(r) + "\n" for r in ordered))
    write_format(out, cards[0]["plan"].get("format", "own"), ordered)
    card = {"command": [c["command"] for c in cards], "plan": cards[0]["plan"], "samples": count,
            "shards": n, "seconds": sum(c["seconds"] for c in cards),
            "files_per_sample": sorted({k for r in rows.values() for k in r["files"]},
                                       key=list(SUFFIXES).index),
            "versions": cards[0]["versions"]}
    atomic_write_json(out / CARD, card)
    fsync_dir(out)
    return card
