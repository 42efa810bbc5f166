"""NYU Hand Pose Dataset (Tompson et al., ACM TOG 2014): RGB-packed depth PNGs + joint labels.

Layout: a folder (train/ or test/) holding joint_data.mat and depth_<k>_<frame>.png, k = Kinect
view 1..3, frame = 7 digits from 0000001. The common evaluation label text file (one line per
frame of view 1: 14 joints as u v d) can stand in for joint_data.mat (`Nyu14Reader`).

Depth: 8-bit RGB PNG, depth mm = (G << 8) | B. Pixels the sensor did not measure hold
NO_DATA_MM (2001) — 61 % of test frame 1, mostly the far background — and become 0 here.

Labels: joint_data.mat 'joint_uvd' (views, frames, 36, 3) = (u px, v px, d mm). We lift uvd
through the Kinect v1 intrinsics instead of reading 'joint_xyz' (the same points with y up):
the joints then sit exactly on the pixels they annotate.

NYU's 36 points: for each finger F1 little, F2 ring, F3 middle, F4 index, TH thumb, six points
from the tip down, KNU3_A, KNU3_B, KNU2_A, KNU2_B, KNU1_A, KNU1_B: the distal (A) and proximal
(B) end of the finger's distal, middle and proximal segment (the thumb's are distal phalanx,
proximal phalanx, metacarpal); then PALM_1..6, where 30 and 31 are the two sides of the wrist
and 32 the palm centre. The B ends are the joints; each A end repeats the next segment's B end.
Checked on test frame 1: tip→KNU2_B is ≈ 40 mm on the little finger (tip→PIP), and thumb
KNU3_B→KNU2_B ≈ 42 mm (IP→MCP).

    ours                NYU id (name)
    0  wrist            mean of 30, 31 (PALM_1, PALM_2) — approximation: NYU labels the two
                        sides of the wrist, not its centre
    1  thumb_cmc        29 TH_KNU1_B
    2  thumb_mcp        27 TH_KNU2_B
    3  thumb_ip         25 TH_KNU3_B
    4  thumb_tip        24 TH_KNU3_A
    5-8   index  mcp, pip, dip, tip    23, 21, 19, 18 (F4 KNU1_B, KNU2_B, KNU3_B, KNU3_A)
    9-12  middle                       17, 15, 13, 12 (F3)
    13-16 ring                         11,  9,  7,  6 (F2)
    17-20 little                        5,  3,  1,  0 (F1)
    unused: the A ends 2, 4, 8, 10, 14, 16, 20, 22, 26, 28 and palm points 32-35.

The 14-joint subset (NYU ids 0 3 6 9 12 15 18 21 24 25 27 30 31 32) gives wrist, thumb
mcp/ip/tip and each finger's pip and tip: 12 of our 21 joints; the rest are masked.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from engine.camera import KINECT_V1, Camera
from engine.data.readers.base import (
    DatasetError,
    Sample,
    check_frame_size,
    describe,
    label_lines,
    parse_label_line,
    read_image,
    remap_joints,
    require_dir,
    require_file,
)

CAMERA: Camera = KINECT_V1

# Depth value NYU stores where the Kinect returned nothing (seen in the dataset's frames; also
# DeepPrior's NYU importer treats 2001 as unknown depth).
NO_DATA_MM = 2001

NUM_NYU_JOINTS = 36
# Our joint i ← NYU id NYU_TABLE[i]; the wrist (None) is the mean of WRIST_SIDES.
NYU_TABLE: tuple[int | None, ...] = (
    None,
    29, 27, 25, 24,
    23, 21, 19, 18,
    17, 15, 13, 12,
    11, 9, 7, 6,
    5, 3, 1, 0,
)
WRIST_SIDES: tuple[int, int] = (30, 31)
# NYU ids of the 14-joint evaluation subset, in the order of its label file.
NYU14_IDS: tuple[int, ...] = (0, 3, 6, 9, 12, 15, 18, 21, 24, 25, 27, 30, 31, 32)

SOURCE = "nyu"


def read_nyu_depth(path: Path) -> np.ndarray:
    """Decode an NYU depth PNG ((G << 8) | B) to float32 mm with 0 = no data."""
    image = read_image(path)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise DatasetError(path, f"expected an 8-bit RGB NYU depth PNG, got {describe(image)}")
    blue, green = image[:, :, 0].astype(np.uint16), image[:, :, 1].astype(np.uint16)
    depth = ((green << 8) | blue).astype(np.float32)
    depth[depth >= NO_DATA_MM] = 0.0
    return depth


def nyu_joints(uvd: np.ndarray, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """NYU points (u px, v px, d mm) with NYU ids `ids` → our (21, 3) joints in mm and mask."""
    xyz = CAMERA.backproject(uvd[:, 0], uvd[:, 1], uvd[:, 2])
    row_of = {nyu_id: row for row, nyu_id in enumerate(ids)}
    table = [row_of.get(nyu_id) if nyu_id is not None else None for nyu_id in NYU_TABLE]
    joints, mask = remap_joints(xyz, table)
    if all(side in row_of for side in WRIST_SIDES):
        joints[0] = xyz[[row_of[side] for side in WRIST_SIDES]].mean(axis=0)
        mask[0] = True
    return joints, mask


def _frame_path(folder: Path, kinect: int, index: int) -> Path:
    return folder / f"depth_{kinect}_{index + 1:07d}.png"


def _sample(path: Path, uvd: np.ndarray, ids: Sequence[int]) -> Sample:
    depth = check_frame_size(path, read_nyu_depth(path), CAMERA)
    joints, mask = nyu_joints(uvd, ids)
    return Sample(depth, joints, mask, CAMERA, source=f"{SOURCE}:{path}")


def _load_joint_uvd(mat_path: Path) -> np.ndarray:
    try:
        from scipy.io import loadmat  # only NYU's .mat labels need scipy
    except ImportError:
        raise DatasetError(mat_path, "reading NYU .mat labels needs scipy") from None
    try:
        mat = loadmat(str(mat_path), variable_names=["joint_uvd"])
    except Exception as exc:  # scipy raises several types for a damaged file
        raise DatasetError(mat_path, f"cannot read .mat file ({exc.__class__.__name__})") from None
    if "joint_uvd" not in mat:
        raise DatasetError(mat_path, "no 'joint_uvd' array")
    uvd = np.asarray(mat["joint_uvd"], dtype=np.float64)
    if uvd.ndim != 4 or uvd.shape[2:] != (NUM_NYU_JOINTS, 3):
        raise DatasetError(mat_path, f"joint_uvd has shape {uvd.shape}, not (views, frames, 36, 3)")
    return uvd


class NyuReader:
    """Frames of one Kinect view of an NYU folder (joint_data.mat + depth_<k>_*.png)."""

    def __init__(self, folder: Path | str, kinect: int = 1) -> None:
        self.folder = require_dir(Path(folder))
        mat_path = require_file(self.folder / "joint_data.mat")
        uvd = _load_joint_uvd(mat_path)
        if not 1 <= kinect <= uvd.shape[0]:
            raise DatasetError(mat_path, f"has {uvd.shape[0]} Kinect views, not view {kinect}")
        self.kinect = kinect
        self._uvd = uvd[kinect - 1]

    def __len__(self) -> int:
        return len(self._uvd)

    def __iter__(self) -> Iterator[Sample]:
        for i, uvd in enumerate(self._uvd):
            yield _sample(_frame_path(self.folder, self.kinect, i), uvd, range(NUM_NYU_JOINTS))


class Nyu14Reader:
    """Frames labelled by the 14-joint evaluation text file (line i ↔ depth_<k>_<i+1>.png)."""

    def __init__(
        self, label_path: Path | str, depth_folder: Path | str | None = None, kinect: int = 1
    ) -> None:
        self.label_path = Path(label_path)
        self.folder = require_dir(Path(depth_folder) if depth_folder else self.label_path.parent)
        self.kinect = kinect
        n = 3 * len(NYU14_IDS)
        rows = [
            parse_label_line(self.label_path, no, line, n, named=False)[1]
            for no, line in label_lines(self.label_path)
        ]
        self._uvd = np.array(rows, dtype=np.float64).reshape(-1, len(NYU14_IDS), 3)

    def __len__(self) -> int:
        return len(self._uvd)

    def __iter__(self) -> Iterator[Sample]:
        for i, uvd in enumerate(self._uvd):
            yield _sample(_frame_path(self.folder, self.kinect, i), uvd, NYU14_IDS)
