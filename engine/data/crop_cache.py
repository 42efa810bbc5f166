"""A run's crop cache: the training, held-out and calibration crops, made once into RUN_DIR/cache.

Crops are stored in the crop convention (engine.data.crop) as float16 depth, float32 pose, view
and hand thickness, in .npy files read by memory map, so DDP processes share one copy. A cache
made before the thickness was kept gets it from its simulator stream (a draw, no render) the
first time it is read, or the mean thickness for a dataset's crops, whose hands have no shape. `--data sim` draws
them from the simulator stream (engine.data.readers.sim.crop_sample, seed = the run's seed); a
dataset spec crops each Sample by the crop convention around its joints. Held-out poses come
from the simulator with another seed (engine.seeds.DEVELOPMENT_SEED_OFFSET), or for datasets from samples after the
training ones; calibration crops from a third seed. Used by the GAN and distillation trainers.

Why not engine.eval.baseline.CropBank, which also caches simulator crops: a bank is one sim
stream's samples keyed by that stream and a fingerprint of the renderer's code, shared by every
run and evaluation through ~/.cache (and resumable sample by sample); a run cache is part of a
run, keyed by the run's options, holds the crops' view vectors the generator is conditioned on,
the clean held-out and calibration renders, and dataset crops no sim stream can rebuild. A run
must not change when the renderer's code does (its checkpoints describe its data), while a bank
must. The pose trainer uses a bank because its training data is exactly one sim stream.
"""
from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from engine.data.crop import CROP_SIZE
from engine.data.dataset_crop import crop_dataset_sample
from engine.data.readers import open_dataset
from engine.data.readers.base import Sample
from engine.data.readers.sim import SimConfig, crop_sample, draw
from engine.hand.sampler import MEAN_THICKNESS
from engine.io_utils import atomic_write_bytes, atomic_write_json, fsync_dir
from engine.models.pose_encoding import VIEW_SIZE, crop_view
from engine.progress import Progress, silent
from engine.seeds import CALIBRATION_SEED_OFFSET, DEVELOPMENT_SEED_OFFSET, check_not_test_seed

PARTS = ("train", "eval", "calib")


ARRAYS = ("depth", "y", "view", "thickness")


class CropBatch(NamedTuple):
    """A batch on a device: crops x (B, 1, 128, 128), poses y (B, 21, 3), views (B, 5) and the
    hands' thicknesses (B,) (what a shape-aware G is told: SkeletonUNet.condition)."""

    x: torch.Tensor
    y: torch.Tensor
    view: torch.Tensor
    thickness: torch.Tensor


@dataclass
class Crops:
    """Crops in the crop convention: depth (N, 128, 128), pose y (N, 21, 3), view (N, 5), and
    each hand's shape.thickness (N,) (the mean for a dataset's hands)."""

    depth: np.ndarray
    y: np.ndarray
    view: np.ndarray
    thickness: np.ndarray

    def __len__(self) -> int:
        return len(self.depth)

    def batch(self, idx: np.ndarray, device: torch.device) -> CropBatch:
        order = np.sort(idx)  # memory-mapped reads in file order
        arrays = (np.asarray(self.depth[order], dtype=np.float32)[:, None], self.y[order], self.view[order],
                  self.thickness[order])
        return CropBatch(*(torch.from_numpy(np.asarray(a, dtype=np.float32)).to(device) for a in arrays))

    def part(self, sl: slice) -> Crops:
        return Crops(self.depth[sl], self.y[sl], self.view[sl], self.thickness[sl])


def sim_crops(config: SimConfig, start: int, count: int, clean: bool = False,
              progress: Callable[[int], None] | None = None) -> Crops:
    """`count` simulator crops from index `start`: the sensor's depth, or the clean render;
    progress(done) after each crop."""
    depth = np.empty((count, CROP_SIZE, CROP_SIZE), np.float16)
    y = np.empty((count, 21, 3), np.float32)
    view = np.empty((count, VIEW_SIZE), np.float32)
    thickness = np.empty(count, np.float32)
    for k in range(count):
        s = crop_sample(config, start + k)
        depth[k], y[k], view[k] = (s.clean if clean else s.depth), s.y, crop_view(s.transform)
        thickness[k] = s.hand.shape.thickness
        if progress is not None:
            progress(k + 1)
    return Crops(depth, y, view, thickness)


def stream_thickness(config: SimConfig, start: int, count: int) -> np.ndarray:
    """(count,) float32 shape.thickness of samples start.. of a simulator stream: its draws
    alone, no render (what sim_crops records, for a cache made before it did)."""
    return np.array([draw(config, start + k).hand.shape.thickness for k in range(count)], np.float32)


def dataset_crops(samples: Iterable[Sample], count: int, name: str, completed: bool = True,
                  progress: Callable[[int], None] | None = None) -> Crops:
    """Up to `count` crops of dataset samples, each as engine.data.dataset_crop makes it for
    evaluation too. y: G's input, missing joints completed by the fitted hand model, or
    (`completed=False`, a pose estimator's targets) the labels alone, NaN where missing. `name`
    (the dataset spec) is for the error."""
    depth, ys, views = [], [], []
    for sample in samples:
        if len(depth) >= count:
            break
        try:
            c = crop_dataset_sample(sample)
        except ValueError:
            continue  # no labelled joint, or the centre behind the camera: nowhere to crop
        depth.append(c.depth.astype(np.float16))
        ys.append(c.y_input if completed else c.y)
        views.append(crop_view(c.transform))
        if progress is not None:
            progress(len(depth))
    if not depth:
        raise ValueError(f"{name}: no usable samples (none with labelled joints)")
    return Crops(np.stack(depth), np.stack(ys).astype(np.float32), np.stack(views),
                 np.full(len(depth), MEAN_THICKNESS, np.float32))


def _cache_key(options: Mapping, part: str) -> dict:
    key = {"part": part, "data": options["data"], "sensors": list(options["sensors"]),
           "cameras": list(options["cameras"]), "seed": options["seed"],
           "cache_size": options["cache_size"], "eval_count": options["eval_count"], "version": 1}
    if options["data"] != "sim":  # a cache from before its missing joints were completed is stale
        key["joints"] = "completed by engine.data.dataset_crop"
    return key


def _load_cached(folder: Path, key: dict, options: Mapping, part: str) -> Crops | None:
    try:
        if json.loads((folder / "key.json").read_text(encoding="utf-8")) != key:
            return None
        depth, y, view = (np.load(folder / f"{name}.npy", mmap_mode="r") for name in ARRAYS[:3])
        if not (folder / "thickness.npy").exists():  # a cache from before the thickness was kept
            config = _sim_config(options, part)
            thickness = (stream_thickness(config, 0, len(depth)) if config is not None
                         else np.full(len(depth), MEAN_THICKNESS, np.float32))
            buf = io.BytesIO()
            np.save(buf, thickness)
            atomic_write_bytes(folder / "thickness.npy", buf.getvalue())
        return Crops(depth, y, view, np.load(folder / "thickness.npy"))
    except (OSError, ValueError):
        return None


def _save_cached(folder: Path, key: dict, crops: Crops) -> None:
    """Write the arrays, flush them to the disk, then the key: a cache with a key is whole."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "key.json").unlink(missing_ok=True)  # incomplete until the key is written last
    fsync_dir(folder)
    for name in ARRAYS:
        with (folder / f"{name}.npy").open("wb") as f:  # streamed: a cache can be GBs, no copy
            np.save(f, getattr(crops, name))
            f.flush()
            os.fsync(f.fileno())
    atomic_write_json(folder / "key.json", key)


def build_cache(run_dir: Path, options: Mapping,
                progress: Progress = silent) -> tuple[Crops, Crops, Crops]:
    """(training, held-out evaluation, calibration) crops of a run, made once into RUN_DIR/cache;
    `progress` counts the stages "cache train", "cache eval" and "cache calib"."""
    check_not_test_seed(int(options["seed"]), "generator training")
    out = []
    for part in PARTS:
        folder, key = run_dir / "cache" / part, _cache_key(options, part)
        crops = _load_cached(folder, key, options, part)
        if crops is None:
            n = {"train": options["cache_size"], "eval": options["eval_count"], "calib": options["eval_count"]}[part]
            stage = f"cache {part}"
            crops = _make_crops(options, part, lambda done: progress(stage, done, n, {}))
            _save_cached(folder, key, crops)
            crops = _load_cached(folder, key, options, part) or crops
        out.append(crops)
    return out[0], out[1], out[2]


def _sim_config(options: Mapping, part: str) -> SimConfig | None:
    """The simulator stream a part's crops are samples 0.. of; None for a dataset's crops.

    Calibration: a third seed (for datasets too: the cut is about the generator's silhouettes).
    Held out: another seed; both always the clean render (the bar is against it)."""
    cameras = tuple(options["cameras"])
    if part == "calib":
        return SimConfig(seed=options["seed"] + CALIBRATION_SEED_OFFSET, cameras=cameras)
    if options["data"] != "sim":
        return None
    if part == "train":
        return SimConfig(seed=options["seed"], sensors=tuple(options["sensors"]), cameras=cameras)
    return SimConfig(seed=options["seed"] + DEVELOPMENT_SEED_OFFSET, cameras=cameras)


def _make_crops(options: Mapping, part: str, tick: Callable[[int], None]) -> Crops:
    n_train, n_eval = options["cache_size"], options["eval_count"]
    config = _sim_config(options, part)
    if config is not None:
        return sim_crops(config, 0, n_train if part == "train" else n_eval, clean=part != "train", progress=tick)
    crops = dataset_crops(open_dataset(options["data"]), n_train + n_eval, options["data"], progress=tick)
    if len(crops) <= n_eval:
        raise ValueError(f"{options['data']}: only {len(crops)} usable samples, need more than --eval-count {n_eval}")
    return crops.part(slice(0, len(crops) - n_eval) if part == "train" else slice(len(crops) - n_eval, len(crops)))

