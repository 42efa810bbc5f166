"""Part labels and joint visibility judged from a depth image that was actually written.

Why: a generator's or a style's depth has its own silhouette (G's differs from the simulator's
at IoU ~0.94; a sensor model drops and adds edge pixels), so labels copied from a clean render
would describe another image. Here every pixel with depth gets the part of the nearest capsule
of the pose's own skeleton, measured in 3D on the back-projected pixel (so a finger in front of
the palm keeps its label), and only pixels with depth get a label: label > 0 == depth > 0.
Where a clean render of the same pose is at hand (the simulator source), its exact labels are
kept on the pixels it covers and the skeleton only labels the rest.
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
# Points per block in nearest_part: ~24 capsules x 4096 points x 4 B = 400 kB a temporary, which
# stays in the CPU cache (a generator dataset's labels: 4.0 ms CPU a frame against 4.8 unblocked).
POINTS_PER_BLOCK = 4096


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


def _capsules(joints: np.ndarray, thickness: float) -> tuple[np.ndarray, ...]:
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
    """Part label (uint8) of the capsule whose surface is nearest each point (M, 3) mm."""
    a, b, ra, rb, labels = (x.astype(np.float32) if x.dtype != np.uint8 else x
                            for x in _capsules(joints, thickness))
    p = np.asarray(points, dtype=np.float32)
    d = b - a
    inv_length2 = 1.0 / np.maximum((d * d).sum(1), 1e-9)
    # Blocks of points: each value is computed alone, so blocking leaves every label as it
    # was, while the (block, N) temporaries stay in cache instead of being mapped afresh.
    nearest = np.empty(len(p), np.intp)
    for start in range(0, len(p), POINTS_PER_BLOCK):
        q = p[start:start + POINTS_PER_BLOCK]
        # Per axis, (M, N) arrays: three 2D passes are far cheaper than one (M, N, 3) pass.
        rel = [q[:, k, None] - a[None, :, k] for k in range(3)]
        t = np.clip((rel[0] * d[:, 0] + rel[1] * d[:, 1] + rel[2] * d[:, 2]) * inv_length2, 0.0, 1.0)
        dist2 = sum((rel[k] - t * d[:, k]) ** 2 for k in range(3))
        gap = np.sqrt(dist2) - (ra + t * (rb - ra))
        nearest[start:start + len(q)] = np.argmin(gap, axis=1)
    return labels[nearest]


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
        known = valid & (ref > 0)
        box[known] = ref[known]
        todo = valid & ~known
    v, u = np.nonzero(todo)
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
