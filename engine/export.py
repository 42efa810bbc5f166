"""Export one depth/pose pair: the frame on screen as files another program can train on.

For each pair STEM in a folder:
    STEM_depth.png    uint16 millimetres, 0 = no data, full frame (never colour-mapped)
    STEM_pose.json    the pose (engine.hand.pose_io's schema) + provenance (sensor, seed, ...)
    STEM_labels.png   part labels 0-7 of the clean render (when given)
    STEM_preview.png  a colour preview for people (when asked)
Every file is written atomically (engine.io_utils) and nothing is ever overwritten: without a
stem the next free "pair_NNNN" is taken, and a given stem that already has files is an error.
The dataset exporter builds on this one.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from engine.hand.pose_io import PoseRecord, save_pose
from engine.io_utils import write_depth_png16, write_png
from engine.sim.preview import depth_preview

STEM_PREFIX = "pair"
STEM_DIGITS = 4
SUFFIXES = {"depth": "_depth.png", "pose": "_pose.json", "labels": "_labels.png",
            "preview": "_preview.png"}
_STEM_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class ExportError(OSError):
    """An export that cannot be done; str() is one line."""


def pair_paths(folder: str | Path, stem: str) -> dict[str, Path]:
    """Where each file of pair `stem` goes."""
    folder = Path(folder)
    return {kind: folder / f"{stem}{suffix}" for kind, suffix in SUFFIXES.items()}


def _taken(folder: Path, stem: str) -> bool:
    return any(p.exists() for p in pair_paths(folder, stem).values())


def next_free_stem(folder: str | Path, prefix: str = STEM_PREFIX) -> str:
    """The first "prefix_NNNN" after every numbered pair already in the folder."""
    folder = Path(folder)
    pattern = re.compile(rf"^{re.escape(prefix)}_(\d+)_")
    numbers = [int(m.group(1)) for p in folder.glob(f"{prefix}_*")
               if (m := pattern.match(p.name))] if folder.is_dir() else []
    n = max(numbers, default=0) + 1
    while _taken(folder, f"{prefix}_{n:0{STEM_DIGITS}d}"):
        n += 1
    return f"{prefix}_{n:0{STEM_DIGITS}d}"


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
    if stem is None:
        stem = next_free_stem(folder)
    elif not _STEM_PATTERN.match(stem):
        raise ExportError(f"invalid pair name {stem!r} (letters, digits, '.', '_', '-')")
    elif _taken(folder, stem):
        raise ExportError(f"{folder / stem}: a pair of that name exists; not overwriting it")
    paths = pair_paths(folder, stem)
    joints_2d = cam.project(record.joints)
    extra = {**record.extra, **(provenance or {}), "joints_2d": np.round(joints_2d, 3).tolist()}
    written: dict[str, Path] = {}
    write_depth_png16(paths["depth"], depth)
    written["depth"] = paths["depth"]
    save_pose(paths["pose"], PoseRecord(joints=record.joints, camera=cam,
                                        handedness=record.handedness, hand=record.hand,
                                        name=record.name, extra=extra))
    written["pose"] = paths["pose"]
    if labels is not None:
        write_png(paths["labels"], np.asarray(labels, dtype=np.uint8))
        written["labels"] = paths["labels"]
    if preview:
        write_png(paths["preview"], depth_preview(depth, labels, joints_2d))
        written["preview"] = paths["preview"]
    return written
