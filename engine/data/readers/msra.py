"""MSRA15 hand gesture dataset (Sun et al., CVPR 2015): cropped float depth .bin + joint.txt.

Layout: P<subject>/<gesture>/ folders, each with joint.txt and <frame:06d>_depth.bin. The reader
takes one gesture folder, or any folder above them (every joint.txt below it, sorted).
joint.txt: first line = frame count N, then N lines of 21 joints × (x y z) mm.
Axes: MSRA's frame is x right, y up, z toward the viewer (its z values are negative for points
in front of the camera); ours is (x, -y, -z). DeepPrior's MSRA importer negates z and projects
with v = cy - fy * y / z, which is the same frame.
.bin: six uint32 (img_width, img_height, left, top, right, bottom), then float32 depth (mm,
0 = background) of the box [top, bottom) x [left, right), row-major, little-endian. The reader
pastes the box into a zero 320x240 frame.

    ours                        MSRA
    0  wrist                    0  wrist
    1-4    thumb cmc..tip       17-20 thumb "mcp, pip, dip, tip": the same four points along the
                                thumb; MSRA names them like a finger's, anatomically they are
                                CMC, MCP, IP, tip
    5-8    index mcp..tip       1-4
    9-12   middle               5-8
    13-16  ring                 9-12
    17-20  little               13-16
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from engine.camera import ICVL_MSRA, Camera
from engine.data.readers.base import (
    DatasetError,
    Sample,
    label_lines,
    parse_label_line,
    remap_joints,
    require_dir,
)

CAMERA: Camera = ICVL_MSRA
NUM_MSRA_JOINTS = 21
HEADER_FIELDS = 6
LABEL_FILE = "joint.txt"
# Our joint i ← MSRA joint MSRA_TABLE[i].
MSRA_TABLE: tuple[int, ...] = (
    0,
    17, 18, 19, 20,
    1, 2, 3, 4,
    5, 6, 7, 8,
    9, 10, 11, 12,
    13, 14, 15, 16,
)
# MSRA (x right, y up, z toward the viewer) → ours (x right, y down, z forward).
AXIS_SIGNS = np.array([1.0, -1.0, -1.0])

SOURCE = "msra"


def read_msra_bin(path: Path) -> np.ndarray:
    """Decode an MSRA depth .bin into a full float32 frame in mm (0 = no data)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(path, "file not found") from None
    header_bytes = 4 * HEADER_FIELDS
    if len(data) < header_bytes:
        raise DatasetError(path, f"truncated: {len(data)} bytes, header alone is {header_bytes}")
    header = np.frombuffer(data, "<u4", HEADER_FIELDS)
    width, height, left, top, right, bottom = (int(x) for x in header)
    if (width, height) != (CAMERA.width, CAMERA.height):
        raise DatasetError(path, f"frame is {width}x{height}, not {CAMERA.width}x{CAMERA.height}")
    if not (left <= right <= width and top <= bottom <= height):
        raise DatasetError(path, f"bad box left={left} top={top} right={right} bottom={bottom}")
    expected = header_bytes + 4 * (bottom - top) * (right - left)
    if len(data) != expected:
        problem = "truncated" if len(data) < expected else "has trailing bytes"
        raise DatasetError(path, f"{problem}: {len(data)} bytes, box needs {expected}")
    box = np.frombuffer(data, "<f4", offset=header_bytes).reshape(bottom - top, right - left)
    depth = np.zeros((height, width), dtype=np.float32)
    depth[top:bottom, left:right] = box
    depth[~np.isfinite(depth) | (depth < 0)] = 0.0
    return depth


def _read_joint_file(path: Path) -> np.ndarray:
    """joint.txt → (N, 21, 3) in MSRA's own axes."""
    lines = label_lines(path)
    if not lines:
        raise DatasetError(path, "empty joint file")
    no, first = lines[0]
    try:
        count = int(first.strip())
    except ValueError:
        raise DatasetError(f"{path}:{no}", "first line must be the frame count") from None
    if len(lines) - 1 != count:
        raise DatasetError(path, f"header says {count} frames, file has {len(lines) - 1}")
    n = 3 * NUM_MSRA_JOINTS
    rows = [parse_label_line(path, no, line, n, named=False)[1] for no, line in lines[1:]]
    return np.array(rows, dtype=np.float64).reshape(count, NUM_MSRA_JOINTS, 3)


class MsraReader:
    """Frames of one MSRA gesture folder, or of every gesture folder below `root`."""

    def __init__(self, root: Path | str) -> None:
        root = require_dir(Path(root))
        own = root / LABEL_FILE
        label_files = [own] if own.is_file() else sorted(root.rglob(LABEL_FILE))
        if not label_files:
            raise DatasetError(root, f"no {LABEL_FILE} in or below this folder")
        self._sequences = [(f.parent, _read_joint_file(f)) for f in label_files]

    def __len__(self) -> int:
        return sum(len(joints) for _, joints in self._sequences)

    def __iter__(self) -> Iterator[Sample]:
        for folder, sequence in self._sequences:
            for i, msra_joints in enumerate(sequence):
                path = folder / f"{i:06d}_depth.bin"
                joints, mask = remap_joints(msra_joints * AXIS_SIGNS, MSRA_TABLE)
                yield Sample(read_msra_bin(path), joints, mask, CAMERA, source=f"{SOURCE}:{path}")
