"""Analytic depth rendering of the sphere-mesh hand for a pinhole camera.

Every primitive is ray-cast exactly (ray-sphere and ray-plane intersections, no meshing) and
only inside its own projected box (a sphere's is cut to its exact silhouette bounds,
`_tight_blocks`). Spheres are grouped by block size so each group is one dense (n, k, k) block
evaluated with broadcasting: no per-pixel gathers, no Python loop over primitives. One z-buffer
pass (np.minimum.at on a key that packs quantised depth above the part label) keeps the nearest
surface and its label together. The result is watertight: 1-px cracks that the sphere-sampled
capsules leave are closed (`close_notches`), and the palm's faces are offset per vertex so they
share edges (`_front_faces`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.camera import Camera
from engine.sim.volume import HandVolume, build_hand_volume

DEPTH_QUANTUM_MM = 1.0 / 256.0  # z-buffer resolution, far below any sensor's
_LABEL_BITS = 3  # 8 part labels
_EMPTY = np.iinfo(np.int64).max
_BOX_SIZES = (6, 10, 14, 20, 28, 40, 56, 80, 112, 160, 224, 320, 480, 640)  # sphere box sides, px
_NEAR_MM = 1.0
# Sides of the blocks evaluated (_tight_blocks): every box side, so a block fits its box, and a
# step between (about 1.2x apart: finer steps cost more in Python per block size than they save).
_BLOCK_SIZES = tuple(sorted({*_BOX_SIZES, 8, 12, 17, 24, 34, 48, 68, 96}))
# Fan triangles share edges; widening each by 2 % (barycentric) closes rounding cracks there.
_FAN_OVERLAP = 0.02
# A notch between two surfaces of one part further apart in depth than a finger's radius (about
# 8 mm, engine.hand.anatomy) is a gap between them: it is filled at the nearer surface's depth.
NOTCH_DEPTH_STEP_MM = 8.0


@dataclass(frozen=True)
class RenderResult:
    depth: np.ndarray  # (H, W) float32 mm, 0 = no data
    labels: np.ndarray  # (H, W) uint8 part labels (engine.hand.skeleton.PART_LABELS)
    joints_2d: np.ndarray  # (21, 2) pixel coordinates (u, v)


class _ZBuffer:
    """Nearest (depth, label) per pixel inside a window of the frame."""

    def __init__(self, camera: Camera, u0: int, v0: int, u1: int, v1: int) -> None:
        self.camera = camera
        self.u0, self.v0 = u0, v0
        self.width, self.height = u1 - u0 + 1, v1 - v0 + 1
        self.keys = np.full(self.width * self.height, _EMPTY, np.int64)

    def ray_offsets(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cam = self.camera
        return ((u - cam.cx) / cam.fx).astype(np.float32), ((v - cam.cy) / cam.fy).astype(np.float32)

    def splat(self, u0: np.ndarray, v0: np.ndarray, z: np.ndarray, label: np.ndarray | np.integer) -> None:
        """Keep the nearest of z (n, h, w) per pixel, block i covering the pixels from column
        u0[i] and row v0[i] on; label is one per block (n,) or one for all."""
        n, h, w = z.shape
        hit = z > _NEAR_MM
        if not (u0.min() >= self.u0 and u0.max() + w <= self.u0 + self.width
                and v0.min() >= self.v0 and v0.max() + h <= self.v0 + self.height):  # only at the frame's edge
            u = u0[:, None, None] + np.arange(w)[None, None, :]
            v = v0[:, None, None] + np.arange(h)[None, :, None]
            hit &= (u >= self.u0) & (u < self.u0 + self.width) & (v >= self.v0) & (v < self.v0 + self.height)
        # Each hit's pixel index and label packed in one integer: a block's first pixel and label
        # plus the offsets within a block (the same for every block), one gather for both.
        shift = _LABEL_BITS
        first = ((v0 - self.v0) * self.width + (u0 - self.u0)) << shift
        first |= label
        offsets = (np.arange(h)[:, None] * self.width + np.arange(w)[None, :]) << shift
        packed = (first[:, None, None] + offsets[None])[hit]
        q = z[hit]
        q *= 1.0 / DEPTH_QUANTUM_MM  # a power of two: exact
        key = np.rint(q, out=q).astype(np.int64)
        key <<= shift
        key |= packed & ((1 << shift) - 1)
        packed >>= shift
        np.minimum.at(self.keys, packed, key)

    def resolve(self) -> tuple[np.ndarray, np.ndarray]:
        """(depth, labels) of the whole frame; the z-buffer is spent."""
        cam = self.camera
        depth = np.zeros((cam.height, cam.width), np.float32)
        labels = np.zeros((cam.height, cam.width), np.uint8)
        keys = self.keys.reshape(self.height, self.width)
        keys[keys == _EMPTY] = 0  # no data: depth 0, label 0
        window = (slice(self.v0, self.v0 + self.height), slice(self.u0, self.u0 + self.width))
        # computed in float64 and rounded once to float32 on the store, as the depth always was
        np.multiply(keys >> _LABEL_BITS, np.float32(DEPTH_QUANTUM_MM), out=depth[window], casting="unsafe")
        labels[window] = keys & ((1 << _LABEL_BITS) - 1)
        return depth, labels


def _sphere_extents(c: np.ndarray, r: np.ndarray, cam: Camera) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Projected centre (u, v) and a conservative half-side in pixels of each sphere's box."""
    z = c[:, 2]
    u = cam.fx * c[:, 0] / z + cam.cx
    v = cam.fy * c[:, 1] / z + cam.cy
    # The silhouette is an ellipse whose extent is bounded by f r / sqrt(z^2 - r^2) plus the
    # off-axis stretch; 10 % and one pixel of margin cover both at hand distances.
    half = max(cam.fx, cam.fy) * r / np.sqrt(np.maximum(z * z - r * r, 1e-6)) * 1.1 + 1.0
    return u, v, half


def _sphere_boxes(c: np.ndarray, r: np.ndarray, cam: Camera) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First column and row, and side (one of _BOX_SIZES), of each sphere's pixel box."""
    u, v, half = _sphere_extents(c, r, cam)
    k = np.asarray(_BOX_SIZES)[np.minimum(np.searchsorted(_BOX_SIZES, np.ceil(2.0 * half).astype(np.int64)),
                                          len(_BOX_SIZES) - 1)]
    return np.floor(u - k / 2.0).astype(np.int64), np.floor(v - k / 2.0).astype(np.int64), k


def _tight_blocks(c: np.ndarray, r: np.ndarray, cam: Camera, u0: np.ndarray, v0: np.ndarray,
                  k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First column and row, and side (one of _BLOCK_SIZES), of a square block inside each
    sphere's _sphere_boxes box that still holds every pixel of that box the sphere covers.

    Why: the boxes are padded (bucketed sides, 10 % and a pixel of slack), so most of their
    pixels miss. The exact silhouette bounds (the planes through the camera's y or x axis that
    touch the sphere) and a pixel of margin (float32 rounding moves an edge by far less) cut
    that. The block stays inside the box, so the render is the one over the whole box bit for
    bit: the same pixels hit, with the same per-pixel maths.
    """
    zz = c[:, 2] * c[:, 2] - r * r  # > 0: only spheres wholly in front of the camera are drawn

    def span(p: np.ndarray, f: float, centre: float) -> tuple[np.ndarray, np.ndarray]:
        # the pixels whose ray offset d satisfies |p - d z| <= r sqrt(1 + d^2)
        root = r * np.sqrt(p * p + zz)
        return (np.ceil(centre + f * (p * c[:, 2] - root) / zz).astype(np.int64) - 1,
                np.floor(centre + f * (p * c[:, 2] + root) / zz).astype(np.int64) + 1)

    ulo, uhi = span(c[:, 0], cam.fx, cam.cx)
    vlo, vhi = span(c[:, 1], cam.fy, cam.cy)
    ulo, uhi = np.maximum(ulo, u0), np.minimum(uhi, u0 + k - 1)
    vlo, vhi = np.maximum(vlo, v0), np.minimum(vhi, v0 + k - 1)
    width = np.maximum(np.maximum(uhi - ulo, vhi - vlo) + 1, 1)
    side = np.minimum(np.asarray(_BLOCK_SIZES)[np.searchsorted(_BLOCK_SIZES, width)], k)
    return np.minimum(ulo, u0 + k - side), np.minimum(vlo, v0 + k - side), side


def _splat_spheres(zb: _ZBuffer, c: np.ndarray, r: np.ndarray, labels: np.ndarray,
                   blocks: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    """Z-buffer the spheres; `blocks` are their _tight_blocks. Each block's pixels are computed
    alone, so any subset of the spheres draws the same bits where it is nearest."""
    u0, v0, side = blocks
    if len(side) == 0:
        return
    cc = ((c * c).sum(1) - r * r).astype(np.float32)
    c32 = c.astype(np.float32)
    labels = labels.astype(np.int64)
    # Every block's ray offsets read from one table per axis over all the blocks' columns and
    # rows: the values ray_offsets gives, computed once per column instead of once per block.
    ulo, vlo = int(u0.min()), int(v0.min())
    du_table, dv_table = zb.ray_offsets(np.arange(ulo, int((u0 + side).max())),
                                        np.arange(vlo, int((v0 + side).max())))
    for k in np.unique(side):
        m = side == k
        ar = np.arange(k)
        u0m, v0m = u0[m], v0[m]
        du = du_table[(u0m - ulo)[:, None, None] + ar[None, None, :]]
        dv = dv_table[(v0m - vlo)[:, None, None] + ar[None, :, None]]
        cg = c32[m]
        # In place where a temporary would do: the same operations in the same order (same bits),
        # fewer passes over memory.
        b = du * cg[:, 0, None, None] + dv * cg[:, 1, None, None]
        b += cg[:, 2, None, None]
        a = du * du + dv * dv
        a += 1.0
        z = b * b
        z -= a * cc[m][:, None, None]
        with np.errstate(invalid="ignore"):
            np.sqrt(z, out=z)
        np.subtract(b, z, out=z)
        z /= a
        zb.splat(u0m, v0m, z, labels[m])


def _splat_triangles(zb: _ZBuffer, faces: np.ndarray, label: int) -> None:
    """Ray-cast the faces in one (T, h, w) block: each face's own pixel box, padded to the
    largest box (pixels outside a face's box are masked), so there is no Python loop over
    faces or pixels and one splat for all faces."""
    cam = zb.camera
    uv = cam.project(faces)
    lo = np.floor(uv.min(1)).astype(np.int64)
    hi = np.ceil(uv.max(1)).astype(np.int64)
    b = np.stack([np.maximum(lo[:, 0], zb.u0), np.maximum(lo[:, 1], zb.v0),
                  np.minimum(hi[:, 0], zb.u0 + zb.width - 1),
                  np.minimum(hi[:, 1], zb.v0 + zb.height - 1)], 1)
    keep = (b[:, 2] >= b[:, 0]) & (b[:, 3] >= b[:, 1])
    if not keep.any():
        return
    b, tri = b[keep], faces[keep]
    a, e1, e2 = tri[:, 0], tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    n = _cross(e1, e2)

    def dot(x: np.ndarray, y: np.ndarray) -> np.ndarray:  # row-wise, the same bits as x[i] @ y[i]
        return (x[:, None, :] @ y[:, :, None])[:, 0, 0]

    d00, d01, d11 = dot(e1, e1), dot(e1, e2), dot(e2, e2)
    with np.errstate(divide="ignore"):
        inv = 1.0 / (d00 * d11 - d01 * d01)
    an, n0, n1, n2, a0, a1, a2, e10, e11, e12, e20, e21, e22, d00, d01, d11, inv = (
        c[:, None, None] for c in (dot(a, n), *n.T, *a.T, *e1.T, *e2.T, d00, d01, d11, inv))
    pu = b[:, 0, None, None] + np.arange((b[:, 2] - b[:, 0]).max() + 1)[None, None, :]
    pv = b[:, 1, None, None] + np.arange((b[:, 3] - b[:, 1]).max() + 1)[None, :, None]
    in_box = (pu <= b[:, 2, None, None]) & (pv <= b[:, 3, None, None])
    du, dv = zb.ray_offsets(pu, pv)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = an / (du * n0 + dv * n1 + n2)
        # Barycentric coordinates of the hit point in the triangle's plane.
        px, py, pz = du * t - a0, dv * t - a1, t - a2
        d20 = px * e10 + py * e11 + pz * e12
        d21 = px * e20 + py * e21 + pz * e22
        s = (d11 * d20 - d01 * d21) * inv
        q = (d00 * d21 - d01 * d20) * inv
    inside = in_box & (s >= -_FAN_OVERLAP) & (q >= -_FAN_OVERLAP) & (s + q <= 1 + _FAN_OVERLAP)
    zb.splat(b[:, 0], b[:, 1], np.where(inside, t, np.nan), np.int64(label))


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.cross of (n, 3) rows, bit for bit (the same products and differences), without its
    generic set-up: a render crosses a handful of palm triangles, where that set-up was most
    of the cost."""
    out = np.empty(np.broadcast_shapes(a.shape, b.shape), np.result_type(a, b))
    for i, (j, k) in enumerate(((1, 2), (2, 0), (0, 1))):
        np.subtract(a[:, j] * b[:, k], a[:, k] * b[:, j], out=out[:, i])
    return out


def _front_faces(volume: HandVolume) -> np.ndarray:
    """The palm fan's triangles moved by the slab radius towards the camera, each vertex along
    the average of its faces' normals.

    Why per vertex: moving each triangle along its own normal opens a wedge-shaped seam where
    two faces at an angle meet (their shared edge lands at two places), which rendered as a
    crack of no data across the palm. Moved per vertex, neighbouring faces keep sharing edges.
    """
    tri = volume.triangles
    if len(tri) == 0:
        return tri
    n = _cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    towards_camera = np.where(((n * tri.mean(axis=1)).sum(1) > 0)[:, None], -n, n)
    # Shared vertices by exact equality, each named by its first occurrence (a dozen corners:
    # the pairwise test costs a tenth of np.unique(axis=0), and each vertex's normals are summed
    # in the same face order, so the same bits).
    corners = tri.reshape(-1, 3)
    index = (corners[:, None, :] == corners[None, :, :]).all(-1).argmax(axis=1)
    normals = np.zeros_like(corners)
    np.add.at(normals, index, np.repeat(towards_camera, 3, axis=0))
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    return (corners + normals * volume.triangle_radius)[index.reshape(tri.shape[:2])]


def close_notches(depth: np.ndarray, labels: np.ndarray) -> int:
    """Fill, in place, each pixel without data between two pixels of one part (`notches`);
    returns the number of passes (render_surround's bound on how far a fill can reach).

    Why: capsules are sampled as spheres, whose outline is scalloped by up to RIPPLE_MM
    (engine.sim.volume); where a dip falls on a pixel centre between two spheres, and at creases
    where surfaces meet at an angle, the render leaves a 1-px crack through one surface that no
    sensor would see and a generator would learn. The pixel takes the mean depth of the pair, or
    the nearer one when they are more than NOTCH_DEPTH_STEP_MM apart (a sensor sees the front).
    Filling a pixel of a 2-px crack makes its partner a notch, so passes repeat until none is
    left (each fills at least one pixel, so they end).
    """
    passes = 0
    while True:
        hole = notches(labels)
        if not hole.any():
            return passes
        passes += 1
        v, u = np.nonzero(hole)
        h, w = labels.shape
        # Both directions' neighbours as they are before this pass fills anything. One beyond
        # the border reads as the hole itself: label 0, so no pair.
        neighbours = []
        for dv, du in ((0, 1), (1, 0)):
            av, bv = np.clip(v - dv, 0, h - 1), np.clip(v + dv, 0, h - 1)
            au, bu = np.clip(u - du, 0, w - 1), np.clip(u + du, 0, w - 1)
            neighbours.append((depth[av, au], depth[bv, bu], labels[av, au], labels[bv, bu]))
        for a_d, b_d, a_l, b_l in neighbours:  # left/right first, then up/down for what is left
            pair = (a_l == b_l) & (a_l > 0) & (depth[v, u] == 0)
            fill = np.where(np.abs(a_d - b_d) > NOTCH_DEPTH_STEP_MM, np.minimum(a_d, b_d), 0.5 * (a_d + b_d))
            depth[v[pair], u[pair]] = fill[pair]
            labels[v[pair], u[pair]] = a_l[pair]


def _visible(volume: HandVolume) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(centres, radii, labels) of the spheres wholly in front of the camera, and the palm's
    front faces whose corners all are."""
    front = volume.centres[:, 2] - volume.radii > _NEAR_MM
    faces = _front_faces(volume)
    if len(faces):
        faces = faces[np.all(faces[:, :, 2] > _NEAR_MM, axis=1)]
    return volume.centres[front], volume.radii[front], volume.labels[front], faces


def _zbuffer(c: np.ndarray, r: np.ndarray, camera: Camera) -> tuple[_ZBuffer, tuple[np.ndarray, ...]]:
    """The z-buffer over every sphere's whole box (engine pixels outside it are never drawn, so
    it only clips at the frame's edge), and the spheres' _tight_blocks."""
    boxes = u, v, k = _sphere_boxes(c, r, camera)
    u0 = int(np.clip(u.min(), 0, camera.width - 1))
    v0 = int(np.clip(v.min(), 0, camera.height - 1))
    u1 = int(np.clip((u + k - 1).max(), 0, camera.width - 1))
    v1 = int(np.clip((v + k - 1).max(), 0, camera.height - 1))
    return _ZBuffer(camera, u0, v0, u1, v1), _tight_blocks(c, r, camera, *boxes)


def _finish(zb: _ZBuffer) -> tuple[np.ndarray, np.ndarray, int]:
    """(depth, labels) of the z-buffer with notches closed, and how many passes that took."""
    depth, labels = zb.resolve()
    window = (slice(zb.v0, zb.v0 + zb.height), slice(zb.u0, zb.u0 + zb.width))  # nothing to close outside
    passes = close_notches(depth[window], labels[window])
    return depth, labels, passes


def render_volume(volume: HandVolume, camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Z-buffer the volume's primitives: (depth float32 mm, labels uint8), full frame."""
    c, r, lab, faces = _visible(volume)
    if len(r) == 0:
        return (np.zeros((camera.height, camera.width), np.float32),
                np.zeros((camera.height, camera.width), np.uint8))
    zb, blocks = _zbuffer(c, r, camera)
    _splat_spheres(zb, c, r, lab, blocks)
    _splat_triangles(zb, faces, volume.triangle_label)
    depth, labels, _ = _finish(zb)
    return depth, labels


def notches(labels: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels without data whose two opposite neighbours (left and right, or up and
    down) show the same part: a crack through a surface, which no watertight render has."""
    lab = np.asarray(labels)
    hole = lab == 0
    out = np.zeros(lab.shape, bool)
    c = hole[:, 1:-1] & (lab[:, :-2] == lab[:, 2:]) & (lab[:, :-2] > 0)
    out[:, 1:-1] |= c
    r = hole[1:-1, :] & (lab[:-2, :] == lab[2:, :]) & (lab[:-2, :] > 0)
    out[1:-1, :] |= r
    return out


def render_hand(joints: np.ndarray, camera: Camera, thickness: float = 1.0) -> RenderResult:
    """Clean metric depth, part labels and 2D joints of a hand given its 21 joints (mm)."""
    j = np.asarray(joints, dtype=np.float64)
    depth, labels = render_volume(build_hand_volume(j, thickness), camera)
    return RenderResult(depth=depth, labels=labels, joints_2d=camera.project(j))
