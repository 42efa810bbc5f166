"""A generator sample's labels: outside G's window the frame is the simulator's surround render
unchanged (engine.data.paste), so it keeps that render's exact labels there; the skeleton
(engine.sample_labels.nearest_part) labels what lies in the window, G's own pixels. Both writers
of generator samples, the dataset's batch (generated_samples) and one frame (sample_of_frame:
Ctrl+E, `generate`), label that way."""
from __future__ import annotations

import numpy as np
import pytest

from engine import sample_labels
from engine.camera import KINECT_V1
from engine.data.crop import crop_depth, denormalise_joints, make_transform
from engine.data.paste import surround_labels
from engine.dataset_poses import open_pose_source
from engine.hand.skeleton import PART_INDEX
from engine.models.generator import load_generator
from engine.models.inference import InferenceGenerator
from engine.runtime import FrameRequest, compute_frame
from engine.sample_frames import generated_samples, sample_of_frame
from engine.sim.render import render_hand
from engine.style.registry import resolve_style

SKELETON = PART_INDEX["thumb"]  # what the stand-in skeleton says everywhere: not the forearm's


@pytest.fixture
def skeleton_says_thumb(monkeypatch):
    """nearest_part replaced by one label, so a pixel shows which of the two labelled it."""
    monkeypatch.setattr(sample_labels, "nearest_part",
                        lambda points, joints, thickness=1.0: np.full(len(points), SKELETON, np.uint8))


def shifted_generator(y: np.ndarray, transform, silhouette_cut: bool = True, thickness: float = 1.0) -> np.ndarray:
    """A stand-in for G with a silhouette of its own: the simulator's crop, 3 px lower."""
    crop = crop_depth(render_hand(denormalise_joints(y, transform), transform.camera).depth, transform)
    return np.roll(crop, 3, axis=0)


def _records(count: int):
    poses = open_pose_source("random", KINECT_V1, 1)
    return [poses.record(5, i) for i in range(count)]


def _check(sample, record) -> int:
    """Render labels outside the window, the skeleton's inside; the number of outside pixels
    whose render label is not the skeleton's (where the two sources could be told apart)."""
    render = render_hand(record.joints, KINECT_V1, record.hand.shape.thickness)
    kept = surround_labels(render.labels, make_transform(record.joints, KINECT_V1))
    has = sample.depth > 0
    np.testing.assert_array_equal(sample.labels > 0, has)
    from_render = has & (kept > 0)
    np.testing.assert_array_equal(sample.labels[from_render], render.labels[from_render])
    assert (sample.labels[has & (kept == 0)] == SKELETON).all()
    assert (has & (kept == 0)).sum() > 500  # G's hand, in the window
    return int((from_render & (render.labels != SKELETON)).sum())


@pytest.mark.parametrize("style_name", ["none", "kinect_v1"])
def test_dataset_generator_samples_keep_the_surround_labels_outside_gs_window(skeleton_says_thumb, style_name):
    records = _records(4)
    style = None if style_name == "none" else resolve_style(style_name).prepare()
    samples = generated_samples(records, InferenceGenerator(load_generator()[0]), style, [1, 2, 3, 4],
                                [{}] * len(records))
    assert sum(_check(sample, record) for sample, record in zip(samples, records)) > 100


def test_a_generator_frames_sample_keeps_the_surround_labels_outside_gs_window(skeleton_says_thumb):
    outside = 0
    for record in _records(4):
        request = FrameRequest(joints=np.asarray(record.joints, np.float64), camera=KINECT_V1,
                               thickness=record.hand.shape.thickness, use_generator=True)
        frame = compute_frame(request, shifted_generator)
        assert not frame.rendered.made  # the labels came with the surround render, not a whole one
        outside += _check(sample_of_frame(frame, record, "generator", {}), record)
    assert outside > 100
