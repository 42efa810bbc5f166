"""Depth-sensor models: turn the simulator's clean metric depth into what a real camera reports.

Why: a network trained on clean renders meets shadows, holes, ragged silhouettes, flying pixels
and depth-dependent noise on real frames. Each model below follows a published noise model and
cites it next to the constant. All randomness comes from the caller's generator, so a seed gives
bit-identical frames; all work is vectorised and confined to the bounding box of valid pixels.

Depth images are float32 millimetres with 0 = no data (docs/architecture.md).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from engine.camera import KINECT_V1, REALSENSE_SR300, Camera
from engine.frame_box import content_box
from engine.sim.random_fields import blob_normal, blob_uniform, standard_normal

# --- Shared geometry --------------------------------------------------------------------------
# Padding around the valid pixels' bounding box: wider than the flying-pixel band (1 px), and
# lateral displacements are capped one pixel below it, so nothing is clipped.
ROI_MARGIN_PX = 4
# Neighbours farther apart than this fraction of the depth are different surfaces. A surface
# tilted 80 deg at fx ~ 588 steps z*tan(80)/fx ~ 0.01*z per pixel, so 2 % only cuts real jumps.
EDGE_JUMP_FRACTION = 0.02

# --- Kinect v1 (PrimeSense structured light) --------------------------------------------------
# IR projector 7.5 cm to the right (+x) of the IR camera; disparity measured in 1/8 pixel
# (Khoshelham & Oude Elberink, Sensors 12(2):1437, 2012; Smisek et al., ICCV-W 2011).
KINECT_BASELINE_MM = 75.0
KINECT_DISPARITY_STEP_PX = 1.0 / 8.0
# Native focal length (NYU calibration). The disparity step is 1/8 of a *sensor* pixel whatever
# camera (crop, resize) the image is expressed in, so depth is quantised with it. Check: the NYU
# frame in shared/data/real_depth_samples steps 1.5-1.8 mm at 730-800 mm, as z^2/(8 f b) gives.
KINECT_NATIVE_FX = KINECT_V1.fx
# Microsoft Kinect for Windows (v1) specification: near mode from 0.4 m, default mode to 4 m.
KINECT_RANGE_MM = (400.0, 4000.0)
# Axial sigma(z, theta) = 1.2 mm + 1.9 mm/m^2 (z - 0.4 m)^2 + 0.1 mm m^0.5 / sqrt(z) *
# theta^2 / (pi/2 - theta)^2 (z in m); lateral sigma = 0.8 px + 0.035 px * theta / (pi/2 - theta)
# (Nguyen, Izadi & Lovell, "Modeling Kinect sensor noise for improved 3D reconstruction and
# tracking", 3DIMPVT 2012).
NGUYEN_AXIAL_BASE_MM = 1.2
NGUYEN_AXIAL_QUAD_MM_PER_M2 = 1.9
NGUYEN_AXIAL_OFFSET_M = 0.4
NGUYEN_AXIAL_ANGLE_MM = 0.1
NGUYEN_LATERAL_BASE_PX = 0.8
NGUYEN_LATERAL_ANGLE_PX = 0.035
# Sizes in pixels below (Kinect and SR blocks) are native sensor pixels; for an image with
# another focal length (a resized crop) they are scaled by camera.fx / native fx.
# Kinect v1 finds disparity by correlating a window several pixels wide (Khoshelham & Oude
# Elberink 2012), so edge errors come in blobs; the lateral field is smoothed over this scale.
KINECT_LATERAL_CORRELATION_PX = 2.0
# Holes along depth edges: P(drop) = P0 * exp(-distance / decay), in blobs. Tuned by eye so the
# silhouette looks like the NYU frame's (the NYU release fills its holes, so no figure to fit).
KINECT_EDGE_DROP_P0 = 0.35
KINECT_EDGE_DROP_DECAY_PX = 1.5
KINECT_DROP_CORRELATION_PX = 1.0
# Dropout ramp on grazing surfaces, where the speckle smears out and Nguyen et al.'s angle term
# diverges (tuned; their measurements stop around 70 deg).
KINECT_GRAZING_DEG = (70.0, 85.0)

# --- Time of flight (Kinect v2 class) ---------------------------------------------------------
# Axial sigma(z, theta) = 1.5 - 0.5 z + 0.3 z^2 + 0.1 z^1.5 theta^2 / (pi/2 - theta)^2 mm (z in m)
# (Fankhauser et al., "Kinect v2 for mobile robot navigation: evaluation and modeling",
# ICAR 2015).
FANKHAUSER_AXIAL_MM = (1.5, -0.5, 0.3)  # constant, linear, quadratic coefficients (z in m)
FANKHAUSER_AXIAL_ANGLE_MM = 0.1
TOF_RANGE_MM = (500.0, 4500.0)  # Microsoft Kinect v2 specification, 0.5-4.5 m
TOF_DEPTH_UNIT_MM = 1.0  # the Kinect v2 SDK reports integer millimetres
# A pixel straddling an edge integrates both surfaces and reports a depth in between ("mixed"
# or "flying" pixels; Hansard et al., Time-of-Flight Cameras: Principles, Methods and
# Applications, Springer 2013; Fankhauser et al. 2015). Where the renderer has no data the
# light still returns from a room wall; this stands in for it so flying pixels trail behind the
# hand's outline.
TOF_OPEN_BACKGROUND_MM = 1800.0
# Share of edge-straddling pixels that fly (tuned by eye; the Kinect v2 SDK filters some out).
TOF_FLYING_PROB = 0.5
# Multipath and weak returns on grazing surfaces: dropout ramp where the angle term of the axial
# model above blows up (tuned; ToF copes with steeper surfaces than structured light).
TOF_GRAZING_DEG = (75.0, 88.0)
# ToF artefacts here are one image pixel wide (a pixel's footprint straddling an edge), so
# no native-pixel scaling.
TOF_DROP_CORRELATION_PX = 1.0

# --- RealSense SR305 / SR300 (coded light, short range) ---------------------------------------
# Plane-fit error of about a millimetre at 0.5 m, growing with the square of distance as for any
# triangulating sensor (Carfagni et al., "On the performance of the Intel SR300 depth camera:
# metrological and critical characterization", IEEE Sensors J. 17(14):4508, 2017).
SR_SIGMA_REF_MM = 1.0
SR_SIGMA_REF_DEPTH_MM = 500.0
SR_NATIVE_FX = REALSENSE_SR300.fx
# The SR305 firmware smooths depth: in shared/data/real_depth_samples/sr305 the rms residual of
# local plane fits on the hand at ~500 mm is only 0.06 / 0.14 / 0.31 mm for 5x5 / 9x9 / 15x15
# windows. A 1 mm field correlated over this length gives 0.05 / 0.12 / 0.27 mm on a plane.
SR_NOISE_CORRELATION_PX = 6.0
SR_DEPTH_UNIT_MM = 0.125  # SR305 depth unit (sr305/readme.txt)
SR_RANGE_MM = (200.0, 1500.0)  # Intel SR305 datasheet; sr305/readme.txt "maximum depth 150 cm"
# Ragged silhouette: every depth edge is eroded by a random 0.5-2 px (varying over the blob
# scale below), and a few holes sit just inside it. Tuned by eye against the SR305 samples,
# whose hand outlines are smooth with small notches.
SR_EROSION_PX = (0.5, 2.0)
SR_EROSION_CORRELATION_PX = 3.0
SR_EDGE_DROP_P0 = 0.15
SR_EDGE_DROP_DECAY_PX = 1.5
SR_DROP_CORRELATION_PX = 1.0
SR_GRAZING_DEG = (65.0, 80.0)


@dataclass
class _Patch:
    """Clean depth inside the region of interest, with the intrinsics the models need."""

    z: np.ndarray  # float32 mm, 0 = no data
    valid: np.ndarray  # bool
    xn: np.ndarray  # (1, w) normalised image x, (u - cx) / fx
    yn: np.ndarray  # (h, 1) normalised image y, (v - cy) / fy
    fx: float
    fy: float


def apply_sensor(
    depth: np.ndarray,
    camera: Camera,
    sensor: str,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """Return what `sensor` would measure of the clean float32 mm depth (0 = no data).

    Returns a new float32 array of the same shape; `depth` is never modified. `camera` must
    describe this image (pass the adjusted intrinsics for a crop). An int seed or a Generator
    makes the output reproducible bit for bit.
    """
    info = sensor_info(sensor)
    clean = np.asarray(depth, dtype=np.float32)  # only read below
    if clean.ndim != 2:
        raise ValueError(f"depth must be a 2-D image, got shape {clean.shape}")
    if info.model is None:
        return clean.copy()
    model, (near, far) = info.model, info.range_mm
    out = np.zeros_like(clean)
    # Surfaces outside the working range return nothing, so they cannot mix into flying pixels.
    # cv2.inRange is near <= z <= far in one pass (a third of the three numpy passes' time);
    # the bounds are whole millimetres, exact in float32, so the mask is the same. It runs on
    # the box of the frame's content only (engine.frame_box: every range > 0 lies inside it).
    box = content_box(clean)
    if box is None:
        return out
    rows, cols = _roi(cv2.inRange(clean[box], near, far), ROI_MARGIN_PX, box, clean.shape)
    if rows is None:
        return out
    valid = cv2.inRange(clean[rows, cols], near, far) != 0
    patch = _Patch(
        z=np.where(valid, clean[rows, cols], 0.0).astype(np.float32),
        valid=valid,
        xn=((np.arange(cols.start, cols.stop, dtype=np.float32) - camera.cx) / camera.fx)[None],
        yn=((np.arange(rows.start, rows.stop, dtype=np.float32) - camera.cy) / camera.fy)[:, None],
        fx=float(camera.fx),
        fy=float(camera.fy),
    )
    out[rows, cols] = model(patch, np.random.default_rng(rng))
    return out


# --- Models -----------------------------------------------------------------------------------

def _kinect_v1(p: _Patch, rng: np.random.Generator) -> np.ndarray:
    """Structured light: shadows, lateral jitter, axial noise, disparity steps, edge holes."""
    z = np.where(_projector_shadow(p.z, p.valid, p.fx * KINECT_BASELINE_MM), 0.0, p.z)
    z = z.astype(np.float32)
    theta = _incidence_angle(z, z > 0, p)
    angle_ratio = _angle_ratio(theta, KINECT_GRAZING_DEG[1])
    px = p.fx / KINECT_NATIVE_FX

    sigma_lat = px * (NGUYEN_LATERAL_BASE_PX + NGUYEN_LATERAL_ANGLE_PX * angle_ratio)
    z, theta = _jitter_laterally(z, theta, sigma_lat, px * KINECT_LATERAL_CORRELATION_PX, rng)
    valid = z > 0
    angle_ratio = _angle_ratio(theta, KINECT_GRAZING_DEG[1])

    z_m = np.where(valid, z, 1.0) * 1e-3
    sigma = (NGUYEN_AXIAL_BASE_MM
             + NGUYEN_AXIAL_QUAD_MM_PER_M2 * (z_m - NGUYEN_AXIAL_OFFSET_M) ** 2
             + NGUYEN_AXIAL_ANGLE_MM / np.sqrt(z_m) * angle_ratio ** 2)
    noisy = z + sigma * standard_normal(rng, z.shape)

    shift = KINECT_NATIVE_FX * KINECT_BASELINE_MM
    disparity = shift / np.maximum(noisy, 1.0)
    disparity = np.round(disparity / KINECT_DISPARITY_STEP_PX) * KINECT_DISPARITY_STEP_PX
    noisy = shift / np.maximum(disparity, KINECT_DISPARITY_STEP_PX)

    edge_dist = _edge_distance(z, valid)
    p_drop = KINECT_EDGE_DROP_P0 * np.exp(-edge_dist / (px * KINECT_EDGE_DROP_DECAY_PX))
    p_drop = np.maximum(p_drop, _ramp(theta, KINECT_GRAZING_DEG))
    keep = valid & (blob_uniform(rng, z.shape, px * KINECT_DROP_CORRELATION_PX) >= p_drop)
    return _finish(noisy, keep, KINECT_RANGE_MM)


def _tof(p: _Patch, rng: np.random.Generator) -> np.ndarray:
    """Time of flight: flying pixels at depth edges, Gaussian noise, grazing dropouts."""
    theta = _incidence_angle(p.z, p.valid, p)

    filled = np.where(p.valid, p.z, TOF_OPEN_BACKGROUND_MM).astype(np.float32)
    kernel = np.ones((3, 3), np.uint8)
    near = cv2.erode(filled, kernel, borderType=cv2.BORDER_REPLICATE)
    far = cv2.dilate(filled, kernel, borderType=cv2.BORDER_REPLICATE)
    straddles = (far - near) > EDGE_JUMP_FRACTION * near
    flying = straddles & (rng.random(p.z.shape, dtype=np.float32) < TOF_FLYING_PROB)
    mix = rng.random(p.z.shape, dtype=np.float32)
    z = np.where(flying, near + mix * (far - near), p.z)
    valid = z > 0
    theta = np.where(flying, 0.0, theta)

    z_m = np.where(valid, z, 1.0) * 1e-3
    angle_ratio = _angle_ratio(theta, TOF_GRAZING_DEG[1])
    c0, c1, c2 = FANKHAUSER_AXIAL_MM
    sigma = (c0 + c1 * z_m + c2 * z_m ** 2
             + FANKHAUSER_AXIAL_ANGLE_MM * z_m ** 1.5 * angle_ratio ** 2)
    noisy = z + sigma * standard_normal(rng, z.shape)
    noisy = np.round(noisy / TOF_DEPTH_UNIT_MM) * TOF_DEPTH_UNIT_MM

    p_drop = _ramp(theta, TOF_GRAZING_DEG)
    keep = valid & (blob_uniform(rng, z.shape, TOF_DROP_CORRELATION_PX) >= p_drop)
    return _finish(noisy, keep, TOF_RANGE_MM)


def _realsense(p: _Patch, rng: np.random.Generator) -> np.ndarray:
    """Coded light, short range: smooth noise, fine quantisation, eroded ragged silhouette."""
    neighbours = _neighbours(p.z, p.valid)
    theta = _incidence_angle(p.z, p.valid, p, neighbours)
    px = p.fx / SR_NATIVE_FX
    sigma = SR_SIGMA_REF_MM * (p.z / SR_SIGMA_REF_DEPTH_MM) ** 2
    noisy = p.z + sigma * blob_normal(rng, p.z.shape, px * SR_NOISE_CORRELATION_PX)
    noisy = np.round(noisy / SR_DEPTH_UNIT_MM) * SR_DEPTH_UNIT_MM

    edge_dist = _edge_distance(p.z, p.valid, neighbours)
    lo, hi = SR_EROSION_PX
    erosion = px * (lo + (hi - lo) * blob_uniform(rng, p.z.shape,
                                                   px * SR_EROSION_CORRELATION_PX))
    p_drop = SR_EDGE_DROP_P0 * np.exp(-edge_dist / (px * SR_EDGE_DROP_DECAY_PX))
    p_drop = np.maximum(p_drop, _ramp(theta, SR_GRAZING_DEG))
    keep = (p.valid & (edge_dist >= erosion)
            & (blob_uniform(rng, p.z.shape, px * SR_DROP_CORRELATION_PX) >= p_drop))
    return _finish(noisy, keep, SR_RANGE_MM)


_Model = Callable[[_Patch, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class SensorInfo:
    """One sensor model, the only place it is listed: what a GUI picker or the CLI shows for it,
    its working range (mm) and the function that applies it (None: the clean render)."""

    name: str
    title: str
    description: str
    range_mm: tuple[float, float] = (0.0, float("inf"))
    model: _Model | None = None


# Explicit registry, in the order pickers list them. Adding a sensor model is one entry here.
SENSORS: dict[str, SensorInfo] = {s.name: s for s in (
    SensorInfo("none", "Clean", "The renderer's exact depth, no sensor artefacts."),
    SensorInfo("kinect_v1", "Kinect v1 (structured light)",
               "PrimeSense: projector shadows, 1/8-pixel disparity steps, depth-squared noise, "
               "ragged edges with holes; 0.4-4 m.", KINECT_RANGE_MM, _kinect_v1),
    SensorInfo("tof", "Time of flight (Kinect v2)",
               "Flying pixels trailing behind depth edges, mild noise, dropouts on grazing "
               "surfaces; 0.5-4.5 m.", TOF_RANGE_MM, _tof),
    SensorInfo("realsense", "RealSense SR305 (coded light)",
               "Short range: smooth ~1 mm noise in 1/8 mm steps, eroded ragged silhouette, "
               "grazing dropouts; 0.2-1.5 m.", SR_RANGE_MM, _realsense),
)}
SENSOR_NAMES: tuple[str, ...] = tuple(SENSORS)  # a view of SENSORS for choices and checks


def sensor_info(sensor: str) -> SensorInfo:
    """The record of a sensor model by name, or a ValueError listing the valid names."""
    try:
        return SENSORS[sensor]
    except KeyError:
        raise ValueError(f"unknown sensor {sensor!r}; valid names: {', '.join(SENSOR_NAMES)}") from None


def sensor_range_mm(sensor: str) -> tuple[float, float]:
    """The working range (mm) of a sensor model; the clean render ("none") has no limit."""
    return sensor_info(sensor).range_mm


def range_warning(clean_depth: np.ndarray, sensor: str) -> str | None:
    """One line saying which share of the hand lies outside `sensor`'s range, or None.

    Why: a sensor model reports no data outside its working range, so a hand placed too near
    (or too far) silently loses pixels, or vanishes. `clean_depth` is the clean render (float mm,
    0 = no data) before the sensor, the only frame that still holds the lost pixels. The CLI
    commands print it and the app can show it in its status bar.
    """
    near, far = sensor_range_mm(sensor)
    z = np.asarray(clean_depth, dtype=np.float32)
    box = content_box(z)  # outside it every pixel is +0: no hand (engine.frame_box)
    if box is None:
        return None
    z = np.ascontiguousarray(z[box])
    # Counted by OpenCV first (a frame a sample in a dataset): the pixels are gathered only when
    # some lie outside the range. Depths are >= 0 (0 = no data), so the counts are exact.
    lowest = float(max(near, np.nextafter(np.float32(0), np.float32(1))))  # the hand is z > 0
    inside = cv2.countNonZero(cv2.inRange(z, lowest, float(min(far, np.finfo(np.float32).max))))
    if inside == cv2.countNonZero(z):
        return None
    hand = z[z > 0]
    outside = (hand < near) | (hand > far)
    share = 100.0 * float(outside.mean())
    return (f"{share:.1f}% of the hand's pixels lie at {hand.min():.0f}-{hand.max():.0f} mm, outside "
            f"the {sensor} range ({near:.0f}-{far:.0f} mm): the sensor reports no data there")


# --- Geometry helpers -------------------------------------------------------------------------

def _roi(valid: np.ndarray, margin: int, box: tuple[slice, slice], shape: tuple[int, int]
         ) -> tuple[slice | None, slice | None]:
    """Bounding box of the valid pixels plus `margin`, clipped to the image of `shape`; `valid`
    covers the part `box` of that image."""
    rows = np.flatnonzero(valid.any(axis=1))
    if rows.size == 0:
        return None, None
    cols = np.flatnonzero(valid[rows[0]:rows[-1] + 1].any(axis=0))  # only rows with data
    (h, w), v0, u0 = shape, box[0].start, box[1].start
    return (slice(max(v0 + rows[0] - margin, 0), min(v0 + rows[-1] + margin + 1, h)),
            slice(max(u0 + cols[0] - margin, 0), min(u0 + cols[-1] + margin + 1, w)))


def _projector_shadow(z: np.ndarray, valid: np.ndarray, shift: float) -> np.ndarray:
    """Pixels the projector (offset +x, so u_p = u - shift / z) cannot light.

    On a projector ray the nearer point has the larger shift, so it sits further right in the
    image; a pixel is shadowed when some pixel to its right maps to a projector column at or
    left of its own. Shadows therefore fall on the left of near objects, ~shift*(1/z_near -
    1/z_far) px wide.
    """
    cols = np.arange(z.shape[1], dtype=np.float32)
    up = np.where(valid, cols - shift / np.where(valid, z, 1.0), np.inf).astype(np.float32)
    right_min = np.minimum.accumulate(up[:, ::-1], axis=1)[:, ::-1]
    right_min = np.concatenate([right_min[:, 1:], np.full((z.shape[0], 1), np.inf, np.float32)],
                               axis=1)
    return valid & (right_min < up)


def _continuous_neighbours(z: np.ndarray, valid: np.ndarray, axis: int
                           ) -> tuple[np.ndarray, np.ndarray]:
    """Differences to the next pixel along `axis` and whether each pair is one surface."""
    head = (slice(None),) * axis + (slice(None, -1),)
    tail = (slice(None),) * axis + (slice(1, None),)
    diff = z[tail] - z[head]
    near = np.minimum(z[head], z[tail])
    same = valid[head] & valid[tail] & (np.abs(diff) <= EDGE_JUMP_FRACTION * near)
    return diff, same


def _gradient(diff: np.ndarray, same: np.ndarray, axis: int) -> np.ndarray:
    """dz per pixel along `axis`, using only neighbours on the same surface (0 if none);
    `diff`, `same` come from _continuous_neighbours. Each pair's difference is added to both
    its pixels (forward first, then backward: the sum a + b of the padded form, same bits)."""
    w = same.astype(np.float32)
    d = diff * w
    shape = list(diff.shape)
    shape[axis] += 1
    head = (slice(None),) * axis + (slice(None, -1),)
    tail = (slice(None),) * axis + (slice(1, None),)
    total, count = np.zeros(shape, d.dtype), np.zeros(shape, np.float32)
    total[head] += d
    total[tail] += d
    count[head] += w
    count[tail] += w
    return total / np.maximum(count, 1.0)


def _incidence_angle(z: np.ndarray, valid: np.ndarray, p: _Patch,
                     neighbours: tuple | None = None) -> np.ndarray:
    """Angle (rad) between each pixel's surface normal and its viewing ray; 0 where no data.

    With P = z (xn, yn, 1), the normal dP/du x dP/dv is parallel to n' = (-gx, -gy, 1 + gx xn +
    gy yn) with gx = fx z_u / z, and n' . (xn, yn, 1) = 1, so cos = 1 / (|n'| |ray|).
    `neighbours` (from _neighbours of the same z, valid) saves recomputing them.
    """
    along_v, along_u = neighbours or _neighbours(z, valid)
    zs = np.where(valid, z, 1.0)
    gx = _gradient(*along_u, 1) * p.fx / zs
    gy = _gradient(*along_v, 0) * p.fy / zs
    nz = 1.0 + gx * p.xn + gy * p.yn
    cos = 1.0 / np.sqrt((gx * gx + gy * gy + nz * nz) * (p.xn * p.xn + p.yn * p.yn + 1.0))
    return np.where(valid, np.arccos(np.clip(cos, 0.0, 1.0)), 0.0).astype(np.float32)


def _neighbours(z: np.ndarray, valid: np.ndarray) -> tuple:
    """_continuous_neighbours along rows (axis 0) and columns (axis 1), shared by the angle and
    the edge distance of one image."""
    return _continuous_neighbours(z, valid, 0), _continuous_neighbours(z, valid, 1)


def _edge_distance(z: np.ndarray, valid: np.ndarray, neighbours: tuple | None = None) -> np.ndarray:
    """Distance (px) from each pixel to the nearest valid pixel at a depth discontinuity."""
    edge = np.zeros_like(valid)
    # A pixel is on an edge when the pair before or after it is not one surface. Beyond the
    # image border the surface is unknown, not missing: it is no edge.
    for axis, (_, same) in enumerate(neighbours or _neighbours(z, valid)):
        head = (slice(None),) * axis + (slice(None, -1),)
        tail = (slice(None),) * axis + (slice(1, None),)
        broken = ~same
        edge[head] |= broken
        edge[tail] |= broken
    edge &= valid
    dist = cv2.distanceTransform((~edge).astype(np.uint8), cv2.DIST_L2, 3)
    # With no edge at all OpenCV reports a huge float; cap it at the image diagonal.
    return np.minimum(dist, np.float32(sum(z.shape)))


def _jitter_laterally(z: np.ndarray, theta: np.ndarray, sigma_px: np.ndarray,
                      correlation_px: float, rng: np.random.Generator
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Resample depth and angle (nearest) through a smooth random displacement field."""
    h, w = z.shape
    cap = ROI_MARGIN_PX - 1
    field = blob_normal(rng, (h, w, 2), correlation_px)  # one blur for both
    dx, dy = field[..., 0].copy(), field[..., 1].copy()  # (half of cv2.split's time)
    for d in (dx, dy):
        d *= sigma_px
        np.clip(d, -cap, cap, out=d)
    dx += np.arange(w, dtype=np.float32)[None]
    dy += np.arange(h, dtype=np.float32)[:, None]
    z_out, theta_out = (cv2.remap(a, dx, dy, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
                        for a in (z, theta))
    return z_out, theta_out


def _angle_ratio(theta: np.ndarray, max_deg: float) -> np.ndarray:
    """theta / (pi/2 - theta), the incidence term of both noise models, capped at `max_deg`
    where the pixel is dropped anyway (the term diverges at grazing incidence)."""
    theta = np.minimum(theta, np.float32(np.radians(max_deg)))
    return theta / (np.float32(np.pi / 2) - theta)


def _ramp(theta: np.ndarray, start_end_deg: tuple[float, float]) -> np.ndarray:
    """0 below the first angle, 1 beyond the second, linear in between."""
    lo, hi = (np.float32(np.radians(deg)) for deg in start_end_deg)
    return np.clip((theta - lo) / (hi - lo), 0.0, 1.0)


def _finish(noisy: np.ndarray, keep: np.ndarray, range_mm: tuple[float, float]) -> np.ndarray:
    """Zero dropped pixels and readings outside the sensor's range; float32 out."""
    lo, hi = range_mm
    keep = keep & (noisy >= lo) & (noisy <= hi)
    return np.where(keep, noisy, 0.0).astype(np.float32, copy=False)


# --- Strength ---------------------------------------------------------------------------------

def blend_with_clean(clean: np.ndarray, noisy: np.ndarray, strength: float,
                     seed: int | None = 0) -> np.ndarray:
    """A sensor's output at `strength` in [0, 1]: 0 gives `clean`, 1 gives `noisy`.

    In between, where both have data the sensor's error is scaled by the strength; where they
    disagree about data (a dropout, or a flying pixel where the clean render has none) the
    sensor wins with probability `strength`, decided by a uniform field drawn from `seed`. The
    field depends on the seed and image size only, so while the pose holds still the picture
    does not shimmer, and raising the strength only ever adds artefacts (a pixel kept at 0.3
    is also kept at 0.6). float32 mm out, 0 = no data; the inputs are never modified.
    """
    clean = np.asarray(clean, dtype=np.float32)
    noisy = np.asarray(noisy, dtype=np.float32)
    if clean.shape != noisy.shape:
        raise ValueError(f"clean {clean.shape} and noisy {noisy.shape} differ in shape")
    s = float(strength)
    if not 0.0 <= s <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    if s == 0.0:
        return clean.copy()
    if s == 1.0:
        return noisy.copy()
    has_clean, has_noisy = clean > 0, noisy > 0
    both = has_clean & has_noisy
    out = np.where(both, clean + np.float32(s) * (noisy - clean), 0.0).astype(np.float32)
    disagree = has_clean != has_noisy
    if disagree.any():
        take_sensor = np.random.default_rng(seed).random(clean.shape, dtype=np.float32) < s
        out = np.where(disagree, np.where(take_sensor, noisy, clean), out).astype(np.float32)
    return out
