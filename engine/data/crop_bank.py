"""A crop bank: a simulator stream's samples 0..N-1, rendered once into memory-mapped .npy files.

Depth crops are stored as float16, poses y as float32, with each sample's sensor index, under a
cache folder, so evaluation (the retrieval baseline, engine.eval.baseline) and pose-estimator
training (engine.train.pose) do not re-render what they already have. float16 keeps crop depth
to 2^-11 of a half cube near the background (0.06 mm), below any metric's resolution. A bank is
keyed by its stream and a fingerprint of the renderer's code, so it is rebuilt when that code
changes; engine.data.crop_cache says why a training run's own crops are kept apart.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from engine.data.crop import CROP_SIZE
from engine.data.readers.sim import SimConfig, crop_sample
from engine.hand.skeleton import NUM_JOINTS
from engine.io_utils import atomic_write_json
from engine.models.pose_encoding import VIEW_SIZE, crop_view

# Where banks go when the caller names no folder; HANDDEPTH_CACHE overrides it.
CACHE_ENV = "HANDDEPTH_CACHE"
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "handdepth"

# Modules whose code decides what the stream renders: a bank built by other code is stale.
# The sensor models count only for a stream that applies one (a clean bank outlives their edits).
_STREAM_MODULES = ("engine/data/readers/sim.py", "engine/data/crop.py", "engine/hand/anatomy.py",
                   "engine/hand/model.py", "engine/hand/sampler.py", "engine/sim/render.py",
                   "engine/sim/volume.py")
_SENSOR_MODULE = "engine/sim/sensors.py"
_ROOT = Path(__file__).resolve().parents[2]

# Samples rendered between flushes of the memory maps and the progress record.
_CHUNK = 256

ProgressFn = Callable[[int, int], None]  # (done, total)


def cache_dir(explicit: str | Path | None = None) -> Path:
    """The cache folder: `explicit`, else $HANDDEPTH_CACHE, else ~/.cache/handdepth."""
    if explicit is not None:
        return Path(explicit)
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR)


def stream_key(config: SimConfig) -> dict:
    """What identifies a SimConfig's stream: its fields and a fingerprint of the stream's code."""
    code = hashlib.sha1()
    noisy = any(s != "none" for s in config.sensors)
    for rel in _STREAM_MODULES + ((_SENSOR_MODULE,) if noisy else ()):
        path = _ROOT / rel
        code.update(path.read_bytes() if path.exists() else b"")
    key = {"seed": config.seed, "sensors": list(config.sensors), "cameras": list(config.cameras),
           "ranges": dataclasses.asdict(config.ranges), "code": code.hexdigest()[:12]}
    return json.loads(json.dumps(key))  # as read back from meta.json (tuples become lists)


@dataclasses.dataclass(frozen=True, eq=False)
class CropBank:
    """Samples 0..len-1 of a sim stream: depth (N, 128, 128) float16, y (N, 21, 3), sensor index,
    and each crop's view (N, 5) (crop_view), which a view-aware baseline matches as well."""

    path: Path
    config: SimConfig
    depth: np.ndarray
    y: np.ndarray
    sensor: np.ndarray  # index into config.sensors
    view: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


def _bank_folder(root: Path, key: dict, count: int) -> Path:
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:10]
    return root / f"simbank_seed{key['seed']}_{digest}_n{count}"


def _intact(path: Path, shape: tuple[int, ...], dtype: type) -> bool:
    """Whether a cached array file holds the whole array (numpy's "r+" would silently pad a
    file that was cut short with zeros)."""
    try:
        a = np.load(path, mmap_mode="r")
    except (OSError, ValueError):
        return False
    return a.shape == shape and a.dtype == dtype


def open_bank(root: str | Path, config: SimConfig, count: int,
              progress: ProgressFn | None = None) -> CropBank:
    """The bank of `count` samples of `config`'s stream under `root`, rendering what is missing.

    Rendering resumes where an interrupted build stopped (meta.json records how far it got).
    """
    if count < 1:
        raise ValueError(f"a crop bank needs at least 1 sample, got {count}")
    key = stream_key(config)
    folder = _bank_folder(Path(root), key, count)
    folder.mkdir(parents=True, exist_ok=True)
    meta_path = folder / "meta.json"
    done = 0
    try:  # a cache: anything unreadable is rebuilt, never an error
        meta = json.loads(meta_path.read_text())
        done = int(meta.get("done", 0)) if meta.get("key") == key and meta.get("count") == count else 0
    except (OSError, ValueError, TypeError, AttributeError):
        done = 0
    files = {"depth": ((count, CROP_SIZE, CROP_SIZE), np.float16),
             "y": ((count, NUM_JOINTS, 3), np.float32), "sensor": ((count,), np.uint8),
             "view": ((count, VIEW_SIZE), np.float32)}
    mode = "r+" if done > 0 and all(_intact(folder / f"{n}.npy", *spec) for n, spec in files.items()) else "w+"
    if mode == "w+":
        done = 0
    arrays = {n: np.lib.format.open_memmap(folder / f"{n}.npy", mode=mode, dtype=dt, shape=shape)
              for n, (shape, dt) in files.items()}
    if progress is not None:
        progress(done, count)
    while done < count:
        stop = min(done + _CHUNK, count)
        for i in range(done, stop):
            s = crop_sample(config, i)
            arrays["depth"][i] = s.depth
            arrays["y"][i] = s.y
            arrays["sensor"][i] = config.sensors.index(s.sensor)
            arrays["view"][i] = crop_view(s.transform)
        for a in arrays.values():
            a.flush()
        done = stop
        atomic_write_json(meta_path, {"key": key, "count": count, "done": done})
        if progress is not None:
            progress(done, count)
    del arrays
    return CropBank(path=folder, config=config,
                    depth=np.load(folder / "depth.npy", mmap_mode="r"),
                    y=np.load(folder / "y.npy", mmap_mode="r"),
                    sensor=np.load(folder / "sensor.npy", mmap_mode="r"),
                    view=np.load(folder / "view.npy", mmap_mode="r"))
