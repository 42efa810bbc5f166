"""The one crop convention: a metric cube around the hand, as a 128x128 image in [-1, 1].

Training, the runtime, evaluation and export all go through this module, so a generator's
output can be pasted back into any camera's frame and a pose y means the same thing everywhere.

Convention
----------
1. Centre. A 3D point c = (x_c, y_c, z_c) in mm, camera frame. From joints it is
   `hand_centre`: the midpoint of the 3D bounding box of the labelled joints (why: it needs only
   the joints a dataset has — ICVL has no wrist, NYU no DIPs — and it gives the hand's whole
   extent equal margin inside the cube, so an extended finger is not cut off).
2. Cube. CUBE_MM = 250 mm on a side, centred on c; z_c must be > 0.
3. Window. The cube's x/y extent at depth z_c projects to a square of
   size_px = round(CUBE_MM * max(fx, fy) / z_c) pixels, placed at the integer corner (u0, v0)
   whose centre is nearest the projection of c. Pixel (u, v) has its centre at integer (u, v).
4. Resample. Crop pixel j samples the frame pixel nearest its centre,
   u = u0 - 0.5 + (j + 0.5) * size_px / CROP_SIZE (likewise v): nearest neighbour, never a blend,
   because averaging across the silhouette mixes hand depth with no-data or far background and
   invents "flying pixels" at depths where no surface exists. With size_px == CROP_SIZE it is 1:1.
5. Depth. d = (z - z_c) / (CUBE_MM / 2), clipped to [-1, 1]; no data (z = 0), anything behind
   the cube and anything outside the frame is +1 (background). A surface in front of the cube
   (an occluder) clips to -1: it still hides the hand, so it stays the nearest surface.
6. Pose. y = (joints - c) / (CUBE_MM / 2): in [-1, 1] for a hand inside the cube; NaN rows (joints
   a dataset lacks) stay NaN.
7. Inverse. engine.data.paste.paste_crop puts a crop back into the frame: z = z_c + d * CUBE_MM / 2,
   0 (no data) where d >= PASTE_BACKGROUND_MIN; resampled without blocks, and with the
   simulator's render of the pose outside the cube where one is given (its docstring says why).

`crop_camera` is the pinhole camera of the crop itself (intrinsics scaled and shifted by the
exact map of step 4), so a pose can be projected or rendered straight into the 128x128 crop.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.camera import Camera

# Side of the metric cube around the hand (mm). An adult hand is roughly 170-200 mm from wrist
# crease to middle fingertip, so 250 mm holds an open hand with margin; DeepPrior++ (Oberweger &
# Lepetit, ICCVW 2017) crops NYU with 250-300 mm cubes for the same reason.
CUBE_MM = 250.0

# Side of the square crop in pixels: the generator's input/output size.
CROP_SIZE = 128

# Value of background (no data, behind the cube, outside the frame) in a normalised crop.
BACKGROUND = 1.0

# When pasting (engine.data.paste), crop values at or above this are background. A generator's tanh output never
# reaches exactly +1; 0.98 is the last 2.5 mm before the cube's back face, where no hand
# surface is, because the cube is centred on the hand's joints.
PASTE_BACKGROUND_MIN = 0.98


@dataclass(frozen=True, eq=False)
class CropTransform:
    """Where one crop sits: cube centre (mm), pixel window in the frame, camera and cube size.

    The window covers frame pixels u0 .. u0 + size_px - 1 and v0 .. v0 + size_px - 1; it may
    extend past the frame's border.
    """

    centre: np.ndarray
    u0: int
    v0: int
    size_px: int
    camera: Camera
    cube: float = CUBE_MM

    def __post_init__(self) -> None:
        centre = _checked_centre(self.centre)
        centre.setflags(write=False)
        object.__setattr__(self, "centre", centre)
        if self.size_px < 1:
            raise ValueError(f"crop window must be at least 1 px, got {self.size_px}")
        if self.cube <= 0:
            raise ValueError(f"cube must be positive, got {self.cube}")

    @property
    def half_cube(self) -> float:
        return self.cube / 2.0

    @property
    def scale(self) -> float:
        """Frame pixels per crop pixel (> 1 when the crop is a downscale)."""
        return self.size_px / CROP_SIZE


def hand_centre(joints: np.ndarray) -> np.ndarray:
    """Midpoint of the 3D bounding box of the labelled (non-NaN) joints, in mm.

    Works with any subset of joints, so crops from every dataset follow the same rule.
    """
    pts = np.asarray(joints, dtype=np.float64).reshape(-1, 3)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    if len(pts) == 0:
        raise ValueError("hand_centre needs at least one labelled (finite) joint")
    return (pts.min(axis=0) + pts.max(axis=0)) / 2.0


def _checked_centre(centre: np.ndarray) -> np.ndarray:
    c = np.array(centre, dtype=np.float64).reshape(3)
    if not np.all(np.isfinite(c)) or c[2] <= 0:
        raise ValueError(f"crop centre must be finite with z > 0 mm, got {c.tolist()}")
    return c


def _round_half_up(x: float) -> int:
    return int(np.floor(x + 0.5))


def transform_at(centre: np.ndarray, camera: Camera, cube: float = CUBE_MM) -> CropTransform:
    """The crop window for a cube of side `cube` mm centred on `centre` (mm, camera frame)."""
    c = _checked_centre(centre)
    size_px = max(1, _round_half_up(cube * max(camera.fx, camera.fy) / c[2]))
    uc, vc = camera.project(c)
    # The window's centre is at u0 + (size_px - 1) / 2; put it as near the projected centre as
    # an integer corner allows.
    u0 = _round_half_up(uc - (size_px - 1) / 2.0)
    v0 = _round_half_up(vc - (size_px - 1) / 2.0)
    return CropTransform(centre=c, u0=u0, v0=v0, size_px=size_px, camera=camera, cube=cube)


def make_transform(joints: np.ndarray, camera: Camera, cube: float = CUBE_MM) -> CropTransform:
    """The crop window around a hand's joints (mm, camera frame), centred by `hand_centre`."""
    return transform_at(hand_centre(joints), camera, cube)


def _source_indices(start: int, size_px: int) -> np.ndarray:
    """Frame pixel index nearest each crop pixel's centre along one axis (step 4)."""
    j = np.arange(CROP_SIZE, dtype=np.float64)
    return np.floor(start + (j + 0.5) * (size_px / CROP_SIZE)).astype(np.int64)


def crop_depth(depth: np.ndarray, transform: CropTransform) -> np.ndarray:
    """Crop a metric depth frame (mm, 0 = no data) to a CROP_SIZE² float32 image in [-1, 1]."""
    d = np.asarray(depth)
    if d.ndim != 2:
        raise ValueError(f"depth must be a 2D image, got shape {d.shape}")
    h, w = d.shape
    us = _source_indices(transform.u0, transform.size_px)
    vs = _source_indices(transform.v0, transform.size_px)
    in_u = (us >= 0) & (us < w)
    in_v = (vs >= 0) & (vs < h)
    # rows, then columns: d[vs[:, None], us[None, :]] at a fraction of the cost (every style call)
    z = d.take(np.clip(vs, 0, h - 1), 0).take(np.clip(us, 0, w - 1), 1).astype(np.float64)
    zc = transform.centre[2]
    out = np.clip((z - zc) / transform.half_cube, -1.0, 1.0)
    background = ~(in_v[:, None] & in_u[None, :]) | ~(z > 0) | (z > zc + transform.half_cube)
    out[background] = BACKGROUND
    return out.astype(np.float32)


def normalise_joints(joints: np.ndarray, transform: CropTransform) -> np.ndarray:
    """Joints (..., 3) mm → pose y: offsets from the cube centre in cube half-sides (float32)."""
    j = np.asarray(joints, dtype=np.float64)
    return ((j - transform.centre) / transform.half_cube).astype(np.float32)


def denormalise_joints(y: np.ndarray, transform: CropTransform) -> np.ndarray:
    """Inverse of `normalise_joints`: pose y (..., 3) → joints in mm, camera frame (float32)."""
    p = np.asarray(y, dtype=np.float64)
    return (p * transform.half_cube + transform.centre).astype(np.float32)


def crop_camera(transform: CropTransform) -> Camera:
    """Pinhole camera of the CROP_SIZE² crop: projecting with it lands on crop pixels."""
    cam, k = transform.camera, transform.scale
    # Step 4 inverted: j = (u - u0 + 0.5) / k - 0.5, applied to u = fx * x / z + cx.
    return Camera(
        fx=cam.fx / k,
        fy=cam.fy / k,
        cx=(cam.cx - transform.u0 + 0.5) / k - 0.5,
        cy=(cam.cy - transform.v0 + 0.5) / k - 0.5,
        width=CROP_SIZE,
        height=CROP_SIZE,
    )
