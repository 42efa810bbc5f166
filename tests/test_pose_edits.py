"""Pose gestures as document edits, without Qt: slider moves merge into one undo step, a
drag is one step, a preset keeps the hand where it is."""
import ast
from pathlib import Path

import numpy as np

from app import scene as scene_io
from app.document import SceneDocument
from app.pose_edits import CENTRE_JOINT, PoseEdits
from engine.hand.model import forward_kinematics


def make_edits():
    document = SceneDocument(scene_io.default_scene())
    return document, PoseEdits(document, np.random.default_rng(0))


def test_curl_moves_of_one_finger_are_one_undo_step():
    document, edits = make_edits()
    start = document.hand
    for curl in (0.2, 0.5, 0.9):
        edits.set_curl("index", curl)
    assert document.history.undo_label == "Curl index"
    document.undo()
    assert np.allclose(forward_kinematics(document.hand), forward_kinematics(start))
    assert not document.history.can_undo


def test_a_joint_drag_begins_a_drag_and_ends_as_one_step():
    document, edits = make_edits()
    tip = forward_kinematics(document.hand)[8]
    for dx in (5.0, 10.0, 15.0):
        edits.drag_joint(8, tip + np.array([dx, 0.0, 0.0]))
    assert document.dragging
    document.end_drag("Drag index tip")
    assert not document.dragging
    assert document.history.undo_label == "Drag index tip"
    document.undo()
    assert not document.history.can_undo


def test_a_preset_and_a_random_pose_keep_the_hand_centre():
    document, edits = make_edits()
    edits.set_distance(650.0)
    centre = forward_kinematics(document.hand)[CENTRE_JOINT]
    edits.apply_preset("victory")
    assert np.allclose(forward_kinematics(document.hand)[CENTRE_JOINT], centre, atol=1e-3)
    edits.random_pose()
    assert np.allclose(forward_kinematics(document.hand)[CENTRE_JOINT], centre, atol=1e-3)


def test_pose_edits_stay_qt_free():
    path = Path(__file__).resolve().parents[1] / "app/pose_edits.py"
    tree = ast.parse(path.read_text())
    roots = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    roots |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not roots & {"PySide6", "vispy", "pyqtgraph", "widgets"}
