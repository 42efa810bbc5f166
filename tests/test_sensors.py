"""Sensor models: contract (copy, dtype, determinism, errors) and the physics each one claims.

Scenes are built analytically here (planes, boxes, a ray-traced sphere) so these tests do not
depend on the renderer.
"""
from __future__ import annotations

import numpy as np
import pytest

from engine.camera import KINECT_V1, Camera
from engine.sim import sensors
from engine.sim.sensors import SENSOR_NAMES, SENSORS, SensorInfo, apply_sensor

NOISY = [name for name in SENSOR_NAMES if name != "none"]
CAM = KINECT_V1


def sphere(cam: Camera, center: tuple[float, float, float], radius: float) -> np.ndarray:
    """Depth (mm) of the front surface of a sphere, by ray casting every pixel."""
    x = ((np.arange(cam.width) - cam.cx) / cam.fx)[None, :]
    y = ((np.arange(cam.height) - cam.cy) / cam.fy)[:, None]
    cx, cy, cz = center
    ray2 = x * x + y * y + 1.0
    b = x * cx + y * cy + cz
    disc = b * b - ray2 * (cx * cx + cy * cy + cz * cz - radius * radius)
    t = (b - np.sqrt(np.maximum(disc, 0.0))) / ray2
    return np.where(disc > 0, t, 0.0).astype(np.float32)


def plane(z: float, shape: tuple[int, int] = (480, 640),
          box: tuple[slice, slice] | None = None) -> np.ndarray:
    """Fronto-parallel plane at depth z, over the whole frame or only inside `box`."""
    depth = np.zeros(shape, np.float32)
    depth[box if box is not None else ...] = z
    return depth


def interior(mask: np.ndarray, px: int) -> np.ndarray:
    """`mask` shrunk by `px` pixels (4-neighbour erosion), to stay clear of edges."""
    out = mask.copy()
    for _ in range(px):
        out[1:-1, 1:-1] &= out[:-2, 1:-1] & out[2:, 1:-1] & out[1:-1, :-2] & out[1:-1, 2:]
        out[[0, -1], :] = False
        out[:, [0, -1]] = False
    return out


HAND_LIKE = sphere(CAM, (0.0, 0.0, 560.0), 60.0)  # front surface at 500 mm


# --- Contract ---------------------------------------------------------------------------------

def test_registry_matches_names() -> None:
    assert tuple(SENSORS) == SENSOR_NAMES
    assert all(isinstance(info, SensorInfo) and info.name == name
               for name, info in SENSORS.items())


def test_none_returns_unchanged_copy() -> None:
    out = apply_sensor(HAND_LIKE, CAM, "none")
    assert out.dtype == np.float32
    assert np.array_equal(out, HAND_LIKE)
    assert out is not HAND_LIKE and not np.shares_memory(out, HAND_LIKE)


@pytest.mark.parametrize("name", SENSOR_NAMES)
def test_input_untouched_and_output_float32(name: str) -> None:
    depth = HAND_LIKE.astype(np.float64)  # also accepts other dtypes
    before = depth.copy()
    out = apply_sensor(depth, CAM, name, 0)
    assert np.array_equal(depth, before)
    assert out.dtype == np.float32 and out.shape == depth.shape


def test_unknown_sensor_lists_valid_names() -> None:
    with pytest.raises(ValueError) as err:
        apply_sensor(HAND_LIKE, CAM, "kinect_v3")
    message = str(err.value)
    assert "\n" not in message
    assert all(name in message for name in SENSOR_NAMES)


@pytest.mark.parametrize("name", NOISY)
def test_same_seed_same_frame_other_seed_differs(name: str) -> None:
    a = apply_sensor(HAND_LIKE, CAM, name, 7)
    b = apply_sensor(HAND_LIKE, CAM, name, np.random.default_rng(7))
    c = apply_sensor(HAND_LIKE, CAM, name, 8)
    assert a.tobytes() == b.tobytes()
    assert not np.array_equal(a, c)
    assert apply_sensor(HAND_LIKE, CAM, name).any()  # no seed: fresh entropy, still works


@pytest.mark.parametrize("name", NOISY)
def test_empty_frame_stays_empty(name: str) -> None:
    assert not apply_sensor(np.zeros((48, 64), np.float32), CAM, name, 0).any()


@pytest.mark.parametrize("name", NOISY)
def test_pixels_outside_the_range_anywhere_change_nothing(name: str) -> None:
    """The model works on the box of the in-range pixels, found inside the box of all nonzero
    ones: no-data pixels with bits (-0.0, NaN, negative) and surfaces beyond the range, far from
    the hand, leave every output pixel and every random draw as they were."""
    clean = apply_sensor(HAND_LIKE, CAM, name, 3)
    junk = HAND_LIKE.copy()
    junk[0, 0], junk[-1, -1], junk[2, 600], junk[470, 5] = -0.0, np.nan, -40.0, 9000.0
    assert np.array_equal(apply_sensor(junk, CAM, name, 3), clean)


# --- Geometry kept, noise added ---------------------------------------------------------------

@pytest.mark.parametrize("name", NOISY)
def test_keeps_geometry_but_adds_noise(name: str) -> None:
    out = apply_sensor(HAND_LIKE, CAM, name, 0)
    both = (out > 0) & (HAND_LIKE > 0)
    assert both.sum() > 0.8 * (HAND_LIKE > 0).sum()
    # ToF flying pixels move edge pixels by up to the whole jump, by design; judge the surface.
    surface = both & interior(HAND_LIKE > 0, 2)
    err = out[surface] - HAND_LIKE[surface]
    assert np.abs(err).mean() < 3.0
    assert err.std() > 0.2
    assert np.median(np.abs(out[both] - HAND_LIKE[both])) < 3.0


@pytest.mark.parametrize("name", NOISY)
def test_works_on_a_crop(name: str) -> None:
    # A 128x128 crop around the sphere, resized by 0.5: the caller adjusts the intrinsics.
    crop = Camera(fx=CAM.fx * 0.5, fy=CAM.fy * 0.5, cx=64.0, cy=64.0, width=128, height=128)
    clean = sphere(crop, (0.0, 0.0, 560.0), 60.0)
    out = apply_sensor(clean, crop, name, 3)
    assert out.shape == (128, 128) and out.dtype == np.float32
    both = (out > 0) & (clean > 0)
    assert both.sum() > 0.7 * (clean > 0).sum()
    assert np.abs(out - clean)[both & interior(clean > 0, 2)].mean() < 3.0


# --- Kinect v1 --------------------------------------------------------------------------------

Z_NEAR, Z_FAR = 600.0, 1000.0
BOX = (slice(150, 330), slice(300, 400))


def _box_on_wall() -> np.ndarray:
    depth = plane(Z_FAR)
    depth[BOX] = Z_NEAR
    return depth


def test_kinect_shadow_left_of_near_box_with_expected_width() -> None:
    # Projector 75 mm along +x: the shadow falls left of the box, f b (1/z_near - 1/z_far) wide.
    width = CAM.fx * sensors.KINECT_BASELINE_MM * (1 / Z_NEAR - 1 / Z_FAR)  # ~29.4 px
    depth = _box_on_wall()
    shadow = sensors._projector_shadow(depth, depth > 0, CAM.fx * sensors.KINECT_BASELINE_MM)
    row = np.flatnonzero(shadow[240])
    assert row.max() == BOX[1].start - 1
    assert abs(row.size - width) <= 1

    left, right = [], []
    for seed in range(3):
        out = apply_sensor(depth, CAM, "kinect_v1", seed)
        rows = out[BOX[0].start + 20:BOX[0].stop - 20]
        left.extend((rows[:, BOX[1].start - 60:BOX[1].start] == 0).sum(axis=1))
        right.extend((rows[:, BOX[1].stop:BOX[1].stop + 60] == 0).sum(axis=1))
    assert abs(np.median(left) - width) <= 2
    assert np.median(right) <= 2


def test_kinect_noise_grows_with_depth() -> None:
    box = (slice(140, 340), slice(220, 420))
    spread = {}
    for z in (500.0, 1000.0):
        clean = plane(z, box=box)
        out = apply_sensor(clean, CAM, "kinect_v1", 0)
        keep = (out > 0) & interior(clean > 0, 5)
        spread[z] = (out - clean)[keep].std()
    # Nguyen et al. 2012: 1.2 mm at 0.5 m, 1.9 mm at 1 m (plus disparity steps).
    assert 0.9 < spread[500.0] < 1.8
    assert spread[1000.0] > 1.4 * spread[500.0]


def test_kinect_depth_lies_on_disparity_steps() -> None:
    out = apply_sensor(plane(800.0, box=BOX), CAM, "kinect_v1", 0)
    shift = sensors.KINECT_NATIVE_FX * sensors.KINECT_BASELINE_MM
    eighths = shift / out[out > 0] * 8
    assert np.allclose(eighths, np.round(eighths), atol=1e-2)


# --- Time of flight ---------------------------------------------------------------------------

def test_tof_flying_pixels_between_foreground_and_background() -> None:
    depth = _box_on_wall()
    out = apply_sensor(depth, CAM, "tof", 0)
    between = (out > Z_NEAR + 50) & (out < Z_FAR - 50)
    near_edge = np.zeros_like(between)
    near_edge[BOX[0].start - 2:BOX[0].stop + 2, BOX[1].start - 2:BOX[1].stop + 2] = True
    near_edge &= ~interior(near_edge, 4)
    assert between[near_edge].sum() > 50
    assert not between[~near_edge].any()


def test_tof_flying_pixels_trail_behind_outline_into_empty_background() -> None:
    out = apply_sensor(HAND_LIKE, CAM, "tof", 0)
    outside = out[(HAND_LIKE == 0) & (out > 0)]
    assert outside.size > 20
    assert (outside > 500.0).all() and (outside < sensors.TOF_OPEN_BACKGROUND_MM + 20).all()


# --- Range ------------------------------------------------------------------------------------

RANGES = {
    "kinect_v1": sensors.KINECT_RANGE_MM,
    "tof": sensors.TOF_RANGE_MM,
    "realsense": sensors.SR_RANGE_MM,
}


@pytest.mark.parametrize("name", NOISY)
def test_range_cutoffs(name: str) -> None:
    lo, hi = RANGES[name]
    box = (slice(200, 280), slice(280, 360))
    assert not apply_sensor(plane(lo - 100.0, box=box), CAM, name, 0).any()
    assert not apply_sensor(plane(hi + 300.0, box=box), CAM, name, 0).any()
    inside = apply_sensor(plane(0.5 * (lo + hi), box=box), CAM, name, 0)
    assert (inside > 0).sum() > 0.8 * 80 * 80
    assert inside[inside > 0].min() >= lo and inside.max() <= hi


# --- blend_with_clean: the strength slider -----------------------------------------------------

def _blend_inputs() -> tuple[np.ndarray, np.ndarray]:
    clean = sphere(CAM, (0.0, 0.0, 600.0), 80.0)
    return clean, apply_sensor(clean, CAM, "kinect_v1", 4)


def test_blend_ends_are_clean_and_full_sensor():
    clean, noisy = _blend_inputs()
    np.testing.assert_array_equal(sensors.blend_with_clean(clean, noisy, 0.0), clean)
    np.testing.assert_array_equal(sensors.blend_with_clean(clean, noisy, 1.0), noisy)


def test_blend_scales_noise_and_keeps_dropouts_with_probability_strength():
    clean, noisy = _blend_inputs()
    out = sensors.blend_with_clean(clean, noisy, 0.5, seed=7)
    assert out.dtype == np.float32
    both = (clean > 0) & (noisy > 0)
    np.testing.assert_allclose(out[both], clean[both] + 0.5 * (noisy[both] - clean[both]), rtol=1e-6)
    dropped = (clean > 0) & (noisy == 0)
    assert dropped.sum() > 200
    kept = (out[dropped] == 0).mean()
    assert 0.4 < kept < 0.6
    np.testing.assert_array_equal(out[~dropped & ~both & (clean > 0)], clean[~dropped & ~both & (clean > 0)])


def test_blend_is_stable_per_seed_and_monotonic_in_strength():
    clean, noisy = _blend_inputs()
    a = sensors.blend_with_clean(clean, noisy, 0.4, seed=3)
    np.testing.assert_array_equal(a, sensors.blend_with_clean(clean, noisy, 0.4, seed=3))  # no flicker
    more = sensors.blend_with_clean(clean, noisy, 0.8, seed=3)
    assert np.all((more == 0) | (a > 0) | (clean == 0))  # a hole at 0.4 stays a hole at 0.8
    assert (more == 0).sum() >= (a == 0).sum()


def test_blend_rejects_bad_input():
    clean, noisy = _blend_inputs()
    with pytest.raises(ValueError):
        sensors.blend_with_clean(clean, noisy, 1.5)
    with pytest.raises(ValueError):
        sensors.blend_with_clean(clean, noisy[:10], 0.5)


@pytest.mark.parametrize("sensor", SENSOR_NAMES)
def test_range_warning_gives_the_share_outside_the_range(sensor: str) -> None:
    near, far = sensors.sensor_range_mm(sensor)
    depth = np.zeros((40, 50), np.float32)
    assert sensors.range_warning(depth, sensor) is None  # no hand, no warning
    depth[5:15, 5:15] = 700.0  # 100 px inside every range
    assert sensors.range_warning(depth, sensor) is None
    if np.isfinite(far):
        depth[20:25, 5:15] = far + 0.5  # 50 px just beyond: a third of the hand
        assert sensors.range_warning(depth, sensor).startswith("33.3% of the hand's pixels")
    if near > 0:
        depth[30:35, 5:15] = near - 0.5
        assert f"outside the {sensor} range" in sensors.range_warning(depth, sensor)
