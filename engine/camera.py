"""Pinhole camera intrinsics shared by the hand model, the simulator, the crop and the app.

Camera frame: millimetres, OpenCV axes (x right, y down, z forward).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Camera:
    """Intrinsics of a pinhole depth camera (pixels) and its image size."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def project(self, points: np.ndarray) -> np.ndarray:
        """Project (..., 3) camera-frame points in mm to (..., 2) pixel coordinates (u, v)."""
        p = np.asarray(points, dtype=np.float64)
        z = np.where(np.abs(p[..., 2]) < 1e-9, 1e-9, p[..., 2])
        u = self.fx * p[..., 0] / z + self.cx
        v = self.fy * p[..., 1] / z + self.cy
        return np.stack([u, v], axis=-1)

    def backproject(self, u: np.ndarray, v: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Lift pixel coordinates with depth z (mm) back to (..., 3) camera-frame points."""
        z = np.asarray(z, dtype=np.float64)
        x = (np.asarray(u, dtype=np.float64) - self.cx) * z / self.fx
        y = (np.asarray(v, dtype=np.float64) - self.cy) * z / self.fy
        return np.stack([x, y, z], axis=-1)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Camera":
        """Build from a mapping with keys fx, fy, cx, cy, width, height (extra keys ignored)."""
        return cls(
            fx=float(d["fx"]), fy=float(d["fy"]), cx=float(d["cx"]), cy=float(d["cy"]),
            width=int(d["width"]), height=int(d["height"]),
        )


# NYU Hand Pose Dataset calibration of its Kinect v1 (Tompson et al., ACM TOG 2014).
KINECT_V1 = Camera(fx=588.03, fy=587.07, cx=320.0, cy=240.0, width=640, height=480)
# ICVL (Tang et al., CVPR 2014) and MSRA15 (Sun et al., CVPR 2015) share this 320x240 ToF camera.
ICVL_MSRA = Camera(fx=241.42, fy=241.42, cx=160.0, cy=120.0, width=320, height=240)
# Intel RealSense SR305 (SR300 family) as calibrated in ../shared/data/real_depth_samples/sr305.
REALSENSE_SR300 = Camera(fx=476.007, fy=476.007, cx=313.683, cy=242.755, width=640, height=480)

CAMERA_PRESETS: dict[str, Camera] = {
    "kinect_v1": KINECT_V1,
    "icvl_msra": ICVL_MSRA,
    "realsense_sr300": REALSENSE_SR300,
}
DEFAULT_CAMERA = KINECT_V1
# What a person reads for each preset (the app's camera panel), kept beside the presets so a
# new camera is a one-place change.
CAMERA_TITLES: dict[str, str] = {
    "kinect_v1": "Kinect v1 / NYU 640×480",
    "icvl_msra": "ICVL-MSRA 320×240",
    "realsense_sr300": "RealSense SR300 640×480",
}
