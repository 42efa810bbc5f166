"""Export one depth/pose pair: the frame on screen as files another program can train on.

For each pair STEM in a folder:
    STEM_depth.png    uint16 millimetres, 0 = no data, full frame (never colour-mapped)
    STEM_labels.png   part labels 0-7 of the clean render (when given)
    STEM_preview.png  a colour preview for people (when asked)
    STEM_pose.json    the pose (engine.hand.pose_io's schema) + provenance (sensor, seed, ...);
                      placed last, so a pair whose pose file exists is complete
A pair appears all at once or not at all, and nothing is ever overwritten, even with several
exporters (threads, processes) writing into one folder: engine.staged_files reserves the stem
exclusively, stages the files durably in a hidden folder, commits and moves them into place.
Without a stem, the next free "pair_NNNN" is reserved; a given stem that is taken is an error.
Each export first finishes or removes what a crashed exporter left in the folder.
The dataset exporter builds on this one.
"""
from __future__ import annotations

import re
from itertools import count
from pathlib import Path

import numpy as np

from engine.hand.pose_io import PoseRecord, save_pose
from engine.io_utils import write_depth_png16, write_png
from engine.sim.preview import depth_preview
from engine.staged_files import Staging, recover, reserve, staged_stems

STEM_PREFIX = "pair"
STEM_DIGITS = 4
# Move order: the pose file last (readers key on it, see the module docstring).
SUFFIXES = {"depth": "_depth.png", "labels": "_labels.png", "preview": "_preview.png",
            "pose": "_pose.json"}
_STEM_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_STEM_TRIES = 10000  # free numbers tried before giving up (only a broken folder gets there)


class ExportError(OSError):
    """An export that cannot be done; str() is one line."""


def pair_paths(folder: str | Path, stem: str) -> dict[str, Path]:
    """Where each file of pair `stem` goes."""
    folder = Path(folder)
    return {kind: folder / f"{stem}{suffix}" for kind, suffix in SUFFIXES.items()}


def _file_names(stem: str) -> list[str]:
    return [f"{stem}{suffix}" for suffix in SUFFIXES.values()]


def next_free_stem(folder: str | Path, prefix: str = STEM_PREFIX) -> str:
    """The first "prefix_NNNN" after every numbered pair (finished or staged) in the folder.

    Only a hint: `export_pair` reserves the stem, and takes the next one when it lost a race.
    """
    folder = Path(folder)
    pattern = re.compile(rf"^{re.escape(prefix)}_(\d+)(?:_|$)")
    names = [p.name for p in folder.glob(f"{prefix}_*")] if folder.is_dir() else []
    numbers = [int(m.group(1)) for name in [*names, *staged_stems(folder)]
               if (m := pattern.match(name))]
    return f"{prefix}_{max(numbers, default=0) + 1:0{STEM_DIGITS}d}"


def _reserve_stem(folder: Path, stem: str | None) -> Staging:
    if stem is not None:
        staging = reserve(folder, stem, _file_names(stem))
        if staging is None:
            raise ExportError(f"{folder / stem}: a pair of that name exists; not overwriting it")
        return staging
    first = int(next_free_stem(folder).rsplit("_", 1)[1])
    for n in count(first):
        candidate = f"{STEM_PREFIX}_{n:0{STEM_DIGITS}d}"
        if (staging := reserve(folder, candidate, _file_names(candidate))) is not None:
            return staging
        if n - first >= MAX_STEM_TRIES:
            break
    raise ExportError(f"{folder}: no free pair name after {MAX_STEM_TRIES} tries")


def export_pair(folder: str | Path, depth_mm: np.ndarray, record: PoseRecord, *,
                labels: np.ndarray | None = None, preview: bool = True,
                stem: str | None = None, provenance: dict | None = None) -> dict[str, Path]:
    """Write one pair into `folder` (created if needed); returns {kind: path} of what was written.

    `depth_mm` is float mm (0 = no data) in `record.camera`'s frame; `provenance` keys (sensor,
    seed, source, ...) are stored in the pose file next to the pose.
    """
    folder = Path(folder)
    depth = np.asarray(depth_mm)
    cam = record.camera
    if depth.shape != (cam.height, cam.width):
        raise ExportError(f"depth is {depth.shape[1]}x{depth.shape[0]}, the pose's camera is "
                          f"{cam.width}x{cam.height}")
    if labels is not None and np.asarray(labels).shape != depth.shape:
        raise ExportError("labels and depth differ in size")
    if stem is not None and not _STEM_PATTERN.match(stem):
        raise ExportError(f"invalid pair name {stem!r} (letters, digits, '.', '_', '-')")
    folder.mkdir(parents=True, exist_ok=True)
    recover(folder)
    staging = _reserve_stem(folder, stem)
    try:
        kinds = _write_pair(staging, depth, record, labels, preview, provenance)
        staging.commit([f"{staging.stem}{SUFFIXES[k]}" for k in kinds])
    except BaseException:
        staging.abandon()
        raise
    paths = pair_paths(folder, staging.stem)
    return {kind: paths[kind] for kind in kinds}


def _write_pair(staging: Staging, depth: np.ndarray, record: PoseRecord,
                labels: np.ndarray | None, preview: bool, provenance: dict | None) -> list[str]:
    """Write the pair's files into the staging folder; returns their kinds in SUFFIXES order."""
    paths = {kind: staging.path(f"{staging.stem}{suffix}") for kind, suffix in SUFFIXES.items()}
    cam = record.camera
    joints_2d = cam.project(record.joints)
    extra = {**record.extra, **(provenance or {}), "joints_2d": np.round(joints_2d, 3).tolist()}
    write_depth_png16(paths["depth"], depth)
    if labels is not None:
        write_png(paths["labels"], np.asarray(labels, dtype=np.uint8))
    if preview:
        write_png(paths["preview"], depth_preview(depth, labels, joints_2d))
    save_pose(paths["pose"], PoseRecord(joints=record.joints, camera=cam,
                                        handedness=record.handedness, hand=record.hand,
                                        name=record.name, extra=extra))
    return ["depth", *(["labels"] if labels is not None else []), *(["preview"] if preview else []),
            "pose"]
