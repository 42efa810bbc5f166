"""Pair export: metric uint16 depth + pose file, atomic, never overwriting."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.camera import KINECT_V1
from engine.export import ExportError, export_pair, next_free_stem
from engine.hand.pose_io import PoseRecord, load_pose
from engine.hand.presets import load_preset
from engine.sim.render import render_hand


@pytest.fixture(scope="module")
def scene():
    record = load_preset("fist")
    record = PoseRecord.from_hand(record.hand, KINECT_V1, name="fist")
    result = render_hand(record.joints, KINECT_V1)
    return record, result


def test_export_writes_metric_depth_pose_labels_and_preview(tmp_path, scene):
    record, result = scene
    depth = result.depth.copy()
    depth[depth > 0] += 0.4  # sub-millimetre values are rounded, not truncated
    paths = export_pair(tmp_path, depth, record, labels=result.labels,
                        provenance={"sensor": "tof", "seed": 5})
    assert set(paths) == {"depth", "pose", "labels", "preview"}
    assert paths["depth"].name == "pair_0001_depth.png"
    png = cv2.imread(str(paths["depth"]), cv2.IMREAD_UNCHANGED)
    assert png.dtype == np.uint16 and png.shape == (480, 640)
    np.testing.assert_array_equal(png, np.rint(depth).astype(np.uint16))
    labels = cv2.imread(str(paths["labels"]), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(labels, result.labels)
    pose = load_pose(paths["pose"])
    np.testing.assert_allclose(pose.joints, record.joints, atol=1e-3)
    assert pose.extra["sensor"] == "tof" and pose.extra["seed"] == 5 and pose.hand is not None
    assert len(pose.extra["joints_2d"]) == 21
    assert not list(tmp_path.glob(".*"))  # no temporary files left


def test_export_never_overwrites(tmp_path, scene):
    record, result = scene
    first = export_pair(tmp_path, result.depth, record)
    second = export_pair(tmp_path, result.depth, record)
    assert first["depth"] != second["depth"]
    assert next_free_stem(tmp_path) == "pair_0003"
    before = first["pose"].read_bytes()
    with pytest.raises(ExportError, match="not overwriting"):
        export_pair(tmp_path, result.depth, record, stem="pair_0001")
    assert first["pose"].read_bytes() == before
    named = export_pair(tmp_path, result.depth, record, stem="mine", preview=False)
    assert set(named) == {"depth", "pose"}


def test_export_checks_sizes_and_names(tmp_path, scene):
    record, result = scene
    with pytest.raises(ExportError, match="640x480"):
        export_pair(tmp_path, result.depth[:100], record)
    with pytest.raises(ExportError, match="invalid pair name"):
        export_pair(tmp_path, result.depth, record, stem="../evil")
    assert not list(tmp_path.iterdir())
