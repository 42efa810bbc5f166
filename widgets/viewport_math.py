"""Screen-to-scene math of the 3D viewport, pure numpy so it is testable without a window.

Every function takes the viewport's ``scene_to_canvas`` matrix: a 4x4 matrix in vispy's
row-vector convention (``[x, y, z, 1] @ M`` gives homogeneous canvas coordinates: pixels with
y down, then normalised depth and w).  It is exact for vispy's perspective and orthographic
cameras because every link of their transform chain is linear in homogeneous coordinates.
"""
from __future__ import annotations

import numpy as np

# Two normalised device depths that every camera maps to distinct points on the same ray.
_NEAR_NDC, _FAR_NDC = -1.0, 1.0
_PARALLEL_EPS = 1e-12


def project_to_canvas(points: np.ndarray, scene_to_canvas: np.ndarray) -> np.ndarray:
    """(N, 3) scene points to (N, 2) canvas pixels."""
    p = np.asarray(points, dtype=np.float64)
    h = np.concatenate([p, np.ones((len(p), 1))], axis=1) @ scene_to_canvas
    return h[:, :2] / h[:, 3:4]


def canvas_ray(pos: np.ndarray, scene_to_canvas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The scene ray under a canvas pixel: (origin on the near plane, unit direction into the
    screen)."""
    x, y = float(pos[0]), float(pos[1])
    inv = np.linalg.inv(scene_to_canvas)
    ends = np.array([[x, y, _NEAR_NDC, 1.0], [x, y, _FAR_NDC, 1.0]]) @ inv
    ends = ends[:, :3] / ends[:, 3:4]
    direction = ends[1] - ends[0]
    return ends[0], direction / np.linalg.norm(direction)


def view_direction(scene_to_canvas: np.ndarray) -> np.ndarray:
    """Unit vector in scene coordinates pointing from the viewer into the screen.

    Points at equal view depth form a plane facing the viewer. View depth is the clip-space w of
    a perspective camera (an affine function of the scene point) and the clip-space z of an
    orthographic one (whose w is constant), so the gradient of that function is the normal.
    """
    normal = scene_to_canvas[:3, 3]
    if np.linalg.norm(normal) < _PARALLEL_EPS:
        normal = scene_to_canvas[:3, 2]
    return normal / np.linalg.norm(normal)


def intersect_ray_plane(origin: np.ndarray, direction: np.ndarray, plane_point: np.ndarray,
                        plane_normal: np.ndarray) -> np.ndarray | None:
    """Point where the ray meets the plane, or None when the ray is parallel to it."""
    denom = float(np.dot(direction, plane_normal))
    if abs(denom) < _PARALLEL_EPS:
        return None
    t = float(np.dot(np.asarray(plane_point) - origin, plane_normal)) / denom
    return np.asarray(origin, dtype=np.float64) + t * np.asarray(direction, dtype=np.float64)


def drag_target(pos: np.ndarray, scene_to_canvas: np.ndarray,
                anchor: np.ndarray) -> np.ndarray | None:
    """Where the mouse at canvas ``pos`` points on the plane through ``anchor`` facing the
    viewer."""
    origin, direction = canvas_ray(pos, scene_to_canvas)
    return intersect_ray_plane(origin, direction, anchor, view_direction(scene_to_canvas))


def nearest_point(points_2d: np.ndarray, pos: np.ndarray, radius: float) -> int:
    """Index of the 2D point nearest to ``pos`` within ``radius`` pixels, or -1 when none is."""
    if len(points_2d) == 0:
        return -1
    dist = np.linalg.norm(np.asarray(points_2d) - np.asarray(pos, dtype=np.float64)[:2], axis=1)
    best = int(np.argmin(dist))
    return best if dist[best] <= radius else -1


def darken(rgba: np.ndarray, factor: float) -> np.ndarray:
    """`rgba` (N x 4) with its colour, not its alpha, scaled by `factor`."""
    out = np.array(rgba, dtype=np.float32)
    out[:, :3] *= factor
    return out



# The 3D view's ground: a 50 mm grid, 800 mm wide and 1 m deep in front of the camera, below
# the optical axis (y points down) so a hand at the usual distance stands on it.
GRID_STEP_MM = 50.0
GRID_HALF_WIDTH_MM = 400.0
GRID_DEPTH_MM = 1000.0
GRID_Y_MM = 220.0


def ground_grid() -> np.ndarray:
    """Line segments of a grid on the plane y = GRID_Y_MM, in front of the camera."""
    xs = np.arange(-GRID_HALF_WIDTH_MM, GRID_HALF_WIDTH_MM + 1, GRID_STEP_MM)
    zs = np.arange(0.0, GRID_DEPTH_MM + 1, GRID_STEP_MM)
    segments = [((x, GRID_Y_MM, zs[0]), (x, GRID_Y_MM, zs[-1])) for x in xs]
    segments += [((xs[0], GRID_Y_MM, z), (xs[-1], GRID_Y_MM, z)) for z in zs]
    return np.asarray(segments, dtype=np.float32).reshape(-1, 3)
