"""Scene files, autosave and the pose history (Qt-free parts of the app)."""
from __future__ import annotations

import ast
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from app import scene as scene_io
from app.scene import PoseHistory, SceneFileError, StyleChoice, ViewState
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
                   camera_preset="icvl_msra", style=StyleChoice("tof", 0.4, None), seed=17,
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


def test_joints_only_pose_is_fitted():
    scene = a_scene()
    d = scene_io.scene_to_dict(scene)
    d["pose"] = {"joints": d["pose"]["joints"], "camera": d["pose"]["camera"]}
    back = scene_io.scene_from_dict(d)
    np.testing.assert_allclose(back.hand.joints(), scene.hand.joints(), atol=3.0)


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(format="other"), "not a scene file"),
    (lambda d: d.update(version=9), "unsupported scene version"),
    (lambda d: d.pop("pose"), "missing key 'pose'"),
    (lambda d: d["pose"].update(joints=[[0, 0]]), "pose: 'joints'"),
    (lambda d: d["camera"].update(fx=1.0), "disagrees with the pose's camera"),
    (lambda d: d["style"].update(sensor="lidar"), "unknown sensor"),
    (lambda d: d["style"].update(strength=2), "between 0 and 1"),
    (lambda d: d.update(seed=-1), "'seed'"),
    (lambda d: d["view"].update(levels=[1]), "'view.levels'"),
    (lambda d: d["view"].update(crop="yes"), "'view.crop'"),
    (lambda d: d["view"].update(source="gan"), "'view.source'"),
])
def test_bad_scene_files_give_one_line_naming_the_file(tmp_path, edit, message):
    d = scene_io.scene_to_dict(a_scene())
    edit(d)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(d))
    with pytest.raises(SceneFileError, match=message) as err:
        scene_io.load_scene(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


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


def test_corrupt_autosave_is_set_aside_not_raised(home):
    home.mkdir(parents=True)
    (home / "autosave.json").write_text('{"format": "handdepth.scene", "version": 1}')
    scene, message = scene_io.load_autosave()
    assert scene is None and "Autosave ignored" in message and "\n" not in message
    assert not (home / "autosave.json").exists()
    assert (home / "autosave.json.unreadable").exists()


def test_history_undo_redo_and_merging():
    base = scene_io.default_scene().hand
    poses = [set_finger_curl(base, "ring", c) for c in (0.1, 0.2, 0.3, 0.9)]
    h = PoseHistory()
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
