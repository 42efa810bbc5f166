"""ICVL hand posture dataset (Tang et al., CVPR 2014): 16-bit depth PNGs + a uvd label file.

Layout: a label file (Training/labels.txt, Testing/test_seq_1.txt, ...) with one line per frame,
`path u1 v1 d1 ... u16 v16 d16` (u, v px; d mm). `path` is relative to the Depth/ folder beside
the label file, or to the label file's own folder when there is no Depth/.
Depth: uint16 PNG, mm, 320x240, 0 = no data. Joints are lifted from uvd with the camera below.

ICVL's 16 joints: 0 palm, then root, mid, tip of thumb (1-3), index (4-6), middle (7-9),
ring (10-12), little (13-15).

    ours                 ICVL
    0  wrist             —  (ICVL's palm point is the palm centre, not the wrist)
    1  thumb_cmc         —
    2  thumb_mcp         1  thumb root  (≈ MCP)
    3  thumb_ip          2  thumb mid   (≈ IP)
    4  thumb_tip         3
    5, 6, 7, 8   index   4 root ≈ MCP, 5 mid ≈ PIP, — (no DIP), 6 tip
    9-12   middle        7, 8, —, 9
    13-16  ring          10, 11, —, 12
    17-20  little        13, 14, —, 15
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from engine.camera import ICVL_MSRA, Camera
from engine.data.readers.base import (
    Sample,
    check_frame_size,
    label_lines,
    parse_label_line,
    read_depth_png,
    remap_joints,
    require_file,
)

CAMERA: Camera = ICVL_MSRA
NUM_ICVL_JOINTS = 16
DEFAULT_LABELS = "labels.txt"
# Our joint i ← ICVL joint ICVL_TABLE[i] (None: ICVL has no such joint).
ICVL_TABLE: tuple[int | None, ...] = (
    None,
    None, 1, 2, 3,
    4, 5, None, 6,
    7, 8, None, 9,
    10, 11, None, 12,
    13, 14, None, 15,
)

SOURCE = "icvl"


class IcvlReader:
    """Frames listed in an ICVL label file (or a folder holding labels.txt)."""

    def __init__(self, path: Path | str) -> None:
        path = Path(path)
        self.label_path = require_file(path / DEFAULT_LABELS if path.is_dir() else path)
        base = self.label_path.parent
        self.image_folder = base / "Depth" if (base / "Depth").is_dir() else base
        n = 3 * NUM_ICVL_JOINTS
        self._frames = [
            parse_label_line(self.label_path, no, line, n, named=True)
            for no, line in label_lines(self.label_path)
        ]

    def __len__(self) -> int:
        return len(self._frames)

    def __iter__(self) -> Iterator[Sample]:
        for name, values in self._frames:
            path = self.image_folder / name
            depth = check_frame_size(path, read_depth_png(path), CAMERA)
            uvd = values.reshape(NUM_ICVL_JOINTS, 3)
            xyz = CAMERA.backproject(uvd[:, 0], uvd[:, 1], uvd[:, 2])
            joints, mask = remap_joints(xyz, ICVL_TABLE)
            yield Sample(depth, joints, mask, CAMERA, source=f"{SOURCE}:{path}")
