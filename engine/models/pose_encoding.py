"""Pose y as an image of its skeleton: what the generator and the discriminator see of the pose.

A convolutional decoder learns a depth image far faster from a picture of where each bone falls
than from 63 numbers, because a bone's pixels and the bone's encoding line up spatially (the
idea behind the heat-map conditioning of pose-guided image generators, e.g. Ma et al., "Pose
Guided Person Image Generation", NeurIPS 2017). Everything here is plain torch, batched and
differentiable, so it runs on the GPU beside the networks.

Projection. A joint y (cube half-sides, engine.data.crop) lands in the 128x128 crop at

    u = 63.5 + du + 64 * (y_x - a * y_z) / (1 + s * y_z)        (v likewise with b, dv)

where the *view* (a, b, s, du, dv) = (c_x / c_z, c_y / c_z, half_cube / c_z, sub-pixel offset of
the cube centre's projection) comes from the crop's transform (`crop_view`). This is the crop
camera's exact pinhole projection up to the window's size rounding (< 0.3 %). The view matters:
the same y seen from a cube centred off the optical axis is seen obliquely, and on 100 simulator
crops re-rendering the same y with its centre moved onto the axis (same distance) gave a mean
silhouette IoU of only 0.80 against the original. A zero view (the default) is the orthographic
projection u = 63.5 + 64 * y_x, for callers that have no camera.

Channels (ENCODING_CHANNELS): for each of the seven parts (palm, five fingers, forearm)
the Gaussian falloff exp(-d^2 / 2 sigma^2) of the pixel's distance d to the part's nearest bone;
for each part the normalised depth (y_z) of that nearest bone point, times its falloff; the pixel
coordinates x, y in [-1, 1]; and s, the perspective strength. sigma shrinks with depth as the
projection does. Bones with a missing (NaN) end joint are skipped.

The forearm has no joint in y, but the depth shows a stub of it (engine.sim.volume draws one
behind the wrist, and real sensors see the arm). Its axis is a function of y: from the wrist,
back along the wrist-to-middle-MCP direction by FOREARM_LENGTH hand lengths, the hand length
estimated from the wrist-to-MCP distances as the renderer does. Drawn as one wide segment.
"""
from __future__ import annotations

import numpy as np
import torch

from engine.data.crop import CROP_SIZE, CropTransform, crop_camera
from engine.hand.anatomy import (
    FOREARM_LENGTH,
    FOREARM_OFFSET,
    FOREARM_RADII,
    HAND_LENGTH_MM,
    NOMINAL_WRIST_TO_MCP_MM,
)
from engine.hand.skeleton import BONES, FINGER_JOINTS, FINGERS

PARTS: tuple[str, ...] = ("palm", *FINGERS, "forearm")

# Segments drawn per part: the kinematic bones, plus the MCP-to-MCP knuckle line that spans the
# palm (the palm is a plate, not four sticks). The thumb's wrist-CMC bone is the thumb's.
_PALM_SEGMENTS = ((0, 5), (0, 9), (0, 13), (0, 17), (5, 9), (9, 13), (13, 17), (1, 5))
FOREARM_END = 21  # index of the virtual joint at the forearm stub's far end
_FOREARM_SEGMENT = (0, FOREARM_END)


def _part_of_bone(bone: tuple[int, int]) -> int:
    parent, child = bone
    for i, finger in enumerate(FINGERS, start=1):
        if child in FINGER_JOINTS[finger] and (parent in FINGER_JOINTS[finger] or finger == "thumb"):
            return i
    return 0


SEGMENTS: tuple[tuple[int, int], ...] = tuple(
    dict.fromkeys([*(b for b in BONES if _part_of_bone(b) != 0), *_PALM_SEGMENTS, _FOREARM_SEGMENT]))
SEGMENT_PARTS: tuple[int, ...] = tuple(
    len(PARTS) - 1 if seg == _FOREARM_SEGMENT else 0 if seg in _PALM_SEGMENTS else _part_of_bone(seg)
    for seg in SEGMENTS)

NUM_PARTS = len(PARTS)
ENCODING_CHANNELS = 2 * NUM_PARTS + 3  # falloff per part, depth per part, x, y, s
VIEW_SIZE = 5  # (a, b, s, du, dv), see the module docstring

# Falloff width at the cube centre's depth, in crop pixels: about the radius of a finger (8-10 mm
# is 4-5 px at the crop's 64 px per 125 mm), a little narrower so neighbouring fingers stay apart.
SIGMA_PX = 3.0
# The forearm stub is two capsules side by side (engine.sim.volume): half its width over a
# finger's radius (~9 mm at FINGER_RADII_MM) widens its falloff.
FOREARM_SIGMA_SCALE = (FOREARM_OFFSET + FOREARM_RADII[0]) * HAND_LENGTH_MM / 9.0
_HALF = CROP_SIZE / 2.0  # 64 px per cube half-side
_PIXEL_CENTRE = (CROP_SIZE - 1) / 2.0  # 63.5


def crop_view(transform: CropTransform) -> np.ndarray:
    """The view (a, b, s, du, dv) of a crop, float32 (5,): see the module docstring."""
    c = np.asarray(transform.centre, dtype=np.float64)
    u_c, v_c = crop_camera(transform).project(c)
    return np.array([c[0] / c[2], c[1] / c[2], transform.half_cube / c[2],
                     u_c - _PIXEL_CENTRE, v_c - _PIXEL_CENTRE], dtype=np.float32)


def crop_coordinates(y: np.ndarray, view: np.ndarray) -> np.ndarray:
    """(N, J, 3) where joints y (N, J, 3) land in their crops: ((u - 63.5) / 64, (v - 63.5) / 64,
    y_z), numpy; the projection of the module docstring. Two crops whose joints land at the same
    places show the same hand, whatever their poses and views are apart (NaN joints stay NaN)."""
    y = np.asarray(y, dtype=np.float64)
    v = np.asarray(view, dtype=np.float64)[:, None, :]
    persp = 1.0 / np.maximum(1.0 + v[..., 2] * y[..., 2], 0.1)
    u = v[..., 3] / _HALF + (y[..., 0] - v[..., 0] * y[..., 2]) * persp
    w = v[..., 4] / _HALF + (y[..., 1] - v[..., 1] * y[..., 2]) * persp
    return np.stack([u, w, y[..., 2]], axis=-1)


def unproject_crop(u: np.ndarray, v: np.ndarray, z: np.ndarray, view: np.ndarray) -> np.ndarray:
    """(M, 3) points in cube half-sides (y's units) of crop pixels (u, v) at normalised depths z,
    for one crop's view (5,): the inverse of the projection in the module docstring."""
    a, b, s, du, dv = (float(x) for x in np.asarray(view, dtype=np.float64))
    z = np.asarray(z, dtype=np.float64)
    stretch = np.maximum(1.0 + s * z, 0.1) / _HALF
    x = (np.asarray(u, dtype=np.float64) - _PIXEL_CENTRE - du) * stretch + a * z
    y = (np.asarray(v, dtype=np.float64) - _PIXEL_CENTRE - dv) * stretch + b * z
    return np.stack([x, y, z], axis=-1)


def unproject_image(z: torch.Tensor, view: torch.Tensor) -> torch.Tensor:
    """(B, H, W, 3) points in cube half-sides of every pixel of crops z (B, 1, H, W) at their
    normalised depths, for views (B, 5): unproject_crop for whole images in torch, differentiable
    in z (the part-label loss moves G's depth through it)."""
    b, _, h, w = z.shape
    a_, b_, s, du, dv = (view[:, i].reshape(b, 1, 1) for i in range(VIEW_SIZE))
    depth = z[:, 0]
    rows = torch.arange(h, dtype=z.dtype, device=z.device).reshape(1, h, 1)
    cols = torch.arange(w, dtype=z.dtype, device=z.device).reshape(1, 1, w)
    stretch = (1.0 + s * depth).clamp_min(0.1) / _HALF
    x = (cols - _PIXEL_CENTRE - du) * stretch + a_ * depth
    y = (rows - _PIXEL_CENTRE - dv) * stretch + b_ * depth
    return torch.stack([x, y, depth], dim=-1)


def project_pose(y: torch.Tensor, view: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Crop pixel coordinates (B, J, 2) of joints y (B, J, 3), and 1 / (1 + s y_z) (B, J)."""
    if view is None:
        view = y.new_zeros(y.shape[0], VIEW_SIZE)
    a, b, s, du, dv = (view[:, i:i + 1] for i in range(VIEW_SIZE))
    persp = 1.0 / (1.0 + s * y[..., 2]).clamp_min(0.1)
    u = _PIXEL_CENTRE + du + _HALF * (y[..., 0] - a * y[..., 2]) * persp
    v = _PIXEL_CENTRE + dv + _HALF * (y[..., 1] - b * y[..., 2]) * persp
    return torch.stack([u, v], dim=-1), persp


def forearm_end(y: torch.Tensor) -> torch.Tensor:
    """(B, 3): the far end of the forearm stub's axis for poses y (B, 21, 3); NaN when unknown."""
    wrist = y[:, 0]
    distal = y[:, 9] - wrist
    distal = distal / distal.norm(dim=-1, keepdim=True).clamp_min(1e-6)
    to_mcp = (y[:, [5, 9, 13, 17]] - wrist[:, None]).norm(dim=-1)  # (B, 4), NaN where missing
    hand_length = torch.nanmean(to_mcp, dim=1) * (HAND_LENGTH_MM / NOMINAL_WRIST_TO_MCP_MM)
    return wrist - distal * (FOREARM_LENGTH * hand_length)[:, None]


def encode_pose(y: torch.Tensor, view: torch.Tensor | None = None, size: int = CROP_SIZE,
                sigma_px: float = SIGMA_PX) -> torch.Tensor:
    """Skeleton image of poses y (B, 21, 3) with optional views (B, 5): (B, ENCODING_CHANNELS, size, size).

    `size` other than CROP_SIZE draws the same picture at another resolution (coordinates scale).
    """
    if y.ndim != 3 or y.shape[1:] != (21, 3):
        raise ValueError(f"pose must be (B, 21, 3), got {tuple(y.shape)}")
    y = torch.cat([y.float(), forearm_end(y.float())[:, None]], dim=1)  # (B, 22, 3)
    finite = torch.isfinite(y).all(dim=-1)
    y = torch.where(finite[..., None], y, torch.zeros_like(y))
    uv, persp = project_pose(y, None if view is None else view.float())
    uv = (uv + 0.5) * (size / CROP_SIZE) - 0.5  # rescale about pixel edges (identity at 128)
    seg = torch.tensor(SEGMENTS, device=y.device)
    p0, p1 = uv[:, seg[:, 0]], uv[:, seg[:, 1]]  # (B, S, 2)
    z0, z1 = y[:, seg[:, 0], 2], y[:, seg[:, 1], 2]
    widen = torch.tensor([FOREARM_SIGMA_SCALE if seg == _FOREARM_SEGMENT else 1.0 for seg in SEGMENTS],
                         device=y.device)
    sg0 = sigma_px * (size / CROP_SIZE) * persp[:, seg[:, 0]] * widen
    sg1 = sigma_px * (size / CROP_SIZE) * persp[:, seg[:, 1]] * widen
    valid = (finite[:, seg[:, 0]] & finite[:, seg[:, 1]]).float()  # (B, S)

    coords = torch.arange(size, device=y.device, dtype=torch.float32)
    qv, qu = torch.meshgrid(coords, coords, indexing="ij")
    q = torch.stack([qu.reshape(-1), qv.reshape(-1)], dim=-1)  # (P, 2)
    d = (p1 - p0)[:, :, None, :]  # (B, S, 1, 2)
    r = q[None, None] - p0[:, :, None, :]  # (B, S, P, 2)
    t = ((r * d).sum(-1) / (d * d).sum(-1).clamp_min(1e-6)).clamp(0.0, 1.0)  # (B, S, P)
    dist2 = ((r - t[..., None] * d) ** 2).sum(-1)
    sigma = sg0[..., None] + t * (sg1 - sg0)[..., None]
    falloff = torch.exp(-0.5 * dist2 / sigma ** 2) * valid[..., None]
    depth = z0[..., None] + t * (z1 - z0)[..., None]

    n, pixels = y.shape[0], size * size
    part_index = torch.tensor(SEGMENT_PARTS, device=y.device)
    intensity = y.new_zeros(n, NUM_PARTS, pixels)
    part_depth = y.new_zeros(n, NUM_PARTS, pixels)
    for part in range(NUM_PARTS):
        members = (part_index == part).nonzero().flatten()
        f = falloff[:, members]
        best, which = f.max(dim=1)  # the part's nearest segment at each pixel
        intensity[:, part] = best
        part_depth[:, part] = depth[:, members].gather(1, which[:, None]).squeeze(1) * best
    grid = (q / (size - 1) * 2.0 - 1.0).t().reshape(1, 2, pixels).expand(n, 2, pixels)
    s = (view[:, 2:3].float() if view is not None else y.new_zeros(n, 1))[:, :, None].expand(n, 1, pixels)
    out = torch.cat([intensity, part_depth, grid, s], dim=1)
    return out.reshape(n, ENCODING_CHANNELS, size, size)
