"""The skeleton encoding of engine.models.pose_encoding, drawn on the CPU in numpy for inference.

`encode_pose` (torch) evaluates every segment's falloff at every pixel: 25 segments x 4,096
pixels at 64x64, with (B, S, P, 2) temporaries, which measured 5-10 ms for one pose on a 2-core
CPU, more than a small network. A bone's falloff exp(-d^2 / 2 sigma^2) is below
exp(-CUTOFF_SIGMAS^2 / 2) (3.7e-6) beyond CUTOFF_SIGMAS sigmas, so here each part is drawn only
inside the bounding box of its bones widened by that many sigmas, all of the part's segments at
once; outside it the channel is 0. The picture is the same as the torch path's (the test
holds them within 1e-4), so G sees the same input whichever path drew it. Training keeps the
torch path (batched, differentiable, on the GPU beside the networks).
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
    for i in range(n):
        _draw(out[i], y[i], views[i], size, sigma_px)
    return out


def _draw(out: np.ndarray, y: np.ndarray, view: np.ndarray, size: int, sigma_px: float) -> None:
    """Falloff and depth channels of one pose into out (C, size, size), zeros beforehand."""
    joints = np.concatenate([y, _forearm_end(y)[None].astype(np.float32)])  # (22, 3)
    finite = np.isfinite(joints).all(axis=1)
    joints = np.where(finite[:, None], joints, np.float32(0.0))
    a, b, s, du, dv = (float(v) for v in view)
    z = joints[:, 2]
    persp = 1.0 / np.maximum(1.0 + s * z, 0.1)
    scale = size / CROP_SIZE
    u = ((_PIXEL_CENTRE + du + _HALF * (joints[:, 0] - a * z) * persp) + 0.5) * scale - 0.5
    v = ((_PIXEL_CENTRE + dv + _HALF * (joints[:, 1] - b * z) * persp) + 0.5) * scale - 0.5
    sigma = (sigma_px * scale) * persp
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
        t = ru * du_ + rv * dv_
        t *= 1.0 / np.maximum(du_ * du_ + dv_ * dv_, 1e-6)
        np.clip(t, 0.0, 1.0, out=t)
        eu, ev = ru - t * du_, rv - t * dv_
        g0, g1 = sg0[members][:, None, None], sg1[members][:, None, None]
        sig = g0 + t * (g1 - g0)
        falloff = eu * eu
        falloff += ev * ev
        falloff /= sig * sig
        falloff *= -0.5
        np.exp(falloff, out=falloff)
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
