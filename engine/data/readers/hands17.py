"""HANDS 2017 challenge / BigHand2.2M (Yuan et al., CVPR 2017): 16-bit PNGs + xyz annotations.

Layout: training/Training_Annotation.txt with one line per frame,
`image_D00000001.png x1 y1 z1 ... x21 y21 z21` (mm, camera frame: x right, y down, z forward,
the same as ours), and the PNGs in images/ beside it (or beside the annotation file when there
is no images/). Depth: uint16 PNG, mm, 640x480 (Intel RealSense SR300), 0 = no data.

Joint order [wrist, TMCP, IMCP, MMCP, RMCP, PMCP, TPIP, TDIP, TTIP, IPIP, IDIP, ITIP, MPIP,
MDIP, MTIP, RPIP, RDIP, RTIP, PPIP, PDIP, PTIP] (T, I, M, R, P = thumb, index, middle, ring,
pinky):

    ours                      HANDS17
    0  wrist                  0  wrist
    1-4    thumb cmc..tip     1 TMCP, 6 TPIP, 7 TDIP, 8 TTIP: the same four points along the
                              thumb; the dataset names them like a finger's, anatomically they
                              are CMC, MCP, IP, tip
    5-8    index mcp..tip     2, 9, 10, 11
    9-12   middle             3, 12, 13, 14
    13-16  ring               4, 15, 16, 17
    17-20  little             5, 18, 19, 20
"""
from __future__ import annotations

from engine.camera import Camera
from engine.data.readers.base import LabelFileReader

# Depth intrinsics of the SR300 used for BigHand2.2M, as published with the HANDS 2017 data.
CAMERA = Camera(fx=475.065948, fy=475.065857, cx=315.944855, cy=245.287079, width=640, height=480)
NUM_HANDS17_JOINTS = 21
DEFAULT_ANNOTATION = "Training_Annotation.txt"
# Our joint i ← HANDS17 joint HANDS17_TABLE[i].
HANDS17_TABLE: tuple[int, ...] = (
    0,
    1, 6, 7, 8,
    2, 9, 10, 11,
    3, 12, 13, 14,
    4, 15, 16, 17,
    5, 18, 19, 20,
)

SOURCE = "hands17"


class Hands17Reader(LabelFileReader):
    """Frames listed in a HANDS 2017 annotation file (or a folder holding one)."""

    source, camera, default_label_name, image_subfolder = SOURCE, CAMERA, DEFAULT_ANNOTATION, "images"
    num_joints, table = NUM_HANDS17_JOINTS, HANDS17_TABLE
