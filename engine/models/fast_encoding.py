"""The skeleton encoding of engine.models.pose_encoding, drawn on the CPU in numpy for inference.

`encode_pose` (torch) evaluates every segment's falloff at every pixel: 25 segments x 4,096
pixels at 64x64, with (B, S, P, 2) temporaries, which measured 5-10 ms for one pose on a 2-core
CPU, more than a small network. A bone's falloff exp(-d^2 / 2 sigma^2) is below
exp(-CUTOFF_SIGMAS^2 / 2) (3.7e-6) beyond CUTOFF_SIGMAS sigmas, so here each part is drawn only
inside the bounding box of its bones widened by that many sigmas, all of the part's segments at
once; outside it the channel is 0. The picture is the same as the torch path's (the test
holds them within 1e-4), so G sees the same input whichever path drew it. Training keeps the
torch path (batched, differentiable, on the GPU beside the networks).

From ENCODE_GROUP poses up, each part is drawn for groups of poses at once (_draw_batch), in the
largest of their boxes, with the one-pose path's float32 steps per pixel (the same picture bit
for bit). On one thread that costs what pose by pose does (0.55 against 0.58 ms of CPU per pose
at 32 poses: the padded boxes' extra pixels, 1.4-1.6x, eat the saved calls). It pays beside a
second batch shard (engine.batch_threads), where every numpy call hands the GIL between the
threads: measured on the idle 2-core machine, the encoding of two 32-pose shards cost 0.80
against 1.21 ms of CPU and 1.03 against 1.83 ms of wall time per pose, the batch 356 against 309
img/s. Fewer poses (a live frame, a dataset's block of 8 on a process of its own) are drawn one
by one.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from engine.data.crop import CROP_SIZE
from engine.hand.anatomy import FOREARM_LENGTH, HAND_LENGTH_MM, NOMINAL_WRIST_TO_MCP_MM
from engine.models.pose_encoding import (
    _FOREARM_SEGMENT,
    _HALF,
    _PIXEL_CENTRE,
    ENCODING_CHANNELS,
    FOREARM_SIGMA_SCALE,
    NUM_PARTS,
    SEGMENT_PARTS,
    SEGMENTS,
    SIGMA_PX,
    VIEW_SIZE,
)

CUTOFF_SIGMAS = 5.0  # falloff beyond it < 3.7e-6: drawn as 0 (see the module docstring)
# Poses drawn together per part (_draw_batch). Measured, the bench's batches of 64 as two shards,
# interleaved, idle: 313, 343, 356 and 359 img/s at groups of 4, 8, 16 and 32.
ENCODE_GROUP = 16

_SEG = np.asarray(SEGMENTS, dtype=np.int64)  # (S, 2)
_WIDEN = np.asarray([FOREARM_SIGMA_SCALE if s == _FOREARM_SEGMENT else 1.0 for s in SEGMENTS], np.float32)
_PART_SEGMENTS = tuple(np.flatnonzero(np.asarray(SEGMENT_PARTS) == p) for p in range(NUM_PARTS))


@lru_cache(maxsize=4)
def _coordinate_channels(size: int) -> np.ndarray:
    """The x, y channels (2, size, size) in [-1, 1]: the same for every pose, so made once."""
    c = np.arange(size, dtype=np.float32) / (size - 1) * 2.0 - 1.0
    grid = np.stack(np.broadcast_arrays(c[None, :], c[:, None]))
    grid.setflags(write=False)
    return grid


@lru_cache(maxsize=4)
def _arange(size: int) -> np.ndarray:
    """Pixel coordinates 0 .. size-1 (float32), sliced per part instead of made per call."""
    a = np.arange(size, dtype=np.float32)
    a.setflags(write=False)
    return a


def _forearm_end(y: np.ndarray) -> np.ndarray:
    """(3,) far end of the forearm stub for one pose y (21, 3), as pose_encoding.forearm_end."""
    wrist = y[0]
    distal = y[9] - wrist
    distal = distal / max(float(np.linalg.norm(distal)), 1e-6)
    to_mcp = np.linalg.norm(y[[5, 9, 13, 17]] - wrist, axis=-1)
    with np.errstate(invalid="ignore"):  # every MCP missing: NaN, the segment is skipped
        known = to_mcp[np.isfinite(to_mcp)]
        mean = known.mean() if known.size else np.nan
    hand_length = mean * (HAND_LENGTH_MM / NOMINAL_WRIST_TO_MCP_MM)
    return wrist - distal * (FOREARM_LENGTH * hand_length)


def encode_pose_numpy(y: np.ndarray, view: np.ndarray | None = None, size: int = CROP_SIZE,
                      sigma_px: float = SIGMA_PX) -> np.ndarray:
    """Skeleton image (B, ENCODING_CHANNELS, size, size) float32 of poses y (B, 21, 3) and views
    (B, 5) or None: pose_encoding.encode_pose's picture, drawn per part in its bounding box."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 3 or y.shape[1:] != (21, 3):
        raise ValueError(f"pose must be (B, 21, 3), got {tuple(y.shape)}")
    n = len(y)
    views = np.zeros((n, VIEW_SIZE), np.float32) if view is None else np.asarray(view, np.float32).reshape(n, VIEW_SIZE)
    out = np.zeros((n, ENCODING_CHANNELS, size, size), np.float32)
    out[:, 2 * NUM_PARTS:2 * NUM_PARTS + 2] = _coordinate_channels(size)
    out[:, -1] = views[:, 2, None, None]
    alone = np.arange(n)
    if n >= ENCODE_GROUP:
        joints = np.stack([np.concatenate([p, _forearm_end(p)[None].astype(np.float32)]) for p in y])
        whole = np.isfinite(joints).all(axis=(1, 2))  # a pose with a missing joint is drawn alone
        _draw_batch(out, np.flatnonzero(whole), joints[whole], views[whole], size, sigma_px)
        alone = np.flatnonzero(~whole)
    for i in alone:
        _draw(out[i], y[i], views[i], size, sigma_px)
    return out


def _projected(joints: np.ndarray, views: np.ndarray, size: int, sigma_px: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(u, v, sigma, z) of joints (..., 22, 3) under views (..., 5): each joint's pixel, falloff
    width and depth. The same float32 operations in the same order for one pose or a batch."""
    a, b, s, du, dv = (views[..., k, None] for k in range(VIEW_SIZE))
    # the crop centre plus the offset in float64, rounded once to float32 (as a Python float sum is)
    cu, cv = ((_PIXEL_CENTRE + d.astype(np.float64)).astype(np.float32) for d in (du, dv))
    z = joints[..., 2]
    persp = 1.0 / np.maximum(1.0 + s * z, 0.1)
    scale = size / CROP_SIZE
    u = ((cu + _HALF * (joints[..., 0] - a * z) * persp) + 0.5) * scale - 0.5
    v = ((cv + _HALF * (joints[..., 1] - b * z) * persp) + 0.5) * scale - 0.5
    return u, v, (sigma_px * scale) * persp, z


def _draw_batch(out: np.ndarray, rows: np.ndarray, joints: np.ndarray, views: np.ndarray, size: int,
                sigma_px: float) -> None:
    """_draw of many poses whose joints (N, 22, 3), forearm end last, are all finite, into
    out[rows]: each part drawn for ENCODE_GROUP of them at a time (poses of similar boxes
    together) in the largest of their boxes, then each pose's own box kept. Every pixel is the
    same float32 arithmetic as _draw's, so the picture is _draw's bit for bit
    (tests/test_fast_encoding.py); what it saves is numpy calls (module docstring)."""
    u, v, sigma, z = _projected(joints, views, size, sigma_px)
    i0, i1 = _SEG[:, 0], _SEG[:, 1]
    sg0, sg1 = sigma[:, i0] * _WIDEN, sigma[:, i1] * _WIDEN
    reach = CUTOFF_SIGMAS * np.maximum(sg0, sg1)
    lo_u = np.minimum(u[:, i0], u[:, i1]) - reach
    hi_u = np.maximum(u[:, i0], u[:, i1]) + reach
    lo_v = np.minimum(v[:, i0], v[:, i1]) - reach
    hi_v = np.maximum(v[:, i0], v[:, i1]) + reach
    for part, members in enumerate(_PART_SEGMENTS):
        c0 = np.maximum(np.ceil(lo_u[:, members].min(axis=1)).astype(np.int64), 0)
        c1 = np.minimum(np.floor(hi_u[:, members].max(axis=1)).astype(np.int64), size - 1)
        r0 = np.maximum(np.ceil(lo_v[:, members].min(axis=1)).astype(np.int64), 0)
        r1 = np.minimum(np.floor(hi_v[:, members].max(axis=1)).astype(np.int64), size - 1)
        drawn = np.flatnonzero((c0 <= c1) & (r0 <= r1))
        # poses of similar boxes together: each group is drawn in its own largest box
        drawn = drawn[np.argsort((c1[drawn] - c0[drawn] + 1) * (r1[drawn] - r0[drawn] + 1), kind="stable")]
        for start in range(0, len(drawn), ENCODE_GROUP):
            group = drawn[start:start + ENCODE_GROUP]
            _draw_part(out, rows[group], part, members, u[group], v[group], z[group], sg0[group], sg1[group],
                       c0[group], c1[group], r0[group], r1[group])


def _draw_part(out: np.ndarray, rows: np.ndarray, part: int, members: np.ndarray, u: np.ndarray, v: np.ndarray,
               z: np.ndarray, sg0: np.ndarray, sg1: np.ndarray, c0: np.ndarray, c1: np.ndarray, r0: np.ndarray,
               r1: np.ndarray) -> None:
    """One part of poses out[rows] (their u, v, z per joint, sg0, sg1 per segment, boxes c0..c1 x
    r0..r1), all drawn in the largest of the boxes, each pose's own box kept."""
    width, height = int((c1 - c0).max()) + 1, int((r1 - r0).max()) + 1
    i0, i1 = _SEG[members, 0], _SEG[members, 1]
    p0u, p0v = u[:, i0, None, None], v[:, i0, None, None]  # (P, S, 1, 1)
    du_, dv_ = u[:, i1, None, None] - p0u, v[:, i1, None, None] - p0v
    ru = (c0[:, None] + np.arange(width)).astype(np.float32)[:, None, None, :] - p0u  # (P, S, 1, W)
    rv = (r0[:, None] + np.arange(height)).astype(np.float32)[:, None, :, None] - p0v  # (P, S, H, 1)
    t, falloff = _segment_falloff(ru, rv, du_, dv_, sg0[:, members, None, None], sg1[:, members, None, None])
    z0, step = z[:, i0, None, None], z[:, i1, None, None] - z[:, i0, None, None]
    if len(members) > 1:  # the part's nearest segment at each pixel, as _draw's; its depth only
        which = falloff.argmax(axis=1)[:, None]
        best = np.take_along_axis(falloff, which, axis=1)[:, 0]
        t = np.take_along_axis(t, which, axis=1)[:, 0]
        z0, step = (np.take_along_axis(np.broadcast_to(a, falloff.shape), which, axis=1)[:, 0] for a in (z0, step))
    else:
        best, t, z0, step = falloff[:, 0], t[:, 0], z0[:, 0], step[:, 0]
    depth = t * step  # _draw's t * (z1 - z0) + z0, at the pixels kept
    depth += z0
    depth *= best
    for k, row in enumerate(rows):
        box = slice(r0[k], r1[k] + 1), slice(c0[k], c1[k] + 1)
        h, w = r1[k] - r0[k] + 1, c1[k] - c0[k] + 1
        out[row, part][box] = best[k, :h, :w]
        out[row, NUM_PARTS + part][box] = depth[k, :h, :w]


def _segment_falloff(ru: np.ndarray, rv: np.ndarray, du: np.ndarray, dv: np.ndarray, g0: np.ndarray,
                     g1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(t, falloff) of pixels offset (ru, rv) from segments' first ends, the segments (du, dv) long
    with falloff widths g0..g1: t the pixel's position along its segment, clipped to it, and the
    Gaussian of its distance. One pose's parts and a group's share it, so both draw the same
    float32 steps (the batch picture is the one-pose picture bit for bit)."""
    t = ru * du + rv * dv
    t *= 1.0 / np.maximum(du * du + dv * dv, 1e-6)
    np.clip(t, 0.0, 1.0, out=t)
    eu, ev = ru - t * du, rv - t * dv
    sig = g0 + t * (g1 - g0)
    falloff = eu * eu
    falloff += ev * ev
    falloff /= sig * sig
    falloff *= -0.5
    np.exp(falloff, out=falloff)
    return t, falloff


def _draw(out: np.ndarray, y: np.ndarray, view: np.ndarray, size: int, sigma_px: float) -> None:
    """Falloff and depth channels of one pose into out (C, size, size), zeros beforehand."""
    joints = np.concatenate([y, _forearm_end(y)[None].astype(np.float32)])  # (22, 3)
    finite = np.isfinite(joints).all(axis=1)
    joints = np.where(finite[:, None], joints, np.float32(0.0))
    u, v, sigma, z = _projected(joints, view, size, sigma_px)
    i0, i1 = _SEG[:, 0], _SEG[:, 1]
    valid = finite[i0] & finite[i1]
    sg0, sg1 = sigma[i0] * _WIDEN, sigma[i1] * _WIDEN
    reach = CUTOFF_SIGMAS * np.maximum(sg0, sg1)
    lo_u = np.minimum(u[i0], u[i1]) - reach
    hi_u = np.maximum(u[i0], u[i1]) + reach
    lo_v = np.minimum(v[i0], v[i1]) - reach
    hi_v = np.maximum(v[i0], v[i1]) + reach
    for part, members in enumerate(_PART_SEGMENTS):
        members = members[valid[members]]
        if not members.size:
            continue
        c0 = max(int(np.ceil(lo_u[members].min())), 0)
        c1 = min(int(np.floor(hi_u[members].max())), size - 1)
        r0 = max(int(np.ceil(lo_v[members].min())), 0)
        r1 = min(int(np.floor(hi_v[members].max())), size - 1)
        if c0 > c1 or r0 > r1:
            continue
        p0u, p0v = u[i0[members]][:, None, None], v[i0[members]][:, None, None]
        du_, dv_ = u[i1[members]][:, None, None] - p0u, v[i1[members]][:, None, None] - p0v
        ru = _arange(size)[None, None, c0:c1 + 1] - p0u  # (S, 1, W)
        rv = _arange(size)[None, r0:r1 + 1, None] - p0v  # (S, H, 1)
        t, falloff = _segment_falloff(ru, rv, du_, dv_, sg0[members][:, None, None], sg1[members][:, None, None])
        z0, z1 = z[i0[members]][:, None, None], z[i1[members]][:, None, None]
        depth = t
        depth *= z1 - z0
        depth += z0
        if len(members) > 1:  # the part's nearest segment at each pixel, as the torch path's max
            which = falloff.argmax(axis=0).ravel()
            flat = np.arange(which.size)
            best = falloff.reshape(len(members), -1)[which, flat].reshape(falloff.shape[1:])
            depth = depth.reshape(len(members), -1)[which, flat].reshape(best.shape)
        else:
            best, depth = falloff[0], depth[0]
        out[part, r0:r1 + 1, c0:c1 + 1] = best
        np.multiply(depth, best, out=out[NUM_PARTS + part, r0:r1 + 1, c0:c1 + 1])
