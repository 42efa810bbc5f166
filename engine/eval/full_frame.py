"""Full-frame metrics: the frame `generate` and the app show, against the simulator's full render.

The crop metrics (engine.eval.metrics) score G's 128² crop. What a user sees is that crop pasted
into the camera's frame (engine.data.paste.paste_crop, with the simulator's render of the same
pose outside the cube), so the frame is scored too, at the camera's resolution:
    iou         silhouette IoU over the whole frame (outside the cube the frame is the
                simulator's by construction, which this includes: see `window_iou`)
    boundary_f  outline F-score at FRAME_BOUNDARY_TOLERANCE_PX: 1 px at full resolution, so
                stair-steps a few pixels tall count as misses
    window_iou  IoU inside the crop window less its hand-over band and less where the reference
                lies nearer than the cube's front face (the paste shows the simulator there
                too): G's pixels alone
Each is a mean over poses with a 95 % confidence interval (normal approximation, 1.96 standard
errors), so a comparison within noise can be told from a win.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.data.crop import BACKGROUND, CropTransform, crop_depth
from engine.data.readers.sim import render_at_crop
from engine.data.paste import BLEND_BAND_CROP_PX, nearer_than_cube, paste_crop
from engine.eval.metrics import boundary_f_score, silhouette_iou
from engine.sim.render import render_hand

FRAME_BOUNDARY_TOLERANCE_PX = 1
FRAME_METRICS = ("iou", "boundary_f", "window_iou")
_MARGIN_PX = 4  # around the hand's bounding box: metrics on it equal those on the whole frame


@dataclass(frozen=True, eq=False)
class FrameRef:
    """What renders an evaluated pose's full frame: joints (21, 3) mm, hand thickness, crop."""

    joints: np.ndarray
    thickness: float
    transform: CropTransform

    def render(self) -> np.ndarray:
        return render_hand(self.joints, self.transform.camera, self.thickness).depth

    def render_crop(self, thickness: float) -> np.ndarray:
        """The clean render of the joints at another hand thickness, straight into the crop
        (128, 128) by the crop convention, as engine.data.readers.sim.crop_sample renders one."""
        render, identity = render_at_crop(self.joints, self.transform, thickness)
        return crop_depth(render.depth, identity)


def _as_crop(depth: np.ndarray) -> np.ndarray:
    """A depth frame's hand mask in the form the crop metrics read (hand 0, background +1)."""
    return np.where(depth > 0, 0.0, BACKGROUND)[None]


def _interior(transform: CropTransform, shape: tuple[int, int]) -> np.ndarray:
    inset = int(math.ceil(BLEND_BAND_CROP_PX * transform.scale))
    m = np.zeros(shape, bool)
    lo_v, lo_u = max(transform.v0 + inset, 0), max(transform.u0 + inset, 0)
    hi_v, hi_u = transform.v0 + transform.size_px - inset, transform.u0 + transform.size_px - inset
    m[lo_v:max(hi_v, lo_v), lo_u:max(hi_u, lo_u)] = True
    return m


def frame_scores(frame: np.ndarray, reference: np.ndarray, transform: CropTransform) -> np.ndarray:
    """(3,) iou, boundary_f, window_iou of a full depth frame against the reference frame (mm)."""
    either = (frame > 0) | (reference > 0)
    if not either.any():
        return np.full(len(FRAME_METRICS), np.nan)
    rows, cols = np.nonzero(either)
    h, w = frame.shape
    box = (slice(max(rows.min() - _MARGIN_PX, 0), min(rows.max() + _MARGIN_PX + 1, h)),
           slice(max(cols.min() - _MARGIN_PX, 0), min(cols.max() + _MARGIN_PX + 1, w)))
    a, b = _as_crop(frame[box]), _as_crop(reference[box])
    inside = _interior(transform, frame.shape)[box] & ~nearer_than_cube(reference[box], transform)
    a_in, b_in = np.where(inside, a, BACKGROUND), np.where(inside, b, BACKGROUND)
    return np.array([silhouette_iou(a, b)[0], boundary_f_score(a, b, FRAME_BOUNDARY_TOLERANCE_PX)[0],
                     silhouette_iou(a_in, b_in)[0]])


def score_frames(crops: np.ndarray, refs: list[FrameRef], references: list[np.ndarray]) -> np.ndarray:
    """(N, 3) frame scores of N crops, each pasted with the simulator's render around it."""
    return np.array([frame_scores(paste_crop(c, r.transform, surround=full), full, r.transform)
                     for c, r, full in zip(crops, refs, references)]).reshape(len(refs), len(FRAME_METRICS))


def summarise(scores: np.ndarray) -> dict:
    """Mean and 95 % confidence interval of each frame metric over the poses that define it."""
    out: dict = {"tolerance_px": FRAME_BOUNDARY_TOLERANCE_PX}
    for k, name in enumerate(FRAME_METRICS):
        v = scores[:, k][np.isfinite(scores[:, k])] if len(scores) else np.zeros(0)
        mean = float(v.mean()) if len(v) else float("nan")
        half = 1.96 * float(v.std(ddof=1)) / math.sqrt(len(v)) if len(v) > 1 else float("nan")
        out[name] = mean
        out[f"{name}_ci95"] = [mean - half, mean + half]
    out["n"] = int(len(scores))
    return out
