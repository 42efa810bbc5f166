"""A run's crop cache: the training, held-out and calibration crops, made once into RUN_DIR/cache.

Crops are stored in the crop convention (engine.data.crop) as float16 depth, float32 pose and
view, in .npy files read by memory map, so DDP processes share one copy. `--data sim` draws
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

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.data.crop import CROP_SIZE
from engine.data.dataset_crop import crop_dataset_sample
from engine.data.readers import open_dataset
from engine.data.readers.base import Sample
from engine.data.readers.sim import SimConfig, crop_sample
from engine.io_utils import atomic_write_json, fsync_dir
from engine.models.pose_encoding import VIEW_SIZE, crop_view
from engine.progress import Progress, silent
from engine.seeds import CALIBRATION_SEED_OFFSET, DEVELOPMENT_SEED_OFFSET, check_not_test_seed

PARTS = ("train", "eval", "calib")


@dataclass
class Crops:
    """Crops in the crop convention: depth (N, 128, 128), pose y (N, 21, 3), view (N, 5)."""

    depth: np.ndarray
    y: np.ndarray
    view: np.ndarray

    def __len__(self) -> int:
        return len(self.depth)

    def batch(self, idx: np.ndarray, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        order = np.sort(idx)  # memory-mapped reads in file order
        x = torch.from_numpy(np.asarray(self.depth[order], dtype=np.float32))[:, None]
        y = torch.from_numpy(np.asarray(self.y[order], dtype=np.float32))
        v = torch.from_numpy(np.asarray(self.view[order], dtype=np.float32))
        return x.to(device), y.to(device), v.to(device)


def sim_crops(config: SimConfig, start: int, count: int, clean: bool = False,
              progress: Callable[[int], None] | None = None) -> Crops:
    """`count` simulator crops from index `start`: the sensor's depth, or the clean render;
    progress(done) after each crop."""
    depth = np.empty((count, CROP_SIZE, CROP_SIZE), np.float16)
    y = np.empty((count, 21, 3), np.float32)
    view = np.empty((count, VIEW_SIZE), np.float32)
    for k in range(count):
        s = crop_sample(config, start + k)
        depth[k], y[k], view[k] = (s.clean if clean else s.depth), s.y, crop_view(s.transform)
        if progress is not None:
            progress(k + 1)
    return Crops(depth, y, view)


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
    return Crops(np.stack(depth), np.stack(ys).astype(np.float32), np.stack(views))


def _cache_key(options: Mapping, part: str) -> dict:
    key = {"part": part, "data": options["data"], "sensors": list(options["sensors"]),
           "cameras": list(options["cameras"]), "seed": options["seed"],
           "cache_size": options["cache_size"], "eval_count": options["eval_count"], "version": 1}
    if options["data"] != "sim":  # a cache from before its missing joints were completed is stale
        key["joints"] = "completed by engine.data.dataset_crop"
    return key


def _load_cached(folder: Path, key: dict) -> Crops | None:
    try:
        if json.loads((folder / "key.json").read_text(encoding="utf-8")) != key:
            return None
        return Crops(*(np.load(folder / f"{name}.npy", mmap_mode="r") for name in ("depth", "y", "view")))
    except (OSError, ValueError):
        return None


def _save_cached(folder: Path, key: dict, crops: Crops) -> None:
    """Write the arrays, flush them to the disk, then the key: a cache with a key is whole."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "key.json").unlink(missing_ok=True)  # incomplete until the key is written last
    fsync_dir(folder)
    for name in ("depth", "y", "view"):
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
        crops = _load_cached(folder, key)
        if crops is None:
            n = {"train": options["cache_size"], "eval": options["eval_count"], "calib": options["eval_count"]}[part]
            stage = f"cache {part}"
            crops = _make_crops(options, part, lambda done: progress(stage, done, n, {}))
            _save_cached(folder, key, crops)
            crops = _load_cached(folder, key) or crops
        out.append(crops)
    return out[0], out[1], out[2]


def _make_crops(options: Mapping, part: str, tick: Callable[[int], None]) -> Crops:
    n_train, n_eval = options["cache_size"], options["eval_count"]
    if part == "calib":
        # As many clean simulator crops as are evaluated, from a third seed (for datasets too:
        # the cut is about the generator's silhouettes).
        config = SimConfig(seed=options["seed"] + CALIBRATION_SEED_OFFSET, cameras=tuple(options["cameras"]))
        return sim_crops(config, 0, n_eval, clean=True, progress=tick)
    if options["data"] == "sim":
        if part == "train":
            config = SimConfig(seed=options["seed"], sensors=tuple(options["sensors"]), cameras=tuple(options["cameras"]))
            return sim_crops(config, 0, n_train, progress=tick)
        # Held out: another seed, and always the clean render (the bar is against it).
        config = SimConfig(seed=options["seed"] + DEVELOPMENT_SEED_OFFSET, cameras=tuple(options["cameras"]))
        return sim_crops(config, 0, n_eval, clean=True, progress=tick)
    crops = dataset_crops(open_dataset(options["data"]), n_train + n_eval, options["data"], progress=tick)
    if len(crops) <= n_eval:
        raise ValueError(f"{options['data']}: only {len(crops)} usable samples, need more than --eval-count {n_eval}")
    sl = slice(0, len(crops) - n_eval) if part == "train" else slice(len(crops) - n_eval, len(crops))
    return Crops(crops.depth[sl], crops.y[sl], crops.view[sl])

