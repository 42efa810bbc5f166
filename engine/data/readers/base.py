"""What every dataset reader yields (Sample), how it fails (DatasetError), and shared parsing.

Readers parse their label files when constructed, so a malformed label fails at once, and read
depth frames lazily while iterating, so a dataset of 100k frames costs nothing until used.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from engine.camera import Camera
from engine.hand.skeleton import NUM_JOINTS


class DatasetError(ValueError):
    """A dataset file is missing or malformed; the message is one line naming file and problem."""

    def __init__(self, location: Path | str, problem: str) -> None:
        super().__init__(f"{location}: {problem}")
        self.location = str(location)  # a file, or "file:line" for a label line
        self.problem = problem

    def __reduce__(self) -> tuple:
        # Rebuild from both parts so the error survives pickling (DataLoader worker processes).
        return (type(self), (self.location, self.problem))


@dataclass(frozen=True, eq=False)
class Sample:
    """One depth frame with its hand joints, in the engine's conventions.

    depth: float32 (H, W) mm, 0 = no data. joints: float32 (21, 3) mm, camera frame (OpenCV
    axes), MediaPipe order, NaN rows where the dataset has no such joint (joint_mask False).
    source: "<dataset>:<file>" so a sample can be traced back to where it came from.
    """

    depth: np.ndarray
    joints: np.ndarray
    joint_mask: np.ndarray
    camera: Camera
    source: str


class DatasetReader(Protocol):
    """A sized, re-iterable source of samples (every reader in this package is one)."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Sample]: ...


def require_file(path: Path) -> Path:
    if not path.is_file():
        raise DatasetError(path, "file not found")
    return path


def require_dir(path: Path) -> Path:
    if not path.is_dir():
        raise DatasetError(path, "folder not found")
    return path


def read_depth_png(path: Path) -> np.ndarray:
    """A 16-bit single-channel PNG of millimetres (0 = no data) as float32 mm."""
    image = read_image(path)
    if image.dtype != np.uint16 or image.ndim != 2:
        raise DatasetError(path, f"expected a 16-bit one-channel depth PNG, got {describe(image)}")
    return image.astype(np.float32)


def read_image(path: Path) -> np.ndarray:
    """An image file as stored (cv2 order: B, G, R for colour), or a DatasetError."""
    require_file(path)
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise DatasetError(path, "cannot decode image")
    return image


def describe(image: np.ndarray) -> str:
    channels = 1 if image.ndim == 2 else image.shape[2]
    return f"{image.dtype} with {channels} channel(s)"


def check_frame_size(path: Path, depth: np.ndarray, camera: Camera) -> np.ndarray:
    h, w = depth.shape
    if (h, w) != (camera.height, camera.width):
        raise DatasetError(path, f"depth is {w}x{h}, camera is {camera.width}x{camera.height}")
    return depth


def parse_label_line(
    path: Path, line_no: int, line: str, n_numbers: int, named: bool
) -> tuple[str, np.ndarray]:
    """Split a whitespace-separated label line into (name or "", n_numbers float64 values)."""
    fields = line.split()
    expected = n_numbers + (1 if named else 0)
    where = f"{path}:{line_no}"
    if len(fields) != expected:
        what = f"a name and {n_numbers} numbers" if named else f"{n_numbers} numbers"
        raise DatasetError(where, f"expected {what}, got {len(fields)} fields")
    name = fields[0] if named else ""
    try:
        values = np.array(fields[1:] if named else fields, dtype=np.float64)
    except ValueError:
        raise DatasetError(where, "label has a field that is not a number") from None
    if not np.all(np.isfinite(values)):
        raise DatasetError(where, "label has a non-finite number")
    return name, values


def label_lines(path: Path) -> list[tuple[int, str]]:
    """Non-blank lines of a text label file with their 1-based line numbers."""
    require_file(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(path, f"cannot read label file ({exc.__class__.__name__})") from None
    return [(i, line) for i, line in enumerate(text.splitlines(), start=1) if line.strip()]


def remap_joints(points: np.ndarray, table: Sequence[int | None]) -> tuple[np.ndarray, np.ndarray]:
    """Reorder a dataset's joints (N, 3) into ours: table[i] is the source row of our joint i.

    Joints whose entry is None are NaN with mask False: missing, never invented.
    """
    joints = np.full((NUM_JOINTS, 3), np.nan, dtype=np.float32)
    mask = np.zeros(NUM_JOINTS, dtype=bool)
    for ours, theirs in enumerate(table):
        if theirs is not None:
            joints[ours] = points[theirs]
            mask[ours] = True
    return joints, mask


class LabelFileReader:
    """Frames listed one per line in a text label file, `image_name v1 v2 ... vN`, with the
    depth PNGs in an image folder beside it (ICVL, HANDS 2017). A subclass sets the class
    attributes and, when its labels are not camera-frame xyz, overrides `to_xyz`.
    """

    source: str
    camera: Camera
    default_label_name: str
    image_subfolder: str
    num_joints: int
    table: Sequence[int | None]

    def __init__(self, path: Path | str) -> None:
        path = Path(path)
        self.label_path = require_file(path / self.default_label_name if path.is_dir() else path)
        base = self.label_path.parent
        sub = base / self.image_subfolder
        self.image_folder = sub if sub.is_dir() else base
        n = 3 * self.num_joints
        self._frames = [parse_label_line(self.label_path, no, line, n, named=True)
                        for no, line in label_lines(self.label_path)]

    def to_xyz(self, values: np.ndarray) -> np.ndarray:
        """The label's numbers as (num_joints, 3) camera-frame points in mm."""
        return values.reshape(self.num_joints, 3)

    def __len__(self) -> int:
        return len(self._frames)

    def __iter__(self) -> Iterator[Sample]:
        for name, values in self._frames:
            path = self.image_folder / name
            depth = check_frame_size(path, read_depth_png(path), self.camera)
            joints, mask = remap_joints(self.to_xyz(values), self.table)
            yield Sample(depth, joints, mask, self.camera, source=f"{self.source}:{path}")
