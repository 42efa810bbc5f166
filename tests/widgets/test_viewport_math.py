"""The viewport's screen → ray → plane math on hand-built cameras, without any window."""
from __future__ import annotations

import numpy as np
import pytest

from widgets.viewport_math import (
    canvas_ray,
    drag_target,
    intersect_ray_plane,
    nearest_point,
    project_to_canvas,
    view_direction,
)

F, CX, CY = 500.0, 320.0, 240.0


def pinhole(f: float = F, cx: float = CX, cy: float = CY, near: float = 10.0,
            far: float = 5000.0) -> np.ndarray:
    """Row-vector scene→canvas matrix of a camera at the origin looking down +z, y down:
    u = f x / z + cx, v = f y / z + cy, w = z."""
    a, b = (far + near) / (far - near), -2.0 * far * near / (far - near)
    return np.array([[f, 0, 0, 0], [0, f, 0, 0], [cx, cy, a, 1.0], [0, 0, b, 0]])


def orthographic(scale: float = 2.0, cx: float = CX, cy: float = CY) -> np.ndarray:
    """Looks down +z too, but every ray is parallel: u = scale x + cx, v = scale y + cy."""
    return np.array([[scale, 0, 0, 0], [0, scale, 0, 0], [0, 0, 1e-3, 0], [cx, cy, 0, 1.0]])


def test_ray_through_principal_point_is_the_optical_axis():
    origin, direction = canvas_ray((CX, CY), pinhole())
    np.testing.assert_allclose(direction, [0, 0, 1], atol=1e-9)
    np.testing.assert_allclose(origin[:2], [0, 0], atol=1e-9)


def test_ray_passes_through_the_projected_point():
    m = pinhole()
    point = np.array([40.0, -25.0, 480.0])
    origin, direction = canvas_ray(project_to_canvas(point[None], m)[0], m)
    t = np.dot(point - origin, direction)
    np.testing.assert_allclose(origin + t * direction, point, atol=1e-6)


def test_intersect_ray_plane_known_case_and_parallel_ray():
    hit = intersect_ray_plane(np.zeros(3), np.array([0.0, 0.6, 0.8]), np.array([0, 0, 400.0]),
                              np.array([0, 0, 1.0]))
    np.testing.assert_allclose(hit, [0, 300, 400])
    assert intersect_ray_plane(np.zeros(3), np.array([1.0, 0, 0]), np.array([0, 0, 400.0]),
                               np.array([0, 0, 1.0])) is None


def test_view_direction_is_forward_for_perspective_and_orthographic():
    np.testing.assert_allclose(view_direction(pinhole()), [0, 0, 1])
    np.testing.assert_allclose(view_direction(orthographic()), [0, 0, 1])


@pytest.mark.parametrize("du, dv, expected", [(50.0, 0.0, (50.0, 0.0, 500.0)),
                                              (0.0, -100.0, (0.0, -100.0, 500.0))])
def test_drag_target_stays_on_the_plane_facing_the_viewer(du, dv, expected):
    # At 500 mm with f = 500 px, one pixel is one millimetre.
    target = drag_target((CX + du, CY + dv), pinhole(), np.array([0.0, 0.0, 500.0]))
    np.testing.assert_allclose(target, expected, atol=1e-6)


def test_drag_target_with_orthographic_camera():
    target = drag_target((CX + 20.0, CY + 10.0), orthographic(scale=2.0), np.array([5, 5, 700.0]))
    np.testing.assert_allclose(target, [10.0, 5.0, 700.0], atol=1e-6)


def test_nearest_point_within_radius():
    points = np.array([[10.0, 10.0], [50.0, 50.0]])
    assert nearest_point(points, (48.0, 53.0), radius=6.0) == 1
    assert nearest_point(points, (30.0, 30.0), radius=6.0) == -1
    assert nearest_point(np.zeros((0, 2)), (0.0, 0.0), radius=6.0) == -1
