"""The surround render (engine.sim.surround): a generator frame renders only what the paste reads,
and the shown frame is the one the full render gives, byte for byte."""
import numpy as np
import pytest

from engine.camera import KINECT_V1
from engine.data.crop import crop_depth, make_transform
from engine.data.paste import back_face_mm, front_face_mm, nearer_than_cube, paste_crop, unread_region
from engine.hand.model import HandPose
from engine.hand.sampler import PoseRanges, sample_pose_and_joints
from engine.runtime import FrameRequest, compute_frame
from engine.sim import surround
from engine.sim.render import render_hand
from engine.sim.surround import render_surround
from engine.style.base import Style
from engine.style.sensor import SensorStyle

POSES = 160


def _poses(seed: int, count: int):
    """Random poses, every other one turned any way (a forearm behind the hand, at the camera,
    off the frame)."""
    rng = np.random.default_rng(seed)
    for i in range(count):
        ranges = PoseRanges(max_rotation_deg=180.0) if i % 2 else PoseRanges()
        hand, joints = sample_pose_and_joints(rng, ranges, camera=KINECT_V1)
        yield joints, hand.shape.thickness


def _read_by_paste(full: np.ndarray, part: np.ndarray, transform) -> np.ndarray:
    """Pixels whose surround the paste reads: outside the unread region, and outside the cube's
    depth (behind its back face, in front of its front face)."""
    read = np.ones(full.shape, bool)
    region = unread_region(transform)
    if region is not None:
        read[region[1]:region[3] + 1, region[0]:region[2] + 1] = False
    back = np.float32(back_face_mm(transform))
    return (read | (full > back) | (part > back) | nearer_than_cube(full, transform)
            | nearer_than_cube(part, transform))


def test_the_surround_is_the_full_render_wherever_the_paste_reads_it_and_pastes_the_same_bytes():
    """... and its labels are the full render's outside the unread region (a generator sample
    keeps them outside G's window, which holds that region)."""
    rng = np.random.default_rng(5)
    skipped = far = near = 0
    for joints, thickness in _poses(11, POSES):
        t = make_transform(joints, KINECT_V1)
        render = render_hand(joints, KINECT_V1, thickness)
        full = render.depth
        part, part_labels = render_surround(joints, KINECT_V1, thickness, unread_region(t), front_face_mm(t),
                                            back_face_mm(t))
        read = _read_by_paste(full, part, t)
        np.testing.assert_array_equal(part[read], full[read])
        outside = _read_by_paste(np.zeros_like(full), np.zeros_like(part), t)  # outside the unread region
        np.testing.assert_array_equal(part_labels[outside], render.labels[outside])
        skipped += not np.array_equal(part, full)
        u_lo, v_lo, u_hi, v_hi = unread_region(t)
        inner = full[v_lo:v_hi + 1, u_lo:u_hi + 1]
        far += bool((inner > back_face_mm(t)).any())
        near += bool(nearer_than_cube(inner, t).any())
        own = crop_depth(full, t)  # G's crops stand-ins: the simulator's own, noisy, shifted
        noisy = np.clip(own + rng.normal(0, 0.05, own.shape), -1, 1).astype(np.float32)
        for crop in (own, noisy, np.roll(own, 9, axis=1), np.roll(own, -6, axis=0)):
            np.testing.assert_array_equal(paste_crop(crop, t, surround=part), paste_crop(crop, t, surround=full))
    assert skipped > POSES // 2  # the saving happened (the hand inside the window was not drawn)
    assert far > 0  # and some had a surface behind the back face inside the region, to keep
    assert near > 0  # and some one in front of the front face (a forearm at the camera)


def test_a_render_whose_notch_closing_reaches_the_margin_is_drawn_whole(monkeypatch):
    monkeypatch.setattr(surround, "MARGIN_PX", 0)  # every pass reaches past the margin
    for joints, thickness in _poses(3, 20):
        t = make_transform(joints, KINECT_V1)
        full = render_hand(joints, KINECT_V1, thickness).depth
        part = render_surround(joints, KINECT_V1, thickness, unread_region(t), front_face_mm(t), back_face_mm(t))[0]
        read = _read_by_paste(full, part, t)
        np.testing.assert_array_equal(part[read], full[read])


def test_nowhere_unread_is_the_full_render():
    joints = HandPose().joints()
    depth, labels = render_surround(joints, KINECT_V1, 1.0, None, -1e9, 1e9)
    full = render_hand(joints, KINECT_V1)
    np.testing.assert_array_equal(depth, full.depth)
    np.testing.assert_array_equal(labels, full.labels)


JOINTS = HandPose().joints()


def crop_of(y, transform, cut=True, thickness=1.0):
    """A stand-in G: the simulator's own crop of JOINTS."""
    return crop_depth(render_hand(JOINTS, KINECT_V1).depth, transform)


@pytest.mark.parametrize("with_simulator", [False, True])
def test_a_generator_frame_shows_the_full_renders_paste_and_renders_clean_on_demand(with_simulator):
    r = compute_frame(FrameRequest(JOINTS, KINECT_V1, use_generator=True, with_simulator=with_simulator),
                      crop_of)
    full = render_hand(JOINTS, KINECT_V1)
    assert r.rendered.made == with_simulator  # the whole render only when asked for
    np.testing.assert_array_equal(r.generated, paste_crop(crop_of(None, r.transform), r.transform,
                                                          surround=full.depth))
    np.testing.assert_array_equal(r.clean, full.depth)
    np.testing.assert_array_equal(r.labels, full.labels)
    np.testing.assert_array_equal(r.simulator, full.depth)


class OffsetStyle(Style):
    """A style without a working range (Style's own range_warning): 1 mm further everywhere."""

    def __init__(self) -> None:
        super().__init__("offset", "Offset", "a test style")

    def _prepare(self) -> None:
        pass

    def _apply(self, depth, camera, seed, strength):
        return np.where(depth > 0, depth + 1.0, 0.0).astype(np.float32)


def test_only_a_style_with_a_working_range_makes_a_generator_frame_render_the_whole_hand():
    near = JOINTS - (0.0, 0.0, JOINTS[:, 2].mean() - 300.0)  # partly nearer than a Kinect v1 sees
    offset = compute_frame(FrameRequest(JOINTS, KINECT_V1, style=OffsetStyle(), use_generator=True), crop_of)
    assert not offset.rendered.made and offset.range_warning is None
    sensor = compute_frame(FrameRequest(near, KINECT_V1, style=SensorStyle("kinect_v1"), use_generator=True),
                           crop_of)
    assert sensor.rendered.made  # the warning reads the whole clean render
    assert sensor.range_warning is not None
    assert sensor.range_warning == SensorStyle("kinect_v1").range_warning(render_hand(near, KINECT_V1).depth)
