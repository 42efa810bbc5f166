"""What the depth view shows for a frame, Qt-free: one panel, or A/B's three.

A/B mode is "G | G + style | the style image". The style image is a picture of another camera's
hand at its own distance and size; the view's levels are fixed around this scene's hand, so the
image is shifted in depth to meet the hand (its nearest depths on the hand's) and scaled into
the hand's window. It is for looking at the look only; the title says how far it was shifted.
"""
from __future__ import annotations

import cv2
import numpy as np

from app.crop_window import crop_window
from engine.runtime import FrameResult

Panels = list[tuple[str, np.ndarray]]
NEAREST_PERCENTILE = 1.0  # "the nearest depth", robust to a few stray pixels


def frame_panels(result: FrameResult, single: tuple[str, np.ndarray], style_title: str,
                 reference: np.ndarray | None, compare: bool, crop: bool) -> Panels:
    """The (title, depth mm) panels of `result`: `single` alone, or A/B's three when `compare`
    and the frame has G's depth. Without a style image, the third panel is the simulator."""
    t = result.transform
    window = (t.v0, t.u0, t.size_px)
    if not (compare and result.generated is not None):
        images = [single]
    else:
        images = [("generator", result.generated), (f"generator · {style_title}", result.depth)]
    if crop:
        images = [(title, crop_window(d, *window)) for title, d in images]
    if len(images) == 1:
        return images
    frame = images[1][1]
    if reference is None:
        third = result.simulator if not crop else crop_window(result.simulator, *window)
        return [*images, (f"simulator · {style_title}", third)]
    box = (0, 0, frame.shape[0], frame.shape[1]) if crop else (t.v0, t.u0, t.size_px, t.size_px)
    panel, shift = style_panel(reference, frame, box)
    return [*images, (f"style image · {style_title} ({shift:+.0f} mm)", panel)]


def crop_outline(result: FrameResult, crop: bool) -> tuple[int, int, int] | None:
    """Where the crop lies in the full frame (left u, top v, side px); None in crop mode, where
    the panels show the crop itself."""
    t = result.transform
    return None if crop else (t.u0, t.v0, t.size_px)


def style_panel(reference: np.ndarray, frame: np.ndarray, box: tuple[int, int, int, int]
                ) -> tuple[np.ndarray, float]:
    """(`reference` shifted in depth to `frame`'s hand and fitted, centred, into `box` (top,
    left, height, width) of an empty image of `frame`'s shape; the shift in mm)."""
    out = np.zeros(frame.shape, np.float32)
    top, left, height, width = box
    ref_valid, frame_valid = reference > 0, frame > 0
    shift = 0.0
    if ref_valid.any() and frame_valid.any():
        shift = float(np.percentile(frame[frame_valid], NEAREST_PERCENTILE)
                      - np.percentile(reference[ref_valid], NEAREST_PERCENTILE))
    shifted = np.where(ref_valid, reference + shift, 0.0).astype(np.float32)
    scale = min(height / shifted.shape[0], width / shifted.shape[1])
    size = (max(1, round(shifted.shape[1] * scale)), max(1, round(shifted.shape[0] * scale)))
    fitted = cv2.resize(shifted, size, interpolation=cv2.INTER_NEAREST)  # never blends a hole
    v0 = top + (height - fitted.shape[0]) // 2
    u0 = left + (width - fitted.shape[1]) // 2
    # Clip to the image: in full-frame mode the hand's window may reach past the border.
    rv, ru = max(v0, 0), max(u0, 0)
    bv, bu = min(v0 + fitted.shape[0], out.shape[0]), min(u0 + fitted.shape[1], out.shape[1])
    if bv > rv and bu > ru:
        out[rv:bv, ru:bu] = fitted[rv - v0:bv - v0, ru - u0:bu - u0]
    return out, shift
