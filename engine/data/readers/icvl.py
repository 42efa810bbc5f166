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

import numpy as np

from engine.camera import ICVL_MSRA, Camera
from engine.data.readers.base import LabelFileReader

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


class IcvlReader(LabelFileReader):
    """Frames listed in an ICVL label file (or a folder holding labels.txt)."""

    source, camera, default_label_name, image_subfolder = SOURCE, CAMERA, DEFAULT_LABELS, "Depth"
    num_joints, table = NUM_ICVL_JOINTS, ICVL_TABLE

    def to_xyz(self, values: np.ndarray) -> np.ndarray:
        uvd = values.reshape(NUM_ICVL_JOINTS, 3)
        return CAMERA.backproject(uvd[:, 0], uvd[:, 1], uvd[:, 2])
