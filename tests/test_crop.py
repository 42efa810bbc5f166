"""The crop convention: window geometry, depth normalisation, the inverse, pose and crop camera."""
from __future__ import annotations

import numpy as np
import pytest

from engine.camera import ICVL_MSRA, KINECT_V1, Camera
from engine.data.crop import (
    BACKGROUND,
    CROP_SIZE,
    CUBE_MM,
    CropTransform,
    crop_camera,
    crop_depth,
    denormalise_joints,
    hand_centre,
    make_transform,
    normalise_joints,
    transform_at,
)
from engine.data.paste import paste_crop

# Depth at which the cube's 250 mm spans exactly 128 px on the Kinect v1 (fx is the larger focal).
ONE_TO_ONE_Z = CUBE_MM * KINECT_V1.fx / CROP_SIZE


def smooth_surface(camera: Camera, z0: float, amplitude: float = 40.0) -> np.ndarray:
    """A gently curved surface filling the frame: float32 mm."""
    v, u = np.mgrid[0 : camera.height, 0 : camera.width].astype(np.float64)
    z = z0 + amplitude * np.sin(u / 37.0) * np.cos(v / 53.0)
    return z.astype(np.float32)


def window_slices(t: CropTransform) -> tuple[slice, slice]:
    cam = t.camera
    return (
        slice(max(t.v0, 0), min(t.v0 + t.size_px, cam.height)),
        slice(max(t.u0, 0), min(t.u0 + t.size_px, cam.width)),
    )


def example_joints(centre: np.ndarray) -> np.ndarray:
    """21 joints spread over an open hand's extent (±90 mm in x/y, ±30 mm in z)."""
    rng = np.random.default_rng(3)
    offsets = rng.uniform([-90, -90, -30], [90, 90, 30], size=(21, 3))
    return (np.asarray(centre) + offsets).astype(np.float32)


def test_hand_centre_is_bounding_box_midpoint_ignoring_missing_joints():
    joints = np.full((21, 3), np.nan, dtype=np.float32)
    joints[0] = [0, 0, 500]
    joints[4] = [100, -40, 560]
    joints[8] = [20, 60, 520]
    np.testing.assert_allclose(hand_centre(joints), [50, 10, 530])
    with pytest.raises(ValueError):
        hand_centre(np.full((21, 3), np.nan))


def test_window_size_and_centre():
    centre = np.array([30.0, -20.0, 600.0])
    t = transform_at(centre, KINECT_V1)
    assert t.size_px == round(CUBE_MM * KINECT_V1.fx / 600.0)
    uc, vc = KINECT_V1.project(centre)
    assert abs(t.u0 + (t.size_px - 1) / 2 - uc) <= 0.5
    assert abs(t.v0 + (t.size_px - 1) / 2 - vc) <= 0.5
    with pytest.raises(ValueError):
        transform_at(np.array([0.0, 0.0, -10.0]), KINECT_V1)


def test_one_to_one_crop_then_paste_returns_metric_depth():
    t = transform_at(np.array([10.0, 5.0, ONE_TO_ONE_Z]), KINECT_V1)
    assert t.size_px == CROP_SIZE
    depth = smooth_surface(KINECT_V1, ONE_TO_ONE_Z)
    crop = crop_depth(depth, t)
    assert crop.shape == (CROP_SIZE, CROP_SIZE) and crop.dtype == np.float32
    assert crop.min() >= -1 and crop.max() <= 1
    # 1:1 means crop pixel (j, i) is frame pixel (v0 + j, u0 + i).
    window = depth[t.v0 : t.v0 + CROP_SIZE, t.u0 : t.u0 + CROP_SIZE]
    expected = (window - t.centre[2]) / (CUBE_MM / 2)
    np.testing.assert_allclose(crop, expected, atol=1e-5)
    back = paste_crop(crop, t)
    assert back.shape == depth.shape and back.dtype == np.float32
    rows, cols = window_slices(t)
    np.testing.assert_allclose(back[rows, cols], depth[rows, cols], atol=1.0)
    outside = np.ones(depth.shape, dtype=bool)
    outside[rows, cols] = False
    assert np.all(back[outside] == 0)


def test_downscaled_crop_then_paste_is_close():
    t = transform_at(np.array([0.0, 0.0, 600.0]), KINECT_V1)
    assert t.scale > 1.5
    depth = smooth_surface(KINECT_V1, 600.0)
    back = paste_crop(crop_depth(depth, t), t)
    rows, cols = window_slices(t)
    err = np.abs(back[rows, cols] - depth[rows, cols])
    # Nearest sampling moves a value at most ~scale px; the surface slope is ≤ 40/37 mm per px.
    assert np.median(err) < 1.0
    assert err.max() < 40.0 / 37.0 * (t.scale + 1)


def test_background_rules():
    t = transform_at(np.array([0.0, 0.0, 700.0]), ICVL_MSRA)
    depth = np.full((ICVL_MSRA.height, ICVL_MSRA.width), 700.0, dtype=np.float32)
    uc, vc = (int(round(x)) for x in ICVL_MSRA.project(t.centre))
    depth[vc - 10 : vc + 10, uc - 30 : uc - 20] = 0.0  # no data
    depth[vc - 10 : vc + 10, uc - 10 : uc] = 700.0 + CUBE_MM  # behind the cube
    depth[vc - 10 : vc + 10, uc + 10 : uc + 20] = 700.0 - CUBE_MM  # occluder in front
    depth[vc - 10 : vc + 10, uc + 20 : uc + 30] = 700.0 + 50.0  # inside the cube
    crop = crop_depth(depth, t)
    cam = crop_camera(t)

    def at(u: int, v: int) -> float:
        i, j = (int(round(x)) for x in cam.project(ICVL_MSRA.backproject(u, v, 700.0)))
        return float(crop[j, i])

    assert at(uc - 25, vc) == BACKGROUND
    assert at(uc - 5, vc) == BACKGROUND
    assert at(uc + 15, vc) == -1.0
    assert at(uc + 25, vc) == pytest.approx(50.0 / (CUBE_MM / 2), abs=1e-6)
    assert at(uc, vc) == pytest.approx(0.0, abs=1e-6)


def test_window_past_the_frame_edge_is_background():
    # A hand near the left border: part of the window lies outside the image.
    centre = ICVL_MSRA.backproject(5.0, 120.0, 500.0)
    t = transform_at(centre, ICVL_MSRA)
    assert t.u0 < 0
    depth = np.full((ICVL_MSRA.height, ICVL_MSRA.width), 500.0, dtype=np.float32)
    crop = crop_depth(depth, t)
    outside_cols = int(np.floor(-t.u0 / t.scale))
    assert outside_cols > 0
    assert np.all(crop[:, : outside_cols] == BACKGROUND)
    assert np.all(crop[:, outside_cols + 1 :] != BACKGROUND)
    back = paste_crop(crop, t)
    rows, cols = window_slices(t)
    np.testing.assert_allclose(back[rows, cols], 500.0, atol=1e-3)


def test_paste_treats_near_one_generator_output_as_background():
    t = transform_at(np.array([0.0, 0.0, 600.0]), KINECT_V1)
    crop = np.full((CROP_SIZE, CROP_SIZE), 0.995, dtype=np.float32)
    crop[60:68, 60:68] = 0.2
    back = paste_crop(crop, t)
    assert np.count_nonzero(back) > 0
    np.testing.assert_allclose(back[back > 0], 600.0 + 0.2 * CUBE_MM / 2, atol=1e-3)
    with pytest.raises(ValueError):
        paste_crop(np.zeros((64, 64)), t)


def test_joints_normalise_and_denormalise_round_trip():
    centre = np.array([-40.0, 25.0, 650.0])
    joints = example_joints(centre)
    joints[7] = np.nan
    t = make_transform(joints, KINECT_V1)
    y = normalise_joints(joints, t)
    assert y.dtype == np.float32
    assert np.all(np.isnan(y[7]))
    ok = np.delete(np.arange(21), 7)
    assert np.all(np.abs(y[ok]) <= 1.0)
    np.testing.assert_allclose(denormalise_joints(y, t)[ok], joints[ok], atol=1e-3)
    # Batches broadcast: (B, 21, 3).
    batch = np.stack([joints, joints])
    assert normalise_joints(batch, t).shape == (2, 21, 3)


def test_joints_land_on_the_right_crop_pixel_via_crop_camera():
    centre = np.array([60.0, -30.0, 550.0])
    joints = example_joints(centre)
    for camera in (KINECT_V1, ICVL_MSRA):
        t = make_transform(joints, camera)
        cam = crop_camera(t)
        assert (cam.width, cam.height) == (CROP_SIZE, CROP_SIZE)
        # Mark each joint's frame pixel with a unique depth; find it in the crop.
        uv = np.round(camera.project(joints)).astype(int)
        for joint, (u, v) in zip(joints, uv):
            depth = np.full((camera.height, camera.width), t.centre[2], dtype=np.float32)
            depth[v - 1 : v + 2, u - 1 : u + 2] = t.centre[2] - 100.0
            crop = crop_depth(depth, t)
            rows, cols = np.nonzero(crop < -0.5)
            assert len(rows) > 0
            i, j = cam.project(camera.backproject(u, v, joint[2]))
            assert abs(cols.mean() - i) < 1.0 and abs(rows.mean() - j) < 1.0


def test_crop_camera_is_identity_shift_at_one_to_one():
    t = transform_at(np.array([0.0, 0.0, ONE_TO_ONE_Z]), KINECT_V1)
    cam = crop_camera(t)
    p = np.array([[12.0, -8.0, ONE_TO_ONE_Z + 20.0]])
    np.testing.assert_allclose(cam.project(p), KINECT_V1.project(p) - [t.u0, t.v0], atol=1e-9)
