"""The one sample layout: written by engine.export, read back by engine.data.readers.own."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from engine.camera import KINECT_V1
from engine.controlnet import ControlNetOptions, conditioning_images
from engine.data.crop import crop_depth, make_transform
from engine.data.readers import open_dataset
from engine.data.readers.own import read_sample
from engine.export import ExportError, SampleOptions, make_sample, next_free_stem, write_sample
from engine.hand.pose_io import PoseRecord
from engine.hand.presets import load_preset
from engine.hand.skeleton import JOINT_NAMES, PART_LABELS
from engine.sample_frames import render_sample
from engine.sample_labels import joint_visibility
from engine.sim.render import render_hand
from engine.style.registry import resolve_style


@pytest.fixture(scope="module")
def record() -> PoseRecord:
    preset = load_preset("victory")
    return PoseRecord.from_hand(preset.hand, KINECT_V1, name="victory", extra={"old": "stale"})


def shifted_generator(y: np.ndarray, transform, silhouette_cut: bool = True, thickness: float = 1.0) -> np.ndarray:
    """A stand-in for G with a silhouette of its own: the simulator's crop, 3 px lower and
    thickened, so labels copied from the simulator would disagree with its pixels."""
    from engine.sim.render import render_hand
    from engine.data.crop import denormalise_joints

    crop = crop_depth(render_hand(denormalise_joints(y, transform), transform.camera).depth, transform)
    crop = np.roll(crop, 3, axis=0)
    return cv2.erode(crop, np.ones((5, 5), np.uint8))  # min filter: the hand (< 1) grows


SOURCES = [("none", None), ("kinect_v1", None), ("tof", None), ("realsense", None),
           ("sr305_palm_a", None), ("none", shifted_generator), ("kinect_v1", shifted_generator)]


@pytest.mark.parametrize("style_name,generator", SOURCES,
                         ids=[f"{s}-{'G' if g else 'sim'}" for s, g in SOURCES])
def test_labels_cover_exactly_the_written_depth_for_every_source(record, style_name, generator):
    style = resolve_style(style_name).prepare()
    content, _ = render_sample(record, style, 7, {"style": style_name}, generator)
    t = make_transform(record.joints, record.camera)  # the crop's window in the frame
    window = (slice(max(t.v0, 0), t.v0 + t.size_px), slice(max(t.u0, 0), t.u0 + t.size_px))
    depth, labels = content.depth[window] > 0, content.labels[window] > 0
    assert depth.sum() > 500
    np.testing.assert_array_equal(labels, depth)
    np.testing.assert_array_equal(content.labels > 0, content.depth > 0)  # the whole frame too
    assert set(np.unique(content.labels)) <= set(range(len(PART_LABELS)))


def test_generator_labels_come_from_its_own_pixels_not_the_simulators(record):
    content, _ = render_sample(record, None, 0, {}, shifted_generator)
    sim, _ = render_sample(record, None, 0, {})
    only_g = (content.depth > 0) & (sim.depth == 0)
    assert only_g.sum() > 100 and (content.labels[only_g] > 0).all()
    assert content.provenance["source"] == "generator"


def test_round_trip_write_read_compare(tmp_path, record):
    style = resolve_style("kinect_v1").prepare()
    content, _ = render_sample(record, style, 3, {"style": "kinect_v1", "sensor": "kinect_v1"})
    paths = write_sample(tmp_path, content, stem="s1", options=SampleOptions(npy=True))
    assert set(paths) == {"depth", "depth_npy", "unstyled", "labels", "mask", "controlnet",
                          "skeleton", "preview", "pose"}
    back = read_sample(paths["pose"])
    np.testing.assert_array_equal(back.depth, np.rint(content.depth))
    np.testing.assert_array_equal(back.unstyled, np.rint(content.unstyled))
    np.testing.assert_array_equal(np.load(paths["depth_npy"]), content.depth)
    np.testing.assert_array_equal(back.labels, content.labels)
    np.testing.assert_array_equal(back.mask, content.depth > 0)
    np.testing.assert_array_equal(back.visibility, content.visibility)
    np.testing.assert_allclose(back.record.joints, record.joints, atol=1e-3)
    assert back.record.hand is not None and back.record.name == "victory"
    doc = json.loads(paths["pose"].read_text())
    assert doc["legend"]["labels"] == {str(i): n for i, n in enumerate(PART_LABELS)}
    assert doc["legend"]["joints"] == list(JOINT_NAMES)
    assert doc["provenance"]["seed"] == 3 and doc["provenance"]["sensor"] == "kinect_v1"
    assert doc["provenance"]["source"] == "simulator" and doc["provenance"]["project_version"]
    assert "old" not in doc  # the input's own metadata is not this sample's
    np.testing.assert_allclose(doc["joints_2d"], KINECT_V1.project(record.joints), atol=1e-3)
    assert doc["files"]["depth"] == "s1_depth.png"
    assert len(open_dataset(f"own:{tmp_path}")) == 1  # the reader every command uses
    assert not list(tmp_path.glob(".*"))  # no temporary files left


def test_unstyled_depth_is_only_written_when_the_style_changed_it(tmp_path, record):
    content, _ = render_sample(record, resolve_style("none").prepare(), 0, {})
    paths = write_sample(tmp_path, content, stem="plain", options=SampleOptions(preview=False))
    assert "unstyled" not in paths and "preview" not in paths
    back = read_sample(paths["pose"])
    np.testing.assert_array_equal(back.unstyled, back.depth)


def test_an_existing_sample_is_replaced_only_with_force(tmp_path, record):
    styled, _ = render_sample(record, resolve_style("tof").prepare(), 1, {"seed": 1})
    plain, _ = render_sample(record, None, 2, {"seed": 2})
    first = write_sample(tmp_path, styled, stem="s")
    before = first["pose"].read_bytes()
    with pytest.raises(ExportError, match="not overwriting"):
        write_sample(tmp_path, plain, stem="s")
    assert first["pose"].read_bytes() == before
    second = write_sample(tmp_path, plain, stem="s", force=True)
    assert json.loads(second["pose"].read_text())["provenance"]["seed"] == 2
    assert not first["unstyled"].exists()  # the old sample's extra file went with it
    auto = [write_sample(tmp_path, plain) for _ in range(2)]
    assert [p["pose"].name for p in auto] == ["pair_0001_pose.json", "pair_0002_pose.json"]
    assert next_free_stem(tmp_path) == "pair_0003"


def test_bad_frames_and_names_are_one_line_errors(tmp_path, record):
    with pytest.raises(ExportError, match="640x480"):
        make_sample(record, np.zeros((100, 640), np.float32))
    with pytest.raises(ExportError, match="non-finite"):
        make_sample(record, np.full((480, 640), np.nan, np.float32))
    content = make_sample(record, np.zeros((480, 640), np.float32))
    with pytest.raises(ExportError, match="invalid sample name"):
        write_sample(tmp_path, content, stem="../x")


def test_controlnet_map_is_near_white_square_hand_centred_and_stable(record):
    content, _ = render_sample(record, None, 0, {})
    cond = conditioning_images(content.depth, record.joints, KINECT_V1)
    assert cond.depth.shape == (512, 512) and cond.depth.dtype == np.uint8
    assert cond.skeleton.shape == (512, 512, 3)
    hand = cond.depth > 0
    ys, xs = np.nonzero(hand)
    assert abs(xs.mean() - 256) < 90 and abs(ys.mean() - 256) < 90  # hand-centred
    # near = white: the nearest hand pixel is the brightest
    window = cond.window_px
    z = content.depth[window[1]:window[1] + window[2], window[0]:window[0] + window[2]]
    assert cond.depth.max() == np.rint(np.clip((cond.far_mm - z[z > 0].min()) /
                                               (cond.far_mm - cond.near_mm), 0, 1) * 255)
    # A 1 mm step of the hand moves the grey by about 1 level, never a re-stretch.
    moved = PoseRecord(joints=record.joints + [0, 0, 1.0], camera=KINECT_V1)
    moved_content, _ = render_sample(moved, None, 0, {})
    moved_cond = conditioning_images(moved_content.depth, moved.joints, KINECT_V1)
    both = hand & (moved_cond.depth > 0)
    assert np.abs(cond.depth[both].astype(int) - moved_cond.depth[both]).mean() < 2.0
    inverted = conditioning_images(content.depth, record.joints, KINECT_V1,
                                   ControlNetOptions(size=1024, near_mm=300, far_mm=800, invert=True))
    assert inverted.depth.shape == (1024, 1024) and inverted.depth[0, 0] == 255  # no data: white
    assert (inverted.near_mm, inverted.far_mm) == (300, 800)
    with pytest.raises(ValueError, match="size"):
        ControlNetOptions(size=300)


def test_joint_visibility_is_judged_from_the_depth(record):
    content, _ = render_sample(record, None, 0, {})
    assert content.visibility[[8, 12]].all()  # the victory sign's raised fingertips are seen
    wall = np.full((480, 640), 100.0, np.float32)  # something 100 mm from the camera covers all
    assert not joint_visibility(wall, record.joints, KINECT_V1).any()
    assert not joint_visibility(np.zeros((480, 640), np.float32), record.joints, KINECT_V1).any()


@pytest.mark.parametrize("style_name", ["kinect_v1", "sr305_palm_a"])  # a sensor style, the learned stage
def test_a_generator_frames_simulator_sample_is_the_simulator_frames(record, style_name):
    """The A/B view and Ctrl+E take the simulator's styled depth from a frame computed for G,
    where it is styled only when asked for: the same sample as a frame of the simulator alone."""
    from engine.runtime import FrameRequest, compute_frame
    from engine.sample_frames import sample_of_frame

    style = resolve_style(style_name).prepare()
    request = FrameRequest(joints=np.asarray(record.joints, np.float64), camera=record.camera, style=style, seed=5,
                           thickness=record.hand.shape.thickness,
                           use_generator=True)
    from_g = sample_of_frame(compute_frame(request, shifted_generator), record, "simulator", {})
    alone, _ = render_sample(record, style, 5, {})
    np.testing.assert_array_equal(from_g.depth, alone.depth)
    np.testing.assert_array_equal(from_g.labels, alone.labels)
    np.testing.assert_array_equal(from_g.unstyled, alone.unstyled)


def test_unstyled_depth_is_dropped_exactly_when_it_equals_the_depth(record):
    """The frames are compared on a sample of rows first; a difference on any other row, or
    only in the sign of a zero, must be judged as np.array_equal judges it."""
    depth = render_hand(record.joints, record.camera).depth
    v, u = np.nonzero(depth)
    off_probe = v % 16 != 0
    for change, kept in ((None, False), ("off-probe row", True), ("probe row", True), ("minus zero", False)):
        other = depth.copy()
        if change == "off-probe row":
            other[v[off_probe][0], u[off_probe][0]] += 1.0
        elif change == "probe row":
            other[v[~off_probe][0], u[~off_probe][0]] += 1.0
        elif change == "minus zero":
            other[depth == 0] = -0.0
        assert (make_sample(record, depth, other).unstyled is not None) == kept, change


def test_render_sample_looks_for_the_range_warning_unless_told_not_to(record):
    far = PoseRecord(joints=record.joints + np.array([0.0, 0.0, 3000.0]), camera=record.camera,
                     handedness=record.handedness, hand=None)
    style = resolve_style("realsense").prepare()
    content, warning = render_sample(far, style, 4, {})
    assert warning is not None and "realsense range" in warning
    quiet, none = render_sample(far, style, 4, {}, range_warning=False)
    assert none is None and np.array_equal(quiet.depth, content.depth)


@pytest.mark.parametrize("pixels", [[(0, 0)], [(479, 639)], [(10, 20), (10, 21)], [(5, 7), (9, 7)]])
def test_a_sample_of_one_or_two_pixels_round_trips(tmp_path, record, pixels):
    """The smallest content boxes (1x1, at the corners, one row, one column) encode and read back."""
    depth = np.zeros((record.camera.height, record.camera.width), np.float32)
    for v, u in pixels:
        depth[v, u] = 612.4
    content = make_sample(record, depth, depth + (depth > 0) * 3.0)
    paths = write_sample(tmp_path, content, stem="tiny", options=SampleOptions(preview=False, conditioning=False))
    back = read_sample(paths["pose"])
    np.testing.assert_array_equal(back.depth, np.rint(depth))
    np.testing.assert_array_equal(back.unstyled, np.rint(depth + (depth > 0) * 3.0))
    np.testing.assert_array_equal(back.mask, depth > 0)
    np.testing.assert_array_equal(back.labels > 0, depth > 0)


def test_the_very_frame_as_unstyled_depth_is_dropped_without_a_comparison(record, monkeypatch):
    """No style hands the render itself on as both frames: no full comparison is needed."""
    import engine.export as export

    depth = render_hand(record.joints, record.camera).depth
    calls = []
    monkeypatch.setattr(export, "_same_frame", lambda a, b: calls.append(1) or np.array_equal(a, b))
    assert make_sample(record, depth, depth).unstyled is None and not calls
    assert make_sample(record, depth, depth.copy()).unstyled is None and calls
    with pytest.raises(ExportError, match="non-finite"):
        bad = depth.copy()
        bad[np.nonzero(bad)[0][0], np.nonzero(bad)[1][0]] = np.nan
        make_sample(record, bad, bad)
