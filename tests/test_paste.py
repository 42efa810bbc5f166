"""Pasting a crop into the frame (engine.data.paste): no blocks, no cut edge, depth kept."""
from __future__ import annotations

import numpy as np
import pytest

from engine.camera import KINECT_V1
from engine.data.crop import BACKGROUND, CROP_SIZE, CUBE_MM, crop_depth, make_transform, transform_at
from engine.data.paste import BLEND_BAND_CROP_PX, DEPTH_STEP_MM, front_face_mm, paste_crop
from engine.hand.presets import load_preset
from engine.hand.sampler import PoseRanges, sample_pose_and_joints
from engine.sim.render import render_hand

# Depth at which the cube spans 3 x 128 px on the Kinect v1: each crop pixel is 3x3 frame pixels.
SCALE_3_Z = CUBE_MM * KINECT_V1.fx / (3 * CROP_SIZE)


@pytest.fixture(scope="module")
def scale_3():
    t = transform_at(np.array([0.0, 0.0, SCALE_3_Z]), KINECT_V1)
    assert t.scale == 3.0
    return t


def disc(radius: float, centre: tuple[float, float], inside: np.ndarray | float = 0.0) -> np.ndarray:
    j, i = np.meshgrid(np.arange(CROP_SIZE), np.arange(CROP_SIZE))
    return np.where((j - centre[0]) ** 2 + (i - centre[1]) ** 2 <= radius ** 2, inside, BACKGROUND).astype(np.float32)


def outline_offsets(mask: np.ndarray, centre_px: tuple[float, float], radius_px: float) -> np.ndarray:
    """Distance from the true circle of every outline crossing (midpoint of a hand/background pair)."""
    rows, cols = np.nonzero(mask[:, :-1] != mask[:, 1:])
    points = [np.stack([cols + 0.5, rows], 1)]
    rows, cols = np.nonzero(mask[:-1] != mask[1:])
    points.append(np.stack([cols, rows + 0.5], 1))
    p = np.concatenate(points).astype(np.float64)
    return np.hypot(p[:, 0] - centre_px[0], p[:, 1] - centre_px[1]) - radius_px


@pytest.mark.parametrize("radius, centre", [(12.3, (63.3, 62.8)), (25.6, (60.1, 66.4)), (40.2, (63.3, 62.8))])
def test_a_disc_pasted_at_scale_3_follows_the_circle_not_3px_blocks(scale_3, radius, centre):
    t = scale_3
    hand = paste_crop(disc(radius, centre), t) > 0
    k = t.scale
    centre_px = (t.u0 - 0.5 + (centre[0] + 0.5) * k, t.v0 - 0.5 + (centre[1] + 0.5) * k)
    off = np.abs(outline_offsets(hand, centre_px, radius * k))
    # Within 1 px of the circle for 95 % of the outline; never more than half a crop pixel off,
    # which is all a 128² binary disc says about where its circle runs. Nearest-neighbour blocks
    # were up to 1.7 px off, 0.72 on average.
    assert np.percentile(off, 95) <= 1.25 and off.max() <= 0.5 * k + 1e-6 and off.mean() < 0.55
    # Blocks put every left/right edge on a crop-pixel border (one residue mod 3); a smooth outline
    # crosses rows at every residue.
    rows, cols = np.nonzero(hand[:, :-1] != hand[:, 1:])
    residues = np.bincount((cols - t.u0 + 1) % 3, minlength=3) / len(cols)
    assert residues.min() > 0.2


def test_depth_inside_follows_the_crops_surface_and_adds_no_depth_across_a_step(scale_3):
    t = scale_3
    j, i = np.meshgrid(np.arange(CROP_SIZE), np.arange(CROP_SIZE))
    slope = 0.002  # crop units per crop pixel: 0.25 mm per crop pixel, one tilted surface
    plane = (0.1 + slope * (j - 64)).astype(np.float32)
    frame = paste_crop(disc(40.0, (64.0, 64.0), plane), t)
    v, u = np.nonzero(frame)
    x = (u - t.u0 + 0.5) / t.scale - 0.5  # continuous crop coordinate of each frame pixel
    expected = t.centre[2] + (0.1 + slope * (x - 64)) * t.half_cube
    # The plane itself wherever its crop pixels surround the frame pixel, and never further than
    # one crop pixel's rise from it at the edge.
    assert np.abs(frame[v, u] - expected).max() <= slope * t.half_cube * 1.0 + 1e-3
    assert np.median(np.abs(frame[v, u] - expected)) < 1e-3

    near, far = -0.2, 0.2  # 50 mm apart: a finger in front of the palm
    assert (far - near) * t.half_cube > DEPTH_STEP_MM
    two = np.where(j < 64, near, far).astype(np.float32)
    frame = paste_crop(disc(40.0, (64.0, 64.0), two), t)
    values = frame[frame > 0]
    levels = t.centre[2] + np.array([near, far]) * t.half_cube
    assert np.abs(values[:, None] - levels[None]).min(axis=1).max() < 1e-3  # no flying pixels


@pytest.fixture(scope="module")
def point():
    """The `point` preset, whose forearm leaves its crop window at the bottom."""
    record = load_preset("point")
    joints = np.asarray(record.joints, np.float64)
    t = make_transform(joints, record.camera)
    sim = render_hand(joints, record.camera).depth
    bottom = t.v0 + t.size_px
    assert bottom < record.camera.height and (sim[bottom] > 0).any()
    return t, sim


def test_the_forearm_continues_across_the_crop_border_where_the_simulator_has_hand(point):
    t, sim = point
    frame = paste_crop(crop_depth(sim, t), t, surround=sim)
    bottom = t.v0 + t.size_px
    for row in (bottom - 2, bottom - 1, bottom, bottom + 1):  # no straight cut at the border
        cols = np.nonzero(sim[row] > 0)[0]
        assert len(cols) and (frame[row, cols] > 0).mean() > 0.95
    assert np.array_equal(frame[bottom:] > 0, sim[bottom:] > 0)  # outside the window: the simulator's
    assert (paste_crop(crop_depth(sim, t), t)[bottom:] == 0).all()  # without it, nothing past the cube


def test_g_owns_the_window_and_hands_over_to_the_simulator_across_the_band(point):
    t, sim = point
    crop = crop_depth(sim, t)
    crop[-20:] = BACKGROUND  # a G that drew no forearm in the crop's last 20 rows
    frame = paste_crop(crop, t, surround=sim)
    band = int(np.ceil(BLEND_BAND_CROP_PX * t.scale))
    bottom = t.v0 + t.size_px
    inner = frame[t.v0 + t.size_px - int(20 * t.scale) + 2:bottom - band]
    assert inner.size and (inner == 0).all()  # deep inside the window only G counts
    assert np.array_equal(frame[bottom - 1] > 0, sim[bottom - 1] > 0)  # at the border: the simulator


def test_the_simulator_shows_through_where_it_lies_behind_the_cube(point):
    t, sim = point
    behind = np.zeros_like(sim)
    rows, cols = slice(t.v0 + 100, t.v0 + 110), slice(t.u0 + 10, t.u0 + 20)
    behind[rows, cols] = t.centre[2] + CUBE_MM  # a surface behind the cube's back face
    frame = paste_crop(disc(8.0, (90.0, 30.0)), t, surround=behind)  # G's hand lies elsewhere
    np.testing.assert_array_equal(frame[rows, cols], behind[rows, cols])


def test_the_simulator_shows_through_where_it_lies_in_front_of_the_cube(point):
    t, sim = point
    near = sim.copy()
    rows, cols = slice(t.v0 + 60, t.v0 + 70), slice(t.u0 + 60, t.u0 + 70)  # deep inside the window
    near[rows, cols] = t.centre[2] - CUBE_MM  # 125 mm nearer than the cube's front face
    frame = paste_crop(crop_depth(near, t), t, surround=near)  # the crop holds it at the front face
    np.testing.assert_array_equal(frame[rows, cols], near[rows, cols])


@pytest.fixture(scope="module")
def at_the_camera():
    """A random pose turned so that its forearm points at the camera: inside the window, hundreds
    of its pixels lie more than 10 mm nearer than the cube's front face."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        _, joints = sample_pose_and_joints(rng, PoseRanges(max_rotation_deg=180.0), camera=KINECT_V1)
        t = make_transform(joints, KINECT_V1)
        sim = render_hand(joints, KINECT_V1).depth
        near = (sim > 0) & (sim < front_face_mm(t) - 10.0)
        near[:t.v0] = near[t.v0 + t.size_px:] = False
        near[:, :t.u0] = near[:, t.u0 + t.size_px:] = False
        if near.sum() > 300:
            return t, sim, near
    raise AssertionError("no pose of the sampler pointed its forearm at the camera")


def test_a_forearm_pointing_at_the_camera_keeps_its_depth_in_the_frame(at_the_camera):
    """The crop clips it to the front face, a flat plate; the frame shows the simulator's depth."""
    t, sim, near = at_the_camera
    crop = crop_depth(sim, t)
    frame = paste_crop(crop, t, surround=sim)
    np.testing.assert_array_equal(frame[near], sim[near])
    alone = paste_crop(crop, t)  # without the surround, G's plate at the front face is all there is
    plate = np.abs(alone[near & (alone > 0)] - front_face_mm(t)) < 1.0
    assert plate.size > 300 and plate.mean() > 0.9  # (the rest: nearest depth across a step)


def test_a_crop_without_hand_gets_no_forearm_from_the_simulator(point):
    t, sim = point
    empty = np.full((CROP_SIZE, CROP_SIZE), BACKGROUND, np.float32)
    assert not paste_crop(empty, t, surround=sim).any()


def test_bad_shapes_are_refused(point):
    t, sim = point
    with pytest.raises(ValueError, match="crop must be"):
        paste_crop(np.zeros((64, 64)), t)
    with pytest.raises(ValueError, match="surround must be"):
        paste_crop(np.zeros((CROP_SIZE, CROP_SIZE)), t, surround=sim[:10])
