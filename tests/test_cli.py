"""The command line end to end: render, errors, and that headless commands never import Qt."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.cli import main
from engine.camera import ICVL_MSRA
from engine.hand.model import HandPose
from engine.hand.pose_io import load_pose

ROOT = Path(__file__).resolve().parents[1]
QT_MODULES = ("PySide6", "vispy", "pyqtgraph", "shiboken6")


def run_main(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_help_lists_commands_without_importing_qt():
    code = ("import sys, contextlib, io\nfrom app.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    try: main(['--help'])\n    except SystemExit: pass\n"
            f"bad = [m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r}]\n"
            "print(out.getvalue()); print('QT:', bad)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "render" in r.stdout and "gui" in r.stdout
    assert "QT: []" in r.stdout


def test_help_and_render_start_without_torch(tmp_path):
    # torch costs a second of start-up; only the commands that run a network import it
    code = (f"import sys\nfrom app.cli import main\nrc = main(['render', '--preset', 'ok', '--out', {str(tmp_path)!r}])\n"
            "print('RC', rc, 'TORCH', 'torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "RC 0 TORCH False" in r.stdout, r.stderr


def test_render_command_does_not_import_qt(tmp_path):
    code = (f"import sys\nfrom app.cli import main\nrc = main(['render', '--preset', 'fist', '--out', {str(tmp_path)!r}])\n"
            f"bad = [m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r}]\nprint('RC', rc, 'QT:', bad)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "RC 0 QT: []" in r.stdout, r.stderr


def test_render_preset_writes_all_files(tmp_path):
    assert main(["render", "--preset", "victory", "--sensor", "kinect_v1", "--seed", "3", "--out", str(tmp_path)]) == 0
    depth = cv2.imread(str(tmp_path / "sample_depth.png"), cv2.IMREAD_UNCHANGED)
    labels = cv2.imread(str(tmp_path / "sample_labels.png"), cv2.IMREAD_UNCHANGED)
    preview = cv2.imread(str(tmp_path / "sample_preview.png"))
    assert depth.dtype == np.uint16 and depth.shape == (480, 640)
    hand = depth[depth > 0]
    assert 600 < np.median(hand) < 720  # the presets' wrist sits 700 mm away
    assert labels.shape == (480, 640) and labels.max() <= 7
    assert preview is not None and preview.shape[0] == 480
    rec = load_pose(tmp_path / "sample_pose.json")
    assert rec.name == "victory" and rec.hand is not None and rec.extra["provenance"]["style"] == "kinect_v1"
    assert rec.camera.width == 640 and rec.camera.fx == pytest.approx(588.03)


def test_render_is_deterministic_per_seed(tmp_path):
    for name in ("a", "b"):
        main(["render", "--preset", "fist", "--sensor", "tof", "--seed", "5", "--out", str(tmp_path / name)])
    a = cv2.imread(str(tmp_path / "a/sample_depth.png"), cv2.IMREAD_UNCHANGED)
    b = cv2.imread(str(tmp_path / "b/sample_depth.png"), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(a, b)


def test_render_joints_only_pose_uses_its_camera(tmp_path):
    joints = HandPose(translation=np.array([0.0, 60.0, 500.0])).joints()
    pose = tmp_path / "ext.json"
    pose.write_text(json.dumps({"joints": joints.tolist(), "camera": ICVL_MSRA.to_dict()}))
    assert main(["render", "--pose", str(pose), "--out", str(tmp_path / "out")]) == 0
    depth = cv2.imread(str(tmp_path / "out/sample_depth.png"), cv2.IMREAD_UNCHANGED)
    labels = cv2.imread(str(tmp_path / "out/sample_labels.png"), cv2.IMREAD_UNCHANGED)
    assert depth.shape == (240, 320)
    assert ((depth > 0) == (labels > 0)).all()  # clean render: labels agree with depth
    np.testing.assert_allclose(load_pose(tmp_path / "out/sample_pose.json").joints, joints, atol=1e-3)


def test_bad_pose_file_exits_nonzero_with_one_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"joints": [[1, 2, 3]], "camera": {}}')
    r = run_main("render", "--pose", str(bad), "--out", str(tmp_path / "o"))
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()


def test_unknown_preset_and_sensor_are_clear(tmp_path):
    r = run_main("render", "--preset", "nope", "--out", str(tmp_path))
    assert r.returncode != 0 and "unknown preset" in r.stderr and "Traceback" not in r.stderr
    r = run_main("render", "--preset", "fist", "--sensor", "lidar", "--out", str(tmp_path))
    assert r.returncode != 0 and "invalid choice" in r.stderr


def test_render_warns_in_one_line_when_the_hand_leaves_the_sensor_range(tmp_path):
    # pointing at the camera: the fingertips (~470 mm) are nearer than ToF's 500 mm, the wrist not
    near = HandPose(rotation=np.radians([-60.0, 0.0, 0.0]), translation=np.array([0.0, 60.0, 560.0])).joints()
    pose = tmp_path / "near.json"
    pose.write_text(json.dumps({"joints": near.tolist(), "camera": ICVL_MSRA.to_dict()}))
    r = run_main("render", "--pose", str(pose), "--sensor", "tof", "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning:") and str(pose) in lines[0]
    assert "500-4500 mm" in lines[0]
    assert (tmp_path / "o/sample_depth.png").exists()


def test_render_fails_and_writes_nothing_when_no_hand_pixel_is_left(tmp_path):
    too_near = HandPose(translation=np.array([0.0, 60.0, 300.0])).joints()
    pose = tmp_path / "near.json"
    pose.write_text(json.dumps({"joints": too_near.tolist(), "camera": ICVL_MSRA.to_dict()}))
    r = run_main("render", "--pose", str(pose), "--sensor", "tof", "--out", str(tmp_path / "o"))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and str(pose) in lines[0]
    assert "no hand pixels" in lines[0] and "500-4500 mm" in lines[0] and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("sensor", ["kinect_v1", "tof", "realsense"])
def test_the_readme_preset_renders_silently_with_every_sensor(tmp_path, sensor):
    r = run_main("render", "--preset", "fist", "--sensor", sensor, "--out", str(tmp_path))
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_render_thickness_draws_a_thicker_hand_and_the_pose_file_keeps_it(tmp_path):
    areas = {}
    for t in ("0.9", "1.1"):
        assert main(["render", "--preset", "open_palm", "--thickness", t, "--out", str(tmp_path / t)]) == 0
        depth = cv2.imread(str(tmp_path / t / "sample_depth.png"), cv2.IMREAD_UNCHANGED)
        areas[t] = int((depth > 0).sum())
        assert load_pose(tmp_path / t / "sample_pose.json").hand.shape.thickness == pytest.approx(float(t))
    assert areas["1.1"] > 1.05 * areas["0.9"]  # radii scale by 1.1/0.9; the joints stay put


@pytest.mark.parametrize("value", ["1.5", "nan"])
def test_render_thickness_out_of_range_is_one_line_and_writes_nothing(tmp_path, value):
    r = run_main("render", "--preset", "fist", "--thickness", value, "--out", str(tmp_path / "o"))
    assert r.returncode != 0 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "--thickness" in lines[0] and "0.9-1.1" in lines[0]
    assert not (tmp_path / "o").exists()


def test_render_thickness_of_a_joints_only_pose_is_refused(tmp_path):
    pose = tmp_path / "ext.json"
    pose.write_text(json.dumps({"joints": HandPose().joints().tolist(), "camera": ICVL_MSRA.to_dict()}))
    r = run_main("render", "--pose", str(pose), "--thickness", "1.05", "--out", str(tmp_path / "o"))
    lines = r.stderr.strip().splitlines()
    assert r.returncode != 0 and len(lines) == 1 and str(pose) in lines[0] and "joints only" in lines[0]
    assert not (tmp_path / "o").exists()
