"""Our own sample format: a 16-bit depth PNG (mm, 0 = no data) + a pose file (engine.hand.pose_io).

Two layouts of a folder:
- what the `render` command writes: DIR/depth.png + DIR/pose.json, one sample;
- a folder of samples: every NAME.json in it is a pose file and needs NAME.png beside it
  (PNGs without a pose file, such as label maps or previews, are not samples and are skipped).
Joints are already in our order and frame; the camera comes from the pose file and must match
the PNG's size.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from engine.data.readers.base import (
    DatasetError,
    Sample,
    check_frame_size,
    read_depth_png,
    require_dir,
    require_file,
)
from engine.hand.pose_io import PoseFileError, load_pose

RENDER_DEPTH = "depth.png"
RENDER_POSE = "pose.json"

SOURCE = "own"


def read_own_sample(depth_path: Path, pose_path: Path) -> Sample:
    """One sample from a depth PNG and its pose file."""
    try:
        record = load_pose(pose_path)
    except PoseFileError as exc:
        raise DatasetError(pose_path, str(exc).removeprefix(f"{pose_path}: ")) from None
    depth = check_frame_size(depth_path, read_depth_png(depth_path), record.camera)
    joints = np.asarray(record.joints, dtype=np.float32)
    mask = np.all(np.isfinite(joints), axis=1)
    return Sample(depth, joints, mask, record.camera, source=f"{SOURCE}:{depth_path}")


class OwnReader:
    """Samples of a folder in our format (render layout or NAME.png + NAME.json pairs)."""

    def __init__(self, folder: Path | str) -> None:
        folder = require_dir(Path(folder))
        if (folder / RENDER_POSE).is_file():
            self._pairs = [(require_file(folder / RENDER_DEPTH), folder / RENDER_POSE)]
        else:
            poses = sorted(folder.glob("*.json"))
            self._pairs = [(require_file(pose.with_suffix(".png")), pose) for pose in poses]
        if not self._pairs:
            raise DatasetError(folder, "no samples (NAME.json + NAME.png or pose.json + depth.png)")

    def __len__(self) -> int:
        return len(self._pairs)

    def __iter__(self) -> Iterator[Sample]:
        for depth_path, pose_path in self._pairs:
            yield read_own_sample(depth_path, pose_path)
