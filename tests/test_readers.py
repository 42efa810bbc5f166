"""Dataset readers: tiny fixtures of each format built in tmp_path, plus NYU's real test frame 1."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.camera import ICVL_MSRA, KINECT_V1, Camera
from engine.data.crop import crop_depth, make_transform
from engine.data.readers import (
    DatasetError,
    Hands17Reader,
    IcvlReader,
    MsraReader,
    Nyu14Reader,
    NyuReader,
    OwnReader,
    open_dataset,
)
from engine.data.readers import hands17, nyu
from engine.data.readers.base import Sample

# The shared samples lie beside the checkout (../shared), in CI as in development.
REAL_NYU = Path(__file__).resolve().parents[2] / "shared" / "data" / "real_depth_samples" / "nyu"
REAL_NYU_LABEL = REAL_NYU / "nyu_test_groundtruth_label_frame1.txt"

# ---------------------------------------------------------------- fixture helpers


def blob_depth(camera: Camera, z: float, seed: int) -> np.ndarray:
    """A frame of no data with a rounded 'hand' blob of depths near z mm (uint16 mm)."""
    rng = np.random.default_rng(seed)
    v, u = np.mgrid[0 : camera.height, 0 : camera.width]
    cu, cv = camera.width / 2 + rng.integers(-20, 20), camera.height / 2 + rng.integers(-20, 20)
    r2 = ((u - cu) ** 2 + (v - cv) ** 2) / (camera.height / 4) ** 2
    depth = np.where(r2 < 1, z - 30 * (1 - r2), 0)
    return np.round(depth).astype(np.uint16)


def random_uvd(camera: Camera, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    size = np.array([camera.width, camera.height])
    uv = rng.uniform(0.3 * size, 0.7 * size, (n, 2))
    return np.column_stack([uv, rng.uniform(500, 700, n)])


def write_png16(path: Path, depth: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), depth.astype(np.uint16))


def write_nyu_png(path: Path, depth_mm: np.ndarray) -> None:
    """NYU packing: R = 0, G = high byte, B = low byte (cv2 writes B, G, R order)."""
    d = depth_mm.astype(np.uint16)
    bgr = np.stack([d & 0xFF, d >> 8, np.zeros_like(d)], axis=-1).astype(np.uint8)
    assert cv2.imwrite(str(path), bgr)


def numbers(values: np.ndarray) -> str:
    return " ".join(f"{x:.4f}" for x in np.ravel(values))


def assert_one_line_error(exc: pytest.ExceptionInfo, path: Path | str, *words: str) -> None:
    message = str(exc.value)
    assert isinstance(exc.value, DatasetError) and isinstance(exc.value, ValueError)
    assert "\n" not in message
    assert str(path) in message
    for word in words:
        assert word in message


def check_sample(s: Sample, camera: Camera) -> None:
    assert s.depth.dtype == np.float32 and s.depth.shape == (camera.height, camera.width)
    assert s.joints.dtype == np.float32 and s.joints.shape == (21, 3)
    assert s.joint_mask.dtype == bool and s.joint_mask.shape == (21,)
    assert np.all(np.isnan(s.joints[~s.joint_mask]))
    assert np.all(np.isfinite(s.joints[s.joint_mask]))
    assert np.all(s.joints[s.joint_mask, 2] > 0)  # z forward
    assert s.camera == camera


# ---------------------------------------------------------------- NYU


@pytest.fixture
def nyu_folder(tmp_path: Path) -> tuple[Path, np.ndarray, list[np.ndarray]]:
    scipy_io = pytest.importorskip("scipy.io")
    uvd = np.stack([random_uvd(KINECT_V1, 36, seed) for seed in (1, 2)])[None]  # (1 view, 2, 36, 3)
    xyz = KINECT_V1.backproject(uvd[..., 0], uvd[..., 1], uvd[..., 2]) * [1, -1, 1]  # NYU: y up
    scipy_io.savemat(tmp_path / "joint_data.mat", {"joint_uvd": uvd, "joint_xyz": xyz})
    depths = []
    for i in range(2):
        d = blob_depth(KINECT_V1, 650, seed=i)
        d[0, 0] = nyu.NO_DATA_MM
        write_nyu_png(tmp_path / f"depth_1_{i + 1:07d}.png", d)
        depths.append(d)
    return tmp_path, uvd[0], depths


def test_nyu_reader_decodes_depth_and_maps_36_joints(nyu_folder):
    folder, uvd, depths = nyu_folder
    reader = NyuReader(folder)
    samples = list(reader)
    assert len(reader) == len(samples) == 2
    for s, frame_uvd, d in zip(samples, uvd, depths):
        check_sample(s, KINECT_V1)
        assert s.joint_mask.all()
        assert s.depth[0, 0] == 0  # NYU's no-data code
        np.testing.assert_array_equal(s.depth[1:, :], d[1:, :].astype(np.float32))
        xyz = KINECT_V1.backproject(frame_uvd[:, 0], frame_uvd[:, 1], frame_uvd[:, 2])
        np.testing.assert_allclose(s.joints[8], xyz[18], atol=1e-3)  # index tip ← F4_KNU3_A
        np.testing.assert_allclose(s.joints[17], xyz[5], atol=1e-3)  # little mcp ← F1_KNU1_B
        np.testing.assert_allclose(s.joints[1], xyz[29], atol=1e-3)  # thumb cmc ← TH_KNU1_B
        np.testing.assert_allclose(s.joints[0], xyz[[30, 31]].mean(axis=0), atol=1e-3)
        # y down: a joint above the principal point has negative y.
        above = frame_uvd[18, 1] < KINECT_V1.cy
        assert (s.joints[8, 1] < 0) == above
        assert s.source.startswith("nyu:") and s.source.endswith(".png")


def test_nyu_reader_errors(nyu_folder, tmp_path):
    folder, _, _ = nyu_folder
    with pytest.raises(DatasetError) as exc:
        NyuReader(folder, kinect=2)
    assert_one_line_error(exc, folder / "joint_data.mat", "view")
    (folder / "depth_1_0000002.png").unlink()
    with pytest.raises(DatasetError) as exc:
        list(NyuReader(folder))
    assert_one_line_error(exc, folder / "depth_1_0000002.png", "not found")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError) as exc:
        NyuReader(empty)
    assert_one_line_error(exc, empty / "joint_data.mat", "not found")
    (empty / "joint_data.mat").write_bytes(b"not a mat file")
    with pytest.raises(DatasetError) as exc:
        NyuReader(empty)
    assert_one_line_error(exc, empty / "joint_data.mat")


def test_nyu14_label_lines_and_errors(tmp_path):
    uvd = random_uvd(KINECT_V1, 14, seed=5)
    write_nyu_png(tmp_path / "depth_1_0000001.png", blob_depth(KINECT_V1, 600, seed=0))
    label = tmp_path / "labels.txt"
    label.write_text(numbers(uvd) + "\n\n")
    (s,) = list(Nyu14Reader(label))
    check_sample(s, KINECT_V1)
    present = [0, 2, 3, 4, 6, 8, 10, 12, 14, 16, 18, 20]
    assert sorted(np.flatnonzero(s.joint_mask)) == present
    xyz = KINECT_V1.backproject(uvd[:, 0], uvd[:, 1], uvd[:, 2])
    np.testing.assert_allclose(s.joints[20], xyz[0], atol=1e-3)  # little tip
    np.testing.assert_allclose(s.joints[2], xyz[10], atol=1e-3)  # thumb mcp ← TH_KNU2_B
    label.write_text(numbers(uvd) + "\n" + numbers(uvd[:5]) + "\n")
    with pytest.raises(DatasetError) as exc:
        Nyu14Reader(label)
    assert_one_line_error(exc, f"{label}:2", "42 numbers", "15 fields")


@pytest.mark.skipif(not REAL_NYU_LABEL.is_file(), reason="shared NYU sample frame not present")
def test_real_nyu_frame_labels_sit_on_the_hand():
    reader = open_dataset(f"nyu:{REAL_NYU_LABEL}")
    assert isinstance(reader, Nyu14Reader) and len(reader) == 1
    (s,) = list(reader)
    check_sample(s, KINECT_V1)
    assert 0.5 < np.mean(s.depth == 0) < 0.7  # the 2001 no-data code was decoded to 0
    assert 700 < s.depth[s.depth > 0].min() < 800  # the hand is the nearest thing, ~0.75 m
    # Each labelled joint lies just behind the surface seen at its pixel (joints are inside the
    # finger; the wrist-side points sit up to ~35 mm deep in a thick wrist).
    uv = KINECT_V1.project(s.joints[s.joint_mask])
    for (u, v), z in zip(np.round(uv).astype(int), s.joints[s.joint_mask, 2]):
        window = s.depth[v - 2 : v + 3, u - 2 : u + 3]
        surface = np.median(window[window > 0])
        assert -5.0 < z - surface < 40.0
    # A crop around the labelled joints holds the hand: its centre is almost all foreground.
    crop = crop_depth(s.depth, make_transform(s.joints, s.camera))
    assert np.mean(crop[48:80, 48:80] < 1.0) > 0.9
    assert 0.15 < np.mean(crop < 1.0) < 0.8


# ---------------------------------------------------------------- ICVL


def make_icvl(root: Path, n: int = 3) -> list[np.ndarray]:
    lines, uvds = [], []
    for i in range(n):
        name = f"2014_seq/image_{i:04d}.png"
        write_png16(root / "Depth" / name, blob_depth(ICVL_MSRA, 400, seed=i))
        uvd = random_uvd(ICVL_MSRA, 16, seed=10 + i)
        lines.append(f"{name} {numbers(uvd)}")
        uvds.append(uvd)
    (root / "labels.txt").write_text("\n".join(lines) + "\n")
    return uvds


def test_icvl_reader_maps_16_joints_and_masks_the_rest(tmp_path):
    uvds = make_icvl(tmp_path)
    samples = list(IcvlReader(tmp_path))
    assert len(samples) == 3
    for s, uvd in zip(samples, uvds):
        check_sample(s, ICVL_MSRA)
        xyz = ICVL_MSRA.backproject(uvd[:, 0], uvd[:, 1], uvd[:, 2])
        assert not s.joint_mask[[0, 1, 7, 11, 15, 19]].any()  # wrist, thumb cmc, DIPs
        assert s.joint_mask.sum() == 15
        np.testing.assert_allclose(s.joints[4], xyz[3], atol=1e-3)  # thumb tip
        np.testing.assert_allclose(s.joints[5], xyz[4], atol=1e-3)  # index root ≈ mcp
        np.testing.assert_allclose(s.joints[18], xyz[14], atol=1e-3)  # little mid ≈ pip
        assert s.depth.max() > 350 and s.depth.min() == 0
    assert len(IcvlReader(tmp_path / "labels.txt")) == 3


def test_icvl_errors(tmp_path):
    make_icvl(tmp_path, n=2)
    label = tmp_path / "labels.txt"
    text = label.read_text().splitlines()
    label.write_text(text[0] + "\n" + text[1].replace(text[1].split()[5], "oops") + "\n")
    with pytest.raises(DatasetError) as exc:
        IcvlReader(tmp_path)
    assert_one_line_error(exc, f"{label}:2", "not a number")
    label.write_text("\n".join(text) + "\n")
    (tmp_path / "Depth" / "2014_seq" / "image_0001.png").unlink()
    with pytest.raises(DatasetError) as exc:
        list(IcvlReader(tmp_path))
    assert_one_line_error(exc, "image_0001.png", "not found")
    with pytest.raises(DatasetError) as exc:
        IcvlReader(tmp_path / "nowhere")
    assert_one_line_error(exc, tmp_path / "nowhere", "not found")


# ---------------------------------------------------------------- MSRA15


def write_msra_bin(path: Path, depth: np.ndarray, box: tuple[int, int, int, int]) -> None:
    left, top, right, bottom = box
    header = np.array([depth.shape[1], depth.shape[0], left, top, right, bottom], dtype="<u4")
    path.write_bytes(header.tobytes() + depth[top:bottom, left:right].astype("<f4").tobytes())


def make_msra_gesture(folder: Path, n: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    frames, lines = [], []
    for i in range(n):
        depth = blob_depth(ICVL_MSRA, 350, seed=seed + i).astype(np.float32)
        depth[depth > 0] += 0.25  # MSRA depth is float
        write_msra_bin(folder / f"{i:06d}_depth.bin", depth, (100, 60, 220, 180))
        boxed = np.zeros_like(depth)
        boxed[60:180, 100:220] = depth[60:180, 100:220]
        ours = rng.uniform([-60, -60, 300], [60, 60, 400], (21, 3))
        msra_axes = ours * [1, -1, -1]  # MSRA: y up, z toward the viewer (negative)
        lines.append(numbers(msra_axes))
        frames.append((boxed, msra_axes))
    (folder / "joint.txt").write_text(f"{n}\n" + "\n".join(lines) + "\n")
    return frames


def test_msra_reader_pastes_the_box_and_flips_axes(tmp_path):
    frames = make_msra_gesture(tmp_path / "P0" / "1", n=2, seed=0)
    frames += make_msra_gesture(tmp_path / "P0" / "IP", n=1, seed=7)
    reader = MsraReader(tmp_path)
    samples = list(reader)
    assert len(reader) == len(samples) == 3
    for s, (depth, msra_axes) in zip(samples, frames):
        check_sample(s, ICVL_MSRA)
        assert s.joint_mask.all()
        np.testing.assert_array_equal(s.depth, depth)
        ours = msra_axes * [1, -1, -1]  # y down, z forward
        np.testing.assert_allclose(s.joints[0], ours[0], atol=1e-3)  # wrist
        np.testing.assert_allclose(s.joints[4], ours[20], atol=1e-3)  # thumb tip
        np.testing.assert_allclose(s.joints[5], ours[1], atol=1e-3)  # index mcp
        np.testing.assert_allclose(s.joints[20], ours[16], atol=1e-3)  # little tip
    assert len(MsraReader(tmp_path / "P0" / "IP")) == 1


def test_msra_errors(tmp_path):
    gesture = tmp_path / "P0" / "1"
    make_msra_gesture(gesture, n=2, seed=0)
    bin_path = gesture / "000001_depth.bin"
    bin_path.write_bytes(bin_path.read_bytes()[:-100])
    with pytest.raises(DatasetError) as exc:
        list(MsraReader(gesture))
    assert_one_line_error(exc, bin_path, "truncated")
    bin_path.write_bytes(b"\x01\x02")
    with pytest.raises(DatasetError) as exc:
        list(MsraReader(gesture))
    assert_one_line_error(exc, bin_path, "truncated")
    label = gesture / "joint.txt"
    lines = label.read_text().splitlines()
    label.write_text("3\n" + "\n".join(lines[1:]) + "\n")
    with pytest.raises(DatasetError) as exc:
        MsraReader(gesture)
    assert_one_line_error(exc, label, "3 frames")
    label.write_text("2\n" + lines[1] + "\n" + lines[2][:40] + "\n")
    with pytest.raises(DatasetError) as exc:
        MsraReader(gesture)
    assert_one_line_error(exc, f"{label}:3", "63 numbers")


# ---------------------------------------------------------------- HANDS 2017


def test_hands17_reader_keeps_the_frame_and_reorders_joints(tmp_path):
    cam = hands17.CAMERA
    rng = np.random.default_rng(4)
    lines, labels = [], []
    for i in range(2):
        name = f"image_D{i + 1:08d}.png"
        write_png16(tmp_path / "images" / name, blob_depth(cam, 500, seed=i))
        xyz = rng.uniform([-80, -80, 400], [80, 80, 600], (21, 3))
        lines.append(f"{name}\t{numbers(xyz)}")
        labels.append(xyz)
    (tmp_path / "Training_Annotation.txt").write_text("\n".join(lines) + "\n")
    samples = list(open_dataset(f"hands17:{tmp_path}"))
    assert len(samples) == 2
    for s, xyz in zip(samples, labels):
        check_sample(s, cam)
        assert s.joint_mask.all()
        order = hands17.HANDS17_TABLE
        np.testing.assert_allclose(s.joints, xyz[list(order)], atol=1e-3)
        np.testing.assert_allclose(s.joints[2], xyz[6], atol=1e-3)  # thumb mcp ← TPIP
        np.testing.assert_allclose(s.joints[13], xyz[4], atol=1e-3)  # ring mcp ← RMCP
        np.testing.assert_allclose(s.joints[20], xyz[20], atol=1e-3)  # pinky tip
    bad = tmp_path / "Training_Annotation.txt"
    bad.write_text(lines[0] + "\nimage_D00000002.png 1 2 3\n")
    with pytest.raises(DatasetError) as exc:
        Hands17Reader(bad)
    assert_one_line_error(exc, f"{bad}:2", "63 numbers")


def test_hands17_rejects_an_8_bit_png(tmp_path):
    name = "image_D00000001.png"
    assert cv2.imwrite(str(tmp_path / name), np.zeros((480, 640), np.uint8))
    (tmp_path / "Training_Annotation.txt").write_text(f"{name} {numbers(np.ones((21, 3)) * 500)}\n")
    with pytest.raises(DatasetError) as exc:
        list(Hands17Reader(tmp_path))
    assert_one_line_error(exc, tmp_path / name, "16-bit")


# ---------------------------------------------------------------- our own format


def write_pose_json(path: Path, joints: np.ndarray, camera: Camera) -> None:
    pose = {"handedness": "right", "joints": joints.tolist(), "camera": camera.to_dict()}
    path.write_text(json.dumps(pose))


def test_own_reader_reads_samples_and_shard_folders(tmp_path):
    cam = Camera(fx=300.0, fy=300.0, cx=80.0, cy=60.0, width=160, height=120)
    rng = np.random.default_rng(9)
    joints = {}
    for name in ("a", "shard_0/b"):  # a sample at the top, one in a shard folder
        write_png16(tmp_path / f"{name}_depth.png", blob_depth(cam, 450, seed=len(joints)))
        joints[name] = rng.uniform([-50, -50, 400], [50, 50, 500], (21, 3))
        write_pose_json(tmp_path / f"{name}_pose.json", joints[name], cam)
    samples = list(open_dataset(f"own:{tmp_path}"))
    assert [Path(s.source.split(":", 1)[1]).name for s in samples] == ["a_depth.png"]
    check_sample(samples[0], cam)
    np.testing.assert_allclose(samples[0].joints, joints["a"], atol=1e-3)
    (tmp_path / "a_pose.json").unlink()
    (s,) = list(OwnReader(tmp_path))  # no sample at the top: the shard folders'
    assert s.joint_mask.all() and s.source.endswith("b_depth.png")
    np.testing.assert_allclose(s.joints, joints["shard_0/b"], atol=1e-3)


def test_own_reader_errors(tmp_path):
    cam = Camera(fx=300.0, fy=300.0, cx=80.0, cy=60.0, width=160, height=120)
    write_pose_json(tmp_path / "a_pose.json", np.full((21, 3), 400.0), cam)
    with pytest.raises(DatasetError) as exc:
        list(OwnReader(tmp_path))
    assert_one_line_error(exc, tmp_path / "a_depth.png", "not found")
    write_png16(tmp_path / "a_depth.png", np.zeros((100, 100), np.uint16))
    with pytest.raises(DatasetError) as exc:
        list(OwnReader(tmp_path))
    assert_one_line_error(exc, tmp_path / "a_depth.png", "100x100", "160x120")
    (tmp_path / "a_pose.json").write_text('{"joints": [[1, 2, 3]], "camera": {}}')
    with pytest.raises(DatasetError) as exc:
        list(OwnReader(tmp_path))
    assert_one_line_error(exc, tmp_path / "a_pose.json")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError) as exc:
        OwnReader(empty)
    assert_one_line_error(exc, empty, "no samples")


# ---------------------------------------------------------------- open_dataset


def test_open_dataset_dispatches_on_prefix(tmp_path, nyu_folder):
    folder, _, _ = nyu_folder
    assert isinstance(open_dataset(f"nyu:{folder}"), NyuReader)
    icvl_root = tmp_path / "icvl"
    icvl_root.mkdir()
    make_icvl(icvl_root, n=1)
    assert isinstance(open_dataset(f"icvl:{icvl_root / 'labels.txt'}"), IcvlReader)
    make_msra_gesture(tmp_path / "msra" / "P0" / "1", n=1, seed=0)
    assert isinstance(open_dataset(f"msra:{tmp_path / 'msra'}"), MsraReader)


def test_open_dataset_rejects_unknown_prefix_and_missing_path(tmp_path):
    with pytest.raises(ValueError) as exc:
        open_dataset("kinect:/data/x")
    message = str(exc.value)
    assert "'kinect'" in message
    for valid in ("nyu:PATH", "icvl:PATH", "msra:PATH", "hands17:PATH"):
        assert valid in message
    with pytest.raises(ValueError):
        open_dataset("nyu:")
    with pytest.raises(DatasetError) as exc2:
        open_dataset(str(tmp_path / "missing"))
    assert_one_line_error(exc2, tmp_path / "missing", "not found")
