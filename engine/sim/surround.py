"""The simulator's depth around a generated crop: the full render's bytes wherever a paste reads
them, without drawing what the crop covers (`render_surround`), and the part labels that go
with them (a generator sample keeps them where the paste shows this render, engine.data.paste).

Why: with the generator as the source, a frame renders the simulator only to continue the
forearm outside G's window (engine.data.paste). Deep inside the window, where G has its full
weight, the paste reads the surround only where it lies outside the cube's depth (behind its back
face, or in front of its front face); the fingers and the palm drawn there (about two thirds of a
render's pixel work) are never seen. So the spheres and palm faces wholly inside that region and
wholly between the two faces are skipped, which changes the z-buffer only on their own pixels,
and the rest is the full render bit for bit (each primitive's pixels are computed alone, and the
z-buffer keeps a minimum, whose order does not matter).

What keeps it exact around the skipped pixels:
- Notch closing (engine.sim.render.close_notches) moves a difference at most one pixel a pass.
  The skipped primitives stay MARGIN_PX inside the region, and a render whose closing takes
  more passes than that is drawn whole instead (random poses take at most 4).
- A surface outside the cube's depth near a skipped primitive (one it would hide behind the back
  face, or one whose notch fills it would change in front of the front face): if anything that
  far or that near is drawn near the skipped primitives, they are drawn too (the full render; a
  forearm pointing away behind the hand, or at the camera).
"""
from __future__ import annotations

import numpy as np

from engine.camera import Camera
from engine.sim.render import (DEPTH_QUANTUM_MM, _EMPTY, _LABEL_BITS, _finish, _splat_spheres,
                               _splat_triangles, _visible, _zbuffer, render_volume)
from engine.sim.volume import build_hand_volume

# Pixels between a skipped primitive and the edge of the region where its pixels go unread: more
# than the notch passes of any render seen (4 of 1,500 random poses' renders took the most, 4).
MARGIN_PX = 8
# A primitive is skipped only when its farthest point lies this much in front of the back face
# and its nearest this much behind the front face (depth quantisation and float32 rounding move a
# depth by far less).
FAR_TOLERANCE_MM = 1.0


def render_surround(joints: np.ndarray, camera: Camera, thickness: float,
                    unread: tuple[int, int, int, int] | None,
                    front_face_mm: float, back_face_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """(depth float32 mm, part labels uint8): the depth equal to `render_hand(joints, camera,
    thickness).depth` outside `unread` (u_lo, v_lo, u_hi, v_hi, inclusive; None: nowhere), and
    inside it at every pixel where either lies behind `back_face_mm` or in front of
    `front_face_mm`; elsewhere inside it, whatever lies behind the skipped primitives
    (engine.data.paste.unread_region says where a paste does not look). The labels equal the full
    render's outside `unread` (a pixel's depth and label are one z-buffer key, so they differ only
    where the depth may)."""
    volume = build_hand_volume(np.asarray(joints, dtype=np.float64), thickness)
    c, r, lab, faces = _visible(volume)
    if unread is None or len(r) == 0:
        return render_volume(volume, camera)
    zb, (u0, v0, side) = _zbuffer(c, r, camera)
    lo_u, lo_v = unread[0] + MARGIN_PX, unread[1] + MARGIN_PX
    hi_u, hi_v = unread[2] - MARGIN_PX, unread[3] - MARGIN_PX
    near, far = front_face_mm + FAR_TOLERANCE_MM, back_face_mm - FAR_TOLERANCE_MM
    skip = ((u0 >= lo_u) & (u0 + side - 1 <= hi_u) & (v0 >= lo_v) & (v0 + side - 1 <= hi_v)
            & (c[:, 2] + r < far) & (c[:, 2] - r > near))
    # A face draws only inside the box of its corners' projections (floor to ceil), on its plane a
    # little past its edges (2 % of its extent): its corners' depth span bounds that.
    uv, z = camera.project(faces), faces[:, :, 2]
    z_pad = 0.1 * (z.max(1) - z.min(1))
    skip_face = ((np.floor(uv[:, :, 0].min(1)) >= lo_u) & (np.ceil(uv[:, :, 0].max(1)) <= hi_u)
                 & (np.floor(uv[:, :, 1].min(1)) >= lo_v) & (np.ceil(uv[:, :, 1].max(1)) <= hi_v)
                 & (z.max(1) + z_pad < far) & (z.min(1) - z_pad > near))
    keep = ~skip
    _splat_spheres(zb, c[keep], r[keep], lab[keep], (u0[keep], v0[keep], side[keep]))
    _splat_triangles(zb, faces[~skip_face], volume.triangle_label)
    if (skip.any() or skip_face.any()) and _outside_near(zb, near, far, u0[skip], v0[skip], side[skip],
                                                          uv[skip_face]):
        _splat_spheres(zb, c[skip], r[skip], lab[skip], (u0[skip], v0[skip], side[skip]))
        _splat_triangles(zb, faces[skip_face], volume.triangle_label)
    depth, labels, passes = _finish(zb)
    if passes > MARGIN_PX:
        return render_volume(volume, camera)
    return depth, labels


def _outside_near(zb, near_mm: float, far_mm: float, u0: np.ndarray, v0: np.ndarray, side: np.ndarray,
                  uv: np.ndarray) -> bool:
    """Whether the z-buffer holds a surface behind `far_mm` or in front of `near_mm` within
    MARGIN_PX + 1 of the skipped primitives' blocks (a surface they might hide, or whose pixels a
    notch fill next to them might change)."""
    lo = np.concatenate([u0, np.floor(uv[:, :, 0].min(1))]), np.concatenate([v0, np.floor(uv[:, :, 1].min(1))])
    hi = (np.concatenate([u0 + side - 1, np.ceil(uv[:, :, 0].max(1))]),
          np.concatenate([v0 + side - 1, np.ceil(uv[:, :, 1].max(1))]))
    pad = MARGIN_PX + 1
    cols = slice(max(int(lo[0].min()) - pad - zb.u0, 0), max(int(hi[0].max()) + pad + 1 - zb.u0, 0))
    rows = slice(max(int(lo[1].min()) - pad - zb.v0, 0), max(int(hi[1].max()) + pad + 1 - zb.v0, 0))
    keys = zb.keys.reshape(zb.height, zb.width)[rows, cols]
    far_key = int(np.ceil(far_mm / DEPTH_QUANTUM_MM)) << _LABEL_BITS
    near_key = int(np.floor(near_mm / DEPTH_QUANTUM_MM)) << _LABEL_BITS
    return bool((((keys >= far_key) | (keys < near_key)) & (keys != _EMPTY)).any())
