"""Scene files, autosave and the pose history (Qt-free parts of the app)."""
from __future__ import annotations

import ast
import json
import os
import re
import stat
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from app import scene as scene_io
from app.history import EditHistory
from app.scene import SceneFileError, StyleChoice, ViewState
from engine.camera import ICVL_MSRA
from engine.hand.controls import set_finger_curl

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv(scene_io.HOME_ENV, str(tmp_path / "home"))
    return tmp_path / "home"


def a_scene():
    base = scene_io.default_scene()
    return replace(base, hand=set_finger_curl(base.hand, "index", 0.7), camera=ICVL_MSRA,
                   camera_preset="icvl_msra", style=StyleChoice("tof", 0.4), seed=17,
                   view=ViewState(colormap="turbo", levels=(300.0, 700.0), crop=False,
                                  source="simulator",
                                  orbit={"azimuth": 30.0, "center": [0.0, 1.0, 2.0]}))


def test_scene_round_trips_through_json(tmp_path):
    scene = a_scene()
    scene_io.save_scene(tmp_path / "s.json", scene)
    back = scene_io.load_scene(tmp_path / "s.json")
    assert scene_io.same_pose(back.hand, scene.hand) or np.allclose(back.hand.angles, scene.hand.angles, atol=1e-6)
    assert back.camera == ICVL_MSRA and back.camera_preset == "icvl_msra"
    assert back.style == scene.style and back.seed == 17
    assert back.view.colormap == "turbo" and back.view.levels == (300.0, 700.0) and not back.view.crop
    assert back.view.orbit["azimuth"] == 30.0 and back.view.source == "simulator"
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["format"] == "handdepth.scene" and data["pose"]["format"] == "handdepth.pose"


def test_an_image_style_round_trips_with_its_scale(tmp_path):
    scene = replace(a_scene(), style=StyleChoice(str(tmp_path / "cam.png"), 0.5, 0.125))
    scene_io.save_scene(tmp_path / "s.json", scene)
    assert scene_io.load_scene(tmp_path / "s.json").style == scene.style
    stored = json.loads((tmp_path / "s.json").read_text())
    assert stored["version"] == 2
    assert stored["style"] == {"name": str(tmp_path / "cam.png"), "scale_mm": 0.125, "strength": 0.5}


@pytest.mark.parametrize("old, style", [
    ({"sensor": "kinect_v1", "strength": 0.3, "image": None}, StyleChoice("kinect_v1", 0.3)),
    ({"sensor": "realsense", "strength": 1.0, "image": "/data/sr305.png"},
     StyleChoice("/data/sr305.png", 1.0)),
    ({}, StyleChoice("none", 1.0)),
])
def test_a_version_1_scene_still_loads_its_style(tmp_path, old, style):
    d = scene_io.scene_to_dict(a_scene())
    d.update(version=1, style=old)
    path = tmp_path / "old.json"
    path.write_text(json.dumps(d))
    assert scene_io.load_scene(path).style == style


def test_joints_only_pose_is_fitted():
    scene = a_scene()
    d = scene_io.scene_to_dict(scene)
    d["pose"] = {"joints": d["pose"]["joints"], "camera": d["pose"]["camera"]}
    back = scene_io.scene_from_dict(d)
    np.testing.assert_allclose(back.hand.joints(), scene.hand.joints(), atol=3.0)


def _nan_joint(d):
    d["pose"]["joints"][3][1] = float("nan")


# Edits of a valid scene's JSON that make it invalid, and the words the one-line error must hold.
BAD_SCENES = [
    (lambda d: d.update(format="other"), "not a scene file"),
    (lambda d: d.update(version=0), "unsupported scene version 0"),
    (lambda d: d.update(version=True), "'version' must be an integer"),
    (lambda d: d.update(version="1"), "'version' must be an integer"),
    (lambda d: d.pop("pose"), "missing key 'pose'"),
    (lambda d: d.update(pose=[1, 2]), "'pose' must be an object"),
    (lambda d: d["pose"].update(joints=[[0, 0]]), "pose: 'joints'"),
    (lambda d: d["pose"].update(joints="many"), "pose: 'joints'"),
    (_nan_joint, "pose: 'joints' contains NaN"),
    (lambda d: d["pose"]["camera"].update(fx=float("inf")), "pose: 'camera'"),
    (lambda d: d["camera"].update(fx=1.0), "disagrees with the pose's camera"),
    (lambda d: d.update(camera=[]), "'camera' must be an object"),
    (lambda d: d["camera"].update(preset={}), "unknown camera preset"),
    (lambda d: d["style"].update(name=3), "'style.name'"),
    (lambda d: d["style"].update(name=" "), "'style.name'"),
    (lambda d: d["style"].update(scale_mm=0), "'style.scale_mm' must be a positive"),
    (lambda d: d["style"].update(scale_mm="1/8"), "'style.scale_mm' must be a finite"),
    (lambda d: d["style"].update(strength=2), "between 0 and 1"),
    (lambda d: d["style"].update(strength=float("nan")), "'style.strength' must be a finite"),
    (lambda d: d.update(version=1, style={"sensor": "lidar"}), "unknown sensor"),
    (lambda d: d.update(version=1, style={"sensor": "tof", "image": 3}), "'style.image'"),
    (lambda d: d.update(seed=-1), "'seed'"),
    (lambda d: d.update(seed=float("nan")), "'seed'"),
    (lambda d: d.update(seed="7"), "'seed'"),
    (lambda d: d["view"].update(levels=[1]), "'view.levels'"),
    (lambda d: d["view"].update(levels=[700.0, 300.0]), "near < far"),
    (lambda d: d["view"].update(levels=[float("nan"), 300.0]), "'view.levels' must be a finite"),
    (lambda d: d["view"].update(crop="yes"), "'view.crop'"),
    (lambda d: d["view"].update(colormap=3), "'view.colormap'"),
    (lambda d: d["view"].update(source="gan"), "'view.source'"),
    (lambda d: d["view"].update(orbit=[1]), "'view.orbit' must be an object"),
    (lambda d: d["view"].update(orbit={"center": [0.0, float("nan"), 1.0]}), "'view.orbit.center' must be finite"),
]


def bad_scene_json(edit) -> str:
    d = scene_io.scene_to_dict(a_scene())
    edit(d)
    return json.dumps(d)  # NaN/Infinity as Python writes them: valid to json.loads


@pytest.mark.parametrize("edit, message", BAD_SCENES)
def test_bad_scene_files_give_one_line_naming_the_file(tmp_path, edit, message):
    path = tmp_path / "bad.json"
    path.write_text(bad_scene_json(edit))
    with pytest.raises(SceneFileError, match=re.escape(message)) as err:
        scene_io.load_scene(path)
    assert "\n" not in str(err.value) and str(err.value).startswith(f"{path}: ")


VALID = json.dumps(scene_io.scene_to_dict(scene_io.default_scene()))
# Files that are not a scene at all, and the words of the one-line error.
CORRUPT_FILES = [
    (b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary", "not a JSON text file"),
    (b"", "empty file"),
    (b"  \n", "empty file"),
    (VALID[:len(VALID) // 2].encode(), "not valid JSON"),
    (VALID[:-1].encode(), "not valid JSON"),
    (b"[1, 2, 3]", "the top level must be a JSON object"),
    (b'"a scene"', "the top level must be a JSON object"),
    (b'{"format": "handdepth.scene", "version": 1}', "missing key 'pose'"),
]


@pytest.mark.parametrize("data, message", CORRUPT_FILES)
def test_corrupt_files_give_one_line_naming_the_file(tmp_path, data, message):
    path = tmp_path / "corrupt.json"
    path.write_bytes(data)
    with pytest.raises(SceneFileError, match=re.escape(message)) as err:
        scene_io.load_scene(path)
    assert "\n" not in str(err.value) and str(err.value).startswith(f"{path}: ")


def test_a_scene_from_a_newer_build_is_refused_whole(tmp_path):
    d = scene_io.scene_to_dict(a_scene())
    d["version"] = scene_io.VERSION + 1
    d["lights"] = [{"kind": "a feature this build does not know"}]
    path = tmp_path / "future.json"
    path.write_text(json.dumps(d))
    with pytest.raises(SceneFileError, match="newer HandDepth Studio .*not opened") as err:
        scene_io.load_scene(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_scenes_are_written_durably(tmp_path, monkeypatch):
    synced = []  # (inode, is a folder) of each fsync
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(
        (os.fstat(fd).st_ino, stat.S_ISDIR(os.fstat(fd).st_mode))), real_fsync(fd))[1])
    scene_io.save_scene(tmp_path / "s.json", a_scene())
    assert (os.stat(tmp_path / "s.json").st_ino, False) in synced  # the file, before its rename
    assert synced[-1] == (os.stat(tmp_path).st_ino, True)  # the folder, after it


def test_a_scene_from_before_the_source_choice_shows_the_generator():
    d = scene_io.scene_to_dict(a_scene())
    del d["view"]["source"]
    assert scene_io.scene_from_dict(d).view.source == scene_io.DEFAULT_SOURCE == "generator"


def test_unreadable_files(tmp_path):
    with pytest.raises(SceneFileError, match="no such file"):
        scene_io.load_scene(tmp_path / "nope.json")
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(SceneFileError, match="not valid JSON"):
        scene_io.load_scene(tmp_path / "x.json")


def test_autosave_lives_in_the_home_folder_and_restores(home):
    assert scene_io.load_autosave() == (None, None)
    path = scene_io.write_autosave(a_scene())
    assert path == home / "autosave.json"
    scene, message = scene_io.load_autosave()
    assert message is None and scene.seed == 17


FUTURE = json.dumps({**json.loads(VALID), "version": scene_io.VERSION + 1}).encode()


@pytest.mark.parametrize("data, message", [
    *((d, m) for d, m in CORRUPT_FILES if d.strip()),
    (bad_scene_json(_nan_joint).encode(), "contains NaN"),
    (bad_scene_json(lambda d: d.update(seed="7")).encode(), "'seed'"),
    (FUTURE, "newer HandDepth Studio"),
])
def test_a_bad_autosave_is_set_aside_not_raised(home, data, message):
    home.mkdir(parents=True)
    (home / "autosave.json").write_bytes(data)
    scene, status = scene_io.load_autosave()
    assert scene is None and status.startswith("Autosave ignored") and message in status
    assert "\n" not in status and "moved to autosave.json.unreadable" in status
    assert not (home / "autosave.json").exists()
    assert (home / "autosave.json.unreadable").read_bytes() == data


def test_set_aside_autosaves_never_replace_each_other(home):
    home.mkdir(parents=True)
    for n, data in enumerate((b"garbage", FUTURE, b"[]"), start=1):
        (home / "autosave.json").write_bytes(data)
        scene, status = scene_io.load_autosave()
        aside = "autosave.json.unreadable" + (f".{n}" if n > 1 else "")
        assert scene is None and status.endswith(f"moved to {aside}")
        assert (home / aside).read_bytes() == data


def test_history_undo_redo_and_merging():
    base = scene_io.default_scene().hand
    poses = [set_finger_curl(base, "ring", c) for c in (0.1, 0.2, 0.3, 0.9)]
    h = EditHistory(scene_io.same_pose)
    assert h.undo() is None and not h.can_undo
    h.record(base, poses[0], "Curl ring", merge_key=("curl", "ring"), now=0.0)
    h.record(poses[0], poses[1], "Curl ring", merge_key=("curl", "ring"), now=0.3)  # same slider: merged
    h.record(poses[1], poses[2], "Curl ring", merge_key=("curl", "ring"), now=5.0)  # later: new step
    h.record(poses[2], poses[2], "nothing")  # no change, no step
    assert h.undo() is poses[1]
    assert h.undo() is base
    assert h.undo() is None
    assert h.redo() is poses[1] and h.redo() is poses[2] and h.redo() is None
    h.undo()
    h.record(poses[1], poses[3], "Drag")  # a new edit drops the redo branch
    assert not h.can_redo and h.undo_label == "Drag"


def test_scene_and_thumbnail_modules_stay_qt_free():
    for name in ("app/scene.py", "app/thumbnails.py"):
        tree = ast.parse((ROOT / name).read_text())
        roots = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        roots |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not roots & {"PySide6", "vispy", "pyqtgraph", "widgets"}, name
