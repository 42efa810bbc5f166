"""A generated crop back in the camera's frame: no blocks, no cut edge (`paste_crop`).

The crop is 128² and the frame window it covers is usually larger (a hand at 600 mm in a 640x480
Kinect frame: ~198 px, scale ~1.5; nearer, 3 and more). Two things went wrong when the crop was
pasted by nearest neighbour and nothing else:

1. Stair-steps. Every crop pixel became a k x k block, so the outline ran in k-px steps.
   Here the silhouette is a soft mask: the crop's hand mask, smoothed by a Gaussian of
   MASK_SIGMA_CROP_PX (an anti-aliasing estimate of where the outline runs between crop pixel
   centres), bilinearly resampled at every frame pixel and thresholded at 0.5. Depth inside is
   interpolated bilinearly from the hand's own crop pixels only (normalised by their weights, so
   the background's +1 never leaks in), and where the hand pixels around the nearest crop pixel
   (its 3x3 neighbourhood) span more than DEPTH_STEP_MM (a finger over the palm, an occluding
   edge) that nearest pixel's depth is taken instead: interpolating across a depth step would
   invent flying pixels at depths where no surface is, which is why the crop convention samples
   by nearest neighbour in the first place.
2. A cut edge. The crop ends at the cube (x, y and depth): the forearm stopped in a straight
   line at the window's border. G cannot draw what its cube does not hold, so the frame takes
   that part from the simulator's render of the same pose (`surround`) — the app and `generate`
   render it for every frame anyway, as the A/B reference — and hands over from G to it across a
   band BLEND_BAND_CROP_PX wide inside the window's border (a linear ramp of G's weight from 1 to
   0), and everywhere the simulator's surface lies behind the cube's back face or in front of its
   front face (a forearm pointing at the camera: the crop clips it to the front face, so G can only
   draw it there as a flat plate; about one random pose in eight). Why not fade the
   forearm out: a depth frame has no alpha, so a fade is a cut edge made ragged; and a G trained
   on a larger window is a training change, not a paste. What is G's and what is the simulator's
   is therefore fixed by geometry alone: G inside the cube (ramped at its border), the
   simulator outside. Full-frame metrics that include the outside say so (engine.eval.evaluate
   reports the window alone too).

Without `surround`, or when G drew no hand at all, the paste is G's alone: zero (no data)
outside the window (the simulator's forearm alone would pass for a hand G never drew).
"""
from __future__ import annotations

import cv2
import numpy as np

from engine.data.crop import CROP_SIZE, PASTE_BACKGROUND_MIN, CropTransform

# Gaussian sigma (crop px) on the hand mask before resampling: smooths the crop's 1-px staircase
# so the 0.5 level runs near the outline the crop samples; 0.7 keeps a 1-px wide line above the
# threshold (erf(1 / (2 * sqrt(2) * 0.7)) = 0.52), so a thin finger is not erased, while an
# isolated single pixel (peak 0.27) drops out as a speck. Of 0, 0.35, 0.5 and 0.7 it gave G's cut
# output the best window IoU on the calibration seed's poses (engine.seeds; never the test seed),
# and 1.0 did no better on the simulator's own crops there.
MASK_SIGMA_CROP_PX = 0.7
# Hand crop pixels in one 3x3 neighbourhood whose depths span more than this are across a depth
# step, not on one surface: the neighbourhood is ~4 mm wide (250 mm / 128 per pixel), so one
# surface tilted up to ~70° stays below it, while a finger on the palm (>= 15 mm thick) exceeds it.
DEPTH_STEP_MM = 12.0
# Band (crop px) inside the window's border over which G hands the frame over to the simulator.
BLEND_BAND_CROP_PX = 8.0


def _window(transform: CropTransform) -> tuple[slice, slice] | None:
    cam = transform.camera
    u_lo, u_hi = max(transform.u0, 0), min(transform.u0 + transform.size_px, cam.width)
    v_lo, v_hi = max(transform.v0, 0), min(transform.v0 + transform.size_px, cam.height)
    if u_lo >= u_hi or v_lo >= v_hi:
        return None
    return slice(v_lo, v_hi), slice(u_lo, u_hi)


def upsample_crop(crop: np.ndarray, transform: CropTransform) -> tuple[np.ndarray, np.ndarray, tuple[slice, slice] | None]:
    """G's crop at frame resolution inside its window: (depth mm, 0 where G has no hand pixel
    near; soft hand mask in [0, 1]; the window's (rows, cols) in the frame, None if off-frame).

    cv2.resize maps frame pixel u to crop coordinate (u - u0 + 0.5) / scale - 0.5, which is step
    4 of the crop convention inverted, so the whole window is resampled at once.
    """
    c = np.asarray(crop, dtype=np.float32)
    if c.shape != (CROP_SIZE, CROP_SIZE):
        raise ValueError(f"crop must be {CROP_SIZE}x{CROP_SIZE}, got shape {c.shape}")
    window = _window(transform)
    if window is None:
        return np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32), None
    rows, cols = window
    inside = (slice(rows.start - transform.v0, rows.stop - transform.v0),
              slice(cols.start - transform.u0, cols.stop - transform.u0))
    size = (transform.size_px, transform.size_px)

    def resized(img: np.ndarray, how: int) -> np.ndarray:
        return cv2.resize(img, size, interpolation=how)[inside]

    hand = c < PASTE_BACKGROUND_MIN
    h = hand.astype(np.float32)
    z = np.where(hand, transform.centre[2] + np.clip(c, -1.0, 1.0) * transform.half_cube, 0.0).astype(np.float32)
    soft = resized(cv2.GaussianBlur(h, (0, 0), MASK_SIGMA_CROP_PX, borderType=cv2.BORDER_REPLICATE), cv2.INTER_LINEAR)
    # Bilinear over the hand's own crop pixels (weights renormalised), nearest across a depth step.
    weight = resized(h, cv2.INTER_LINEAR)
    has = weight > 1e-6
    depth = resized(z, cv2.INTER_LINEAR) / np.where(has, weight, 1.0)
    big = np.float32(1e9)
    near = np.ones((3, 3), np.uint8)  # a crop pixel and the neighbours a bilinear sample may mix with it
    top = cv2.dilate(np.where(hand, z, -big), near)
    front = -cv2.dilate(np.where(hand, -z, -big), near)  # the nearest-to-camera hand depth around
    spread = np.where(top > -big, top - front, 0.0).astype(np.float32)
    # A background crop pixel stands for the front-most hand pixel next to it.
    filled = np.where(hand, z, np.where(front < big, front, 0.0)).astype(np.float32)
    step = resized(spread, cv2.INTER_NEAREST_EXACT) > DEPTH_STEP_MM
    depth = np.where(has, np.where(step, resized(filled, cv2.INTER_NEAREST_EXACT), depth), 0.0)
    return depth.astype(np.float32), soft, window


def _band_weight(transform: CropTransform, rows: slice, cols: slice) -> np.ndarray:
    """G's weight in its window: 0 at the window's border, 1 from BLEND_BAND_CROP_PX inside."""
    band = np.float32(BLEND_BAND_CROP_PX * transform.scale)
    last = transform.size_px - 1

    def inset(lo: int, hi: int, start: int) -> np.ndarray:
        p = np.arange(lo - start, hi - start, dtype=np.float32)
        return np.minimum(p, last - p) + np.float32(0.5)

    d = np.minimum.outer(inset(rows.start, rows.stop, transform.v0), inset(cols.start, cols.stop, transform.u0))
    return np.minimum(d / band, np.float32(1.0))


def back_face_mm(transform: CropTransform) -> float:
    """Depth (mm) of the cube's back face as the paste sees it: a surround surface behind it is
    one G cannot have drawn."""
    return float(transform.centre[2] + PASTE_BACKGROUND_MIN * transform.half_cube)


def front_face_mm(transform: CropTransform) -> float:
    """Depth (mm) of the cube's front face, where the crop clips what lies nearer (-1): a
    surround surface in front of it is one G cannot have drawn at its depth."""
    return float(transform.centre[2] - transform.half_cube)


def nearer_than_cube(depth: np.ndarray, transform: CropTransform) -> np.ndarray:
    """Where a depth frame (mm, 0 = no data) has a surface in front of the cube's front face:
    there `paste_crop` shows the surround, not G (and full-frame metrics of G's own pixels leave
    it out, engine.eval.full_frame)."""
    return (depth > 0) & (depth < front_face_mm(transform))


def unread_region(transform: CropTransform) -> tuple[int, int, int, int] | None:
    """Frame pixels (u_lo, v_lo, u_hi, v_hi, inclusive) where `paste_crop` reads the surround
    only where it lies behind `back_face_mm` or in front of `front_face_mm` (None: nowhere), so a
    render of the surround may skip what lies wholly between them there (engine.sim.surround).

    Why: there G's band weight is 1, and at weight 1 the result is G's depth or no data whatever
    the surround holds, unless the surround's surface lies outside the cube's depth (then the
    weight drops to 0 and the surround is shown: behind the back face where G has no hand, in
    front of the front face everywhere). Kept a pixel inside the band's exact edge, so float
    rounding in `_band_weight` cannot reach it.
    """
    window = _window(transform)
    if window is None:
        return None
    rows, cols = window
    inset = int(np.ceil(BLEND_BAND_CROP_PX * transform.scale + 0.5))  # inset + 0.5 >= band + 1
    lo_u, hi_u = max(transform.u0 + inset, cols.start), min(transform.u0 + transform.size_px - 1 - inset, cols.stop - 1)
    lo_v, hi_v = max(transform.v0 + inset, rows.start), min(transform.v0 + transform.size_px - 1 - inset, rows.stop - 1)
    if lo_u > hi_u or lo_v > hi_v:
        return None
    return lo_u, lo_v, hi_u, hi_v


def surround_labels(labels: np.ndarray, transform: CropTransform) -> np.ndarray:
    """The surround render's part labels (H, W) where `paste_crop` copies its depth unchanged:
    outside G's window, 0 inside it (a new array).

    Why: a generator sample's labels are judged from its own pixels (engine.sample_labels), but
    outside the window its pixels are the render's own, whose exact labels come with them, so the
    skeleton needs to label only what lies in the window (engine.sample_frames)."""
    out = np.array(labels, dtype=np.uint8)
    window = _window(transform)
    if window is not None:
        out[window] = 0
    return out


def paste_crop(crop: np.ndarray, transform: CropTransform, surround: np.ndarray | None = None) -> np.ndarray:
    """A normalised crop as a full frame of float32 mm (0 = no data); see the module docstring.

    `surround`: the simulator's depth of the same pose in the same camera (mm, 0 = no data),
    shown where the cube cannot hold the hand and blended in across the window's border band.
    """
    cam = transform.camera
    g_depth, g_soft, window = upsample_crop(crop, transform)
    g_hand = (g_soft >= 0.5) & (g_depth > 0)
    if surround is None or not g_hand.any():  # a G that drew no hand: no forearm to continue
        out = np.zeros((cam.height, cam.width), np.float32)
        if window is not None:
            out[window] = np.where(g_hand, g_depth, 0.0)
        return out
    s = np.asarray(surround, dtype=np.float32)
    if s.shape != (cam.height, cam.width):
        raise ValueError(f"surround must be the camera's {cam.height}x{cam.width} frame, got shape {s.shape}")
    out = s.copy()
    s_win = out[window]  # a window exists: G drew hand pixels in it
    s_hand = s_win > 0
    g_has = g_depth > 0
    back_face = back_face_mm(transform)  # float32 math below
    w = _band_weight(transform, *window)
    w[(s_win > back_face) & ~g_hand] = 0.0  # behind the cube: G cannot have drawn it
    w[nearer_than_cube(s_win, transform)] = 0.0  # in front of it: G drew it flat on the front face
    g_share = w * g_soft
    g_share[~g_has] = 0.0
    s_share = 1.0 - w
    s_share[~s_hand] = 0.0
    # One surface: blend by weight; two (a depth step between them): the larger share's.
    result = np.where(g_has & (g_share >= s_share), g_depth, s_win)
    same = (np.abs(g_depth - s_win) <= DEPTH_STEP_MM) & g_has & s_hand
    ws = w[same]
    result[same] = ws * g_depth[same] + (1.0 - ws) * s_win[same]
    result[g_share + s_share < 0.5] = 0.0
    out[window] = result
    return out
