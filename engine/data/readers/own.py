"""Our own sample layout (engine.export) read back: the one reader of what the app's export,
`render`, `generate` and `dataset` write.

A folder holds samples STEM_pose.json + STEM_depth.png + ... (engine.export's docstring), either
directly or in shard folders one level down (a dataset); a dataset's manifest.jsonl, when
present, gives the order. The pose file is placed last by the writer, so every pose file found
belongs to a complete sample. `read_sample` gives every array of a sample; the reader yields
the common `Sample` (the written depth and the joints) like every other dataset reader.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.data.readers.base import (
    DatasetError,
    Sample,
    check_frame_size,
    describe,
    read_depth_png,
    read_image,
    require_dir,
)
from engine.export import FORMAT, POSE_SUFFIX, SUFFIXES
from engine.hand.pose_io import PoseFileError, PoseRecord, load_pose

SOURCE = "own"
MANIFEST = "manifest.jsonl"


@dataclass(frozen=True, eq=False)
class OwnSample:
    """Every file of one sample, decoded."""

    record: PoseRecord  # pose, camera; record.extra holds joints_2d, visibility, provenance ...
    depth: np.ndarray  # float32 mm, the written depth
    unstyled: np.ndarray  # float32 mm before the style (the depth itself when unstyled)
    labels: np.ndarray  # uint8 part labels of `depth`
    mask: np.ndarray  # bool, valid depth
    visibility: np.ndarray  # (21,) bool
    stem: Path  # folder / STEM

    @property
    def provenance(self) -> dict:
        return self.record.extra.get("provenance", {})


def _pose(pose_path: Path, full: bool = False) -> PoseRecord:
    """The pose file; `full` also requires the writer's sample block (a hand-made
    STEM_pose.json + STEM_depth.png pair is a sample for training, not for `read_sample`)."""
    try:
        record = load_pose(pose_path)
    except PoseFileError as exc:
        raise DatasetError(pose_path, str(exc).removeprefix(f"{pose_path}: ")) from None
    if full and record.extra.get("sample", {}).get("format") != FORMAT:
        raise DatasetError(pose_path, f"not a {FORMAT} pose file (no \"sample\" block)")
    return record


def _stem(pose_path: Path) -> Path:
    return pose_path.with_name(pose_path.name.removesuffix(POSE_SUFFIX))


def _file(stem: Path, kind: str) -> Path:
    return stem.with_name(stem.name + SUFFIXES[kind])


def read_sample(pose_path: str | Path) -> OwnSample:
    """All arrays of the sample whose pose file is `pose_path`; DatasetError names a bad file."""
    pose_path = Path(pose_path)
    record = _pose(pose_path, full=True)
    stem = _stem(pose_path)
    depth = check_frame_size(_file(stem, "depth"), read_depth_png(_file(stem, "depth")), record.camera)
    unstyled_path = _file(stem, "unstyled")
    unstyled = depth
    if unstyled_path.exists():
        unstyled = check_frame_size(unstyled_path, read_depth_png(unstyled_path), record.camera)
    labels = read_image(_file(stem, "labels"))
    if labels.dtype != np.uint8 or labels.shape != depth.shape:
        raise DatasetError(_file(stem, "labels"), f"expected a one-channel uint8 label map the size "
                                                  f"of the depth, got {describe(labels)} {labels.shape}")
    mask = read_image(_file(stem, "mask"))
    if mask.shape != depth.shape:
        raise DatasetError(_file(stem, "mask"), f"mask is {mask.shape}, depth is {depth.shape}")
    visibility = np.asarray(record.extra.get("visibility", [True] * len(record.joints)), bool)
    return OwnSample(record=record, depth=depth, unstyled=unstyled, labels=labels, mask=mask > 0,
                     visibility=visibility, stem=stem)


def pose_files(folder: Path) -> list[Path]:
    """The samples' pose files of a folder: manifest order, else its own files and those of
    its shard folders, sorted."""
    manifest = folder / MANIFEST
    if manifest.is_file():
        rows = []
        for no, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
            try:
                rows.append(folder / json.loads(line)["files"]["pose"])
            except (ValueError, KeyError, TypeError):
                raise DatasetError(f"{manifest}:{no}", "not a manifest row (JSON with files.pose)") from None
        return rows
    found = sorted(folder.glob(f"*{POSE_SUFFIX}"))
    return found or sorted(folder.glob(f"*/*{POSE_SUFFIX}"))


class OwnReader:
    """Samples of a folder in our layout, as the common `Sample` (the written depth)."""

    def __init__(self, folder: Path | str) -> None:
        folder = require_dir(Path(folder))
        self._poses = pose_files(folder)
        if not self._poses:
            raise DatasetError(folder, f"no samples (STEM{POSE_SUFFIX} with STEM_depth.png ...)")

    def __len__(self) -> int:
        return len(self._poses)

    def __iter__(self) -> Iterator[Sample]:
        for pose_path in self._poses:
            record = _pose(pose_path)
            depth_path = _file(_stem(pose_path), "depth")
            depth = check_frame_size(depth_path, read_depth_png(depth_path), record.camera)
            joints = np.asarray(record.joints, dtype=np.float32)
            yield Sample(depth, joints, np.all(np.isfinite(joints), axis=1), record.camera,
                         source=f"{SOURCE}:{depth_path}")
