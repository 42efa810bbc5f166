"""The document without Qt: one writer, one history that covers pose, style, strength, camera
and seed, and change events that say what changed."""
from dataclasses import replace

import numpy as np

from app import document as doc
from app import scene as scene_io
from app.document import SceneDocument
from app.scene import StyleChoice
from engine.camera import CAMERA_PRESETS
from engine.hand.sampler import mirror_pose


def make_document():
    d = SceneDocument(scene_io.default_scene())
    events: list[frozenset[str]] = []
    d.subscribe(events.append)
    return d, events


def test_undo_after_a_style_change_undoes_the_style_not_an_earlier_mirror():
    d, events = make_document()
    start = d.hand
    d.set_pose(mirror_pose(start), "Mirror")
    d.set_style(StyleChoice(name="realsense"), "Style RealSense")
    assert events[-1] == {doc.STYLE, doc.HISTORY}
    assert d.history.undo_label == "Style RealSense"
    d.undo()
    assert d.scene.style.name == scene_io.NO_STYLE
    assert d.hand.handedness != start.handedness  # the mirror is still there
    d.undo()
    assert scene_io.same_pose(d.hand, start)
    d.redo()
    d.redo()
    assert d.scene.style.name == "realsense" and events[-1] == {doc.STYLE, doc.HISTORY}


def test_strength_moves_merge_and_camera_is_undoable():
    d, _ = make_document()
    for strength in (0.9, 0.8, 0.7):
        d.set_style(replace(d.scene.style, strength=strength), "Style strength", merge_key="strength")
    d.undo()
    assert d.scene.style.strength == 1.0 and not d.history.can_undo
    camera = CAMERA_PRESETS["icvl_msra"]
    d.set_camera(camera, "icvl_msra")
    d.set_seed(7)
    d.undo()
    assert d.scene.seed == scene_io.DEFAULT_SEED and d.scene.camera == camera
    d.undo()
    assert d.scene.camera_preset == "kinect_v1"


def test_a_drag_is_one_step_and_the_view_is_not_undone():
    d, events = make_document()
    start = d.hand
    d.begin_drag()
    for dx in (5.0, 10.0, 15.0):
        d.set_pose(replace(d.hand, translation=start.translation + [dx, 0.0, 0.0]), "Drag")
    assert not d.history.can_undo and events[-1] == {doc.POSE}
    d.end_drag("Drag index_tip")
    assert d.history.undo_label == "Drag index_tip"
    assert d.set_view(crop=False) and events[-1] == {doc.VIEW, doc.view_change("crop")}
    assert not d.set_view(crop=False)  # no change, no event
    d.undo()
    np.testing.assert_array_equal(d.hand.translation, start.translation)
    assert d.scene.view.crop is False
    assert d.history.undo_label == ""


def test_replacing_the_scene_clears_the_history_and_tells_everything():
    d, events = make_document()
    d.set_seed(3)
    d.replace_scene(scene_io.default_scene())
    assert not d.history.can_undo and events[-1] == doc.CHANGE_KINDS


def test_document_history_and_export_modules_stay_qt_free():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for name in ("app/document.py", "app/history.py", "app/sample_export.py"):
        tree = ast.parse((root / name).read_text())
        roots = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        roots |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not roots & {"PySide6", "vispy", "pyqtgraph", "widgets"}, name
