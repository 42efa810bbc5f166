"""Part labels and joint visibility judged from a depth image that was actually written.

Why: a generator's or a style's depth has its own silhouette (G's differs from the simulator's
at IoU ~0.94; a sensor model drops and adds edge pixels), so labels copied from a clean render
would describe another image. Here every pixel with depth gets the part of the nearest capsule
of the pose's own skeleton, measured in 3D on the back-projected pixel (so a finger in front of
the palm keeps its label), and only pixels with depth get a label: label > 0 == depth > 0.
Where a clean render of the same pose is at hand (the simulator source; a generator frame
outside G's window, where the paste shows the simulator's render), its exact labels are kept on
the pixels it covers and the skeleton only labels the rest.
"""
from __future__ import annotations

import numpy as np

from engine.camera import Camera
from engine.frame_box import Box, content_box
from engine.hand.anatomy import FINGER_RADII_MM, FOREARM_LENGTH, FOREARM_RADII, HAND_LENGTH_MM, PALM_RADIUS_MM
from engine.hand.skeleton import FINGER_JOINTS, FINGERS, PART_INDEX
from engine.sim.volume import hand_axes, hand_scale

# A surface point lies one radius in front of the joint under it; a joint counts as occluded
# when the depth at its pixel is nearer than that by more than this (a finger's breadth, about
# 16-20 mm, Garrett 1971: another finger or the palm is in front of it).
OCCLUSION_MARGIN_MM = 15.0
# How far in front of a joint its own skin may be: the thickest capsule (the palm's half
# thickness, engine.hand.anatomy, for a hand up to 15 % larger) plus that margin.
SKIN_ALLOWANCE_MM = PALM_RADIUS_MM * 1.15 + OCCLUSION_MARGIN_MM
VISIBILITY_WINDOW_PX = 1  # half side of the window whose farthest valid depth is compared
# Points per block in nearest_part: ~25 capsules x 2048 points x 4 B = 200 kB a temporary, which
# stays in the CPU cache (a generator dataset's labels: 4.0 ms CPU a frame against 4.8 unblocked;
# 1.8 ms against 1.9 at 1024 and 2.2 at 512 points); and a (25 x 5) @ (5 x 2048) product stays
# under OpenBLAS's threshold for threads (m n k < 262,144), so a dataset's pool workers, one per
# core, do not start BLAS threads of their own.
POINTS_PER_BLOCK = 2048


def _skeleton_table() -> tuple[np.ndarray, ...]:
    """(start joint, end joint, nominal radius at start, at end, part label) of every capsule
    but the forearm's: the fingers' bones, the palm's metacarpal rays and the thenar web."""
    rows = []
    for finger in FINGERS:
        chain = FINGER_JOINTS[finger]
        for bone, (r0, r1) in enumerate(FINGER_RADII_MM[finger]):
            rows.append((chain[bone], chain[bone + 1], r0, r1, PART_INDEX[finger]))
    for start, end in ((0, 1), (0, 5), (0, 9), (0, 13), (0, 17), (1, 5), (5, 17)):
        rows.append((start, end, PALM_RADIUS_MM, PALM_RADIUS_MM, PART_INDEX["palm"]))
    start, end, r0, r1, label = zip(*rows)
    return np.array(start), np.array(end), np.array(r0), np.array(r1), np.array(label, np.uint8)


_START, _END, _R0, _R1, _LABELS = _skeleton_table()
_CAPSULE_LABELS = np.append(_LABELS, np.uint8(PART_INDEX["forearm"]))


def capsules(joints: np.ndarray, thickness: float) -> tuple[np.ndarray, ...]:
    """(start (N, 3), end (N, 3), radius at start (N,), at end (N,), part label (N,)) of the
    skeleton's capsules, with the simulator's radii (engine.sim.volume); the forearm last."""
    j = np.asarray(joints, dtype=np.float64)
    scale = hand_scale(j)
    k = scale * thickness
    hl = HAND_LENGTH_MM * scale
    _, distal = hand_axes(j)
    back = -distal * FOREARM_LENGTH * hl
    return (np.vstack([j[_START], j[0]]), np.vstack([j[_END], j[0] + back]),
            np.append(_R0 * k, FOREARM_RADII[0] * hl * thickness),
            np.append(_R1 * k, FOREARM_RADII[1] * hl * thickness), _CAPSULE_LABELS)


def nearest_part(points: np.ndarray, joints: np.ndarray, thickness: float = 1.0) -> np.ndarray:
    """Part label (uint8) of the capsule whose surface is nearest each point (M, 3) mm.

    A point q's distance to the segment a + t d is |q - a - t d|, with t = clip((q - a).d / |d|^2):
    expanded, the (N capsules, M points) arrays are two matrix products, (q - a).d and |q - a|^2,
    of the points with a row of ones and |q|^2 added, instead of three per-axis passes for every
    step (4.1 -> 2.5 ms a generator frame's labels, and the same label on all of 930k pixels of 60
    random poses). Capsules in rows and points along them: every step runs along a contiguous row
    (a capsule's constant is one number for it), where points in rows broadcast the capsules'
    constants over rows of ~25 (with `_first_minimum`, a generator frame's labels 2.7 -> 1.8 ms;
    the same label on all of 3.9M pixels of 240 random poses). Computed about the capsules' mean,
    so |q|^2 stays small in float32."""
    a, b, ra, rb, labels = capsules(joints, thickness)
    origin = a.mean(axis=0)
    a, b = (a - origin).astype(np.float32), (b - origin).astype(np.float32)
    d = b - a
    d2 = (d * d).sum(1)
    half_inv_length2 = (0.5 / np.maximum(d2, 1e-9))[:, None]
    d2, ra, dr = d2[:, None], ra.astype(np.float32)[:, None], (rb - ra).astype(np.float32)[:, None]
    p = (np.asarray(points, dtype=np.float64) - origin).astype(np.float32)
    q = np.empty((5, len(p)), np.float32)  # rows x, y, z, 1, |q|^2 of every point
    q[:3] = p.T
    q[3] = 1.0
    np.einsum("ij,ij->i", p, p, out=q[4])
    ones = np.ones((len(a), 1), np.float32)
    rank = np.arange(len(a), 0, -1, dtype=np.uint8)[:, None]  # _first_minimum's
    # 2 (q - a).d from x, y, z, 1: doubled in the product (scaling by 2 is exact), not a pass of its own
    to_2s = 2.0 * np.hstack([d, -(a * d).sum(1, keepdims=True)])
    to_dist2 = np.hstack([-2.0 * a, (a * a).sum(1, keepdims=True), ones])  # |q - a|^2 from all five
    # Blocks of points: each value is computed alone, so blocking leaves every label as it
    # was, while the (N, block) temporaries stay in cache instead of being mapped afresh.
    nearest = np.empty(len(p), np.intp)
    # A point metres beyond any hand (a garbage depth such as 1e38 mm) overflows float32 here, as
    # its squared distances did before; every capsule is then equally far and it takes the first
    # one's label, which is as true as any (label > 0 where depth > 0 is what holds).
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, len(p), POINTS_PER_BLOCK):
            block = q[:, start:start + POINTS_PER_BLOCK]
            s = to_2s @ block[:4]  # 2 (q - a).d
            t = s * half_inv_length2  # (q - a).d / |d|^2, bit for bit
            np.clip(t, 0.0, 1.0, out=t)
            dist2 = to_dist2 @ block  # |q - a|^2
            w = t * d2
            s -= w  # |q - a - t d|^2 = |q - a|^2 - t (2 (q - a).d - t |d|^2)
            s *= t
            dist2 -= s
            gap = np.sqrt(np.maximum(dist2, 0.0, out=dist2), out=dist2)
            gap -= ra
            np.multiply(t, dr, out=w)
            gap -= w
            nearest[start:start + block.shape[1]] = _first_minimum(gap, rank)
    return labels[nearest]


def _first_minimum(gap: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """np.argmin(gap, axis=0), the first row of each column's minimum, of a (N, M) float32 array;
    `rank` is N - row, (N, 1) uint8. A column holding a NaN gets row 0 (argmin: the first NaN's).

    Why: numpy's argmin over the first axis copies the array transposed element by element (97 us
    a block of 2048 points, 50 with OpenCV's transpose); this is four passes along the rows (25).
    """
    first = np.equal(gap, np.minimum.reduce(gap, axis=0)).view(np.uint8)  # a NaN column: no row
    first *= rank
    nearest = len(gap) - np.maximum.reduce(first, axis=0).astype(np.intp)
    nearest[nearest == len(gap)] = 0
    return nearest


def finite_depth(depth: np.ndarray) -> np.ndarray:
    """`depth` as float32 through nan_to_num (NaN = no data); the checked depth of a sample (already
    finite) is passed through without nan_to_num's full-frame copies (a ms per sample)."""
    d = np.asarray(depth, dtype=np.float32)
    return d if np.isfinite(d).all() else np.nan_to_num(d)


def labels_of_depth(depth: np.ndarray, joints: np.ndarray, camera: Camera, thickness: float = 1.0,
                    reference: np.ndarray | None = None, content: Box | None = None) -> np.ndarray:
    """Part labels (H, W) uint8 of `depth` (mm, 0 = no data): > 0 exactly where depth > 0.

    `reference` (labels of a clean render of the same pose and camera) is used where it has a
    label and `depth` has data; the pose's skeleton labels the other pixels with data.
    `content` is the depth's content box (engine.frame_box) when the caller has it.
    """
    depth = np.asarray(depth, dtype=np.float32)
    out = np.zeros(depth.shape, np.uint8)
    # Only the box around the hand's pixels: a sample's frame is mostly empty. The content box
    # holds every pixel > 0, NaN and inf included, so the tight box of depth > 0 found in it
    # is the one of the whole frame.
    if content is None:
        content = content_box(depth)
    if content is None:
        return out
    depth = finite_depth(depth[content])
    valid = depth > 0
    rows = np.flatnonzero(valid.any(axis=1))
    if rows.size == 0:
        return out
    cols = np.flatnonzero(valid.any(axis=0))
    tight = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))  # in the content box
    r0, c0 = content[0].start + rows[0], content[1].start + cols[0]
    window = (slice(r0, content[0].start + rows[-1] + 1), slice(c0, content[1].start + cols[-1] + 1))
    depth, valid, box = depth[tight], valid[tight], out[window]
    todo = valid
    if reference is not None:
        ref = np.asarray(reference)[window]
        np.copyto(box, ref, casting="unsafe", where=valid)  # its 0 (no label): labelled below
        todo = valid & (ref == 0)
    v, u = np.divmod(np.flatnonzero(todo), todo.shape[1])  # np.nonzero(todo), in a third of its time
    if len(v):
        points = camera.backproject(u + c0, v + r0, depth[v, u])
        box[v, u] = nearest_part(points, joints, thickness)
    return out


def joint_visibility(depth: np.ndarray, joints: np.ndarray, camera: Camera) -> np.ndarray:
    """(21,) bool: the joint projects into the image onto depth that is not clearly in front of
    it (see OCCLUSION_MARGIN_MM), i.e. a sensor at the camera would see the skin over it."""
    depth = np.asarray(depth)
    uv = np.rint(camera.project(joints)).astype(np.int64)
    h, w = depth.shape
    r = VISIBILITY_WINDOW_PX
    # Every joint's window at once (a gather, not 21 slices): offsets outside the frame read as
    # no data, and the farthest measured depth of a window with none is 0, below any skin.
    offsets = np.arange(-r, r + 1)
    v = uv[:, 1, None, None] + offsets[None, :, None]
    u = uv[:, 0, None, None] + offsets[None, None, :]
    inside = (v >= 0) & (v < h) & (u >= 0) & (u < w)
    # finite_depth on the gathered values alone: the same values as on the whole frame.
    window = np.where(inside, finite_depth(depth[np.clip(v, 0, h - 1), np.clip(u, 0, w - 1)]), 0.0)
    farthest = np.where(window > 0, window, 0.0).max(axis=(1, 2))
    in_frame = (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
    return in_frame & (farthest > 0) & (farthest >= np.asarray(joints)[:, 2] - SKIN_ALLOWANCE_MM)
