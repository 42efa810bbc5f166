"""The one pose file schema (JSON), read and written with validation.

    {
      "format": "handdepth.pose", "version": 1,
      "handedness": "right" | "left",            # optional on read, default "right"
      "joints": [[x, y, z] * 21],                # mm, camera frame (x right, y down, z forward)
      "camera": {"fx", "fy", "cx", "cy", "width", "height"},
      "angles_deg": {name: degrees, ...},       # optional: the kinematic model's angles ...
      "shape": {"size", "finger_scales": [5], "thickness"},   # ... its shape (optional) ...
      "global": {"rotation_rotvec": [3], "translation_mm": [3]},  # ... and placement
      "name": "fist"                             # optional; other keys are kept as provenance
    }
`joints` + `camera` alone are a valid file (that is what external datasets give). When the
model keys are present they must reproduce `joints` within JOINT_TOLERANCE_MM, so a file can
never describe two different hands. Every problem is a PoseFileError whose message is one line
naming the file.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.camera import Camera
from engine.hand.limits import ANGLE_NAMES
from engine.hand.model import HandPose, HandShape, forward_kinematics
from engine.hand.skeleton import NUM_JOINTS
from engine.io_utils import atomic_write_json, read_json_file

FORMAT = "handdepth.pose"
VERSION = 1
JOINT_TOLERANCE_MM = 1.0
CAMERA_KEYS = ("fx", "fy", "cx", "cy", "width", "height")
# Depth cameras give at most 1-2 megapixels (Kinect v2 512x424, RealSense D4xx 1280x720); a
# 4096 px side still renders in ~70 MB, while 100000 x 100000 would ask for 37 GiB.
MAX_IMAGE_SIDE_PX = 4096
_MODEL_KEYS = ("angles_deg", "shape", "global")
_KNOWN_KEYS = {"format", "version", "handedness", "joints", "camera", "name", *_MODEL_KEYS}


class PoseFileError(ValueError):
    """A pose file that cannot be read; str() is one line naming the file and the problem."""


@dataclass(frozen=True)
class PoseRecord:
    """A hand pose as stored in a file: joints always, the kinematic model when known."""

    joints: np.ndarray  # (21, 3) mm, camera frame
    camera: Camera
    handedness: str = "right"
    hand: HandPose | None = None
    name: str | None = None
    extra: dict = field(default_factory=dict)  # provenance keys carried through unchanged

    @classmethod
    def from_hand(cls, hand: HandPose, camera: Camera, name: str | None = None, extra: dict | None = None) -> "PoseRecord":
        return cls(joints=forward_kinematics(hand), camera=camera, handedness=hand.handedness,
                   hand=hand, name=name, extra=dict(extra or {}))


def _finite_array(value, shape: tuple[int, ...], what: str) -> np.ndarray:
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"'{what}' must be numbers") from None
    if a.shape != shape:
        raise ValueError(f"'{what}' must have shape {shape}, got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"'{what}' contains NaN or infinite values")
    return a


def _parse_camera(d) -> Camera:
    if not isinstance(d, dict):
        raise ValueError("'camera' must be an object with fx, fy, cx, cy, width, height")
    missing = [k for k in CAMERA_KEYS if k not in d]
    if missing:
        raise ValueError(f"'camera' is missing {', '.join(missing)}")
    vals = _finite_array([d[k] for k in CAMERA_KEYS], (6,), "camera")
    if vals[0] <= 0 or vals[1] <= 0:
        raise ValueError("camera focal lengths must be positive")
    if vals[4] < 1 or vals[5] < 1 or vals[4] != int(vals[4]) or vals[5] != int(vals[5]):
        raise ValueError("camera width and height must be positive integers")
    if max(vals[4], vals[5]) > MAX_IMAGE_SIDE_PX:
        raise ValueError(f"camera {int(vals[4])}x{int(vals[5])} is larger than {MAX_IMAGE_SIDE_PX} px "
                         "on a side, more than any depth camera gives")
    return Camera.from_dict(dict(zip(CAMERA_KEYS, vals)))


def _parse_hand(d: dict, handedness: str) -> HandPose:
    angles = d["angles_deg"]
    if not isinstance(angles, dict):
        raise ValueError("'angles_deg' must map angle names to degrees")
    unknown = sorted(set(angles) - set(ANGLE_NAMES))
    if unknown:
        raise ValueError(f"unknown angle name {unknown[0]!r}")
    rad = np.deg2rad(_finite_array([angles.get(n, 0.0) for n in ANGLE_NAMES], (len(ANGLE_NAMES),), "angles_deg"))
    if "global" not in d:
        raise ValueError("'angles_deg' needs 'global' (rotation_rotvec, translation_mm)")
    g = d["global"]
    if not isinstance(g, dict) or "rotation_rotvec" not in g or "translation_mm" not in g:
        raise ValueError("'global' must have rotation_rotvec and translation_mm")
    s = d.get("shape", {})
    if not isinstance(s, dict):
        raise ValueError("'shape' must be an object")
    scales = _finite_array(s.get("finger_scales", [1.0] * 5), (5,), "shape.finger_scales")
    size_thick = _finite_array([s.get("size", 1.0), s.get("thickness", 1.0)], (2,), "shape")
    if np.any(size_thick <= 0) or np.any(scales <= 0):
        raise ValueError("shape scales must be positive")
    shape = HandShape(size=float(size_thick[0]), finger_scales=tuple(float(v) for v in scales),
                      thickness=float(size_thick[1]))
    return HandPose(angles=rad, shape=shape,
                    rotation=_finite_array(g["rotation_rotvec"], (3,), "global.rotation_rotvec"),
                    translation=_finite_array(g["translation_mm"], (3,), "global.translation_mm"),
                    handedness=handedness)


def record_from_dict(d: object) -> PoseRecord:
    """Validate a decoded JSON object; raises ValueError with a one-line reason."""
    if not isinstance(d, dict):
        raise ValueError("the top level must be a JSON object")
    for key in ("joints", "camera"):
        if key not in d:
            raise ValueError(f"missing key '{key}'")
    joints = _finite_array(d["joints"], (NUM_JOINTS, 3), "joints")
    camera = _parse_camera(d["camera"])
    handedness = d.get("handedness", "right")
    if handedness not in ("right", "left"):
        raise ValueError(f"'handedness' must be \"right\" or \"left\", not {handedness!r}")
    hand = None
    if "angles_deg" in d:
        hand = _parse_hand(d, handedness)
        gap = float(np.abs(forward_kinematics(hand) - joints).max())
        if gap > JOINT_TOLERANCE_MM:
            raise ValueError(f"'joints' disagree with the angles/shape/global keys by {gap:.1f} mm")
    name = d.get("name")
    extra = {k: v for k, v in d.items() if k not in _KNOWN_KEYS}
    return PoseRecord(joints=joints, camera=camera, handedness=handedness, hand=hand,
                      name=str(name) if name is not None else None, extra=extra)


def record_to_dict(record: PoseRecord) -> dict:
    d: dict = {"format": FORMAT, "version": VERSION}
    if record.name:
        d["name"] = record.name
    d["handedness"] = record.handedness
    d["joints"] = np.round(record.joints, 4).tolist()
    d["camera"] = record.camera.to_dict()
    hand = record.hand
    if hand is not None:
        d["angles_deg"] = {n: round(math.degrees(a), 4) for n, a in zip(ANGLE_NAMES, hand.angles)}
        d["shape"] = {"size": hand.shape.size, "finger_scales": list(hand.shape.finger_scales),
                      "thickness": hand.shape.thickness}
        d["global"] = {"rotation_rotvec": np.round(hand.rotation, 8).tolist(),
                       "translation_mm": np.round(hand.translation, 4).tolist()}
    d.update(record.extra)
    return d


def load_pose(path: str | Path) -> PoseRecord:
    """Read and validate a pose file; any problem is a one-line PoseFileError naming the file."""
    data = read_json_file(path, PoseFileError)
    try:
        return record_from_dict(data)
    except (ValueError, TypeError) as e:
        raise PoseFileError(f"{path}: {e}") from None


def save_pose(path: str | Path, record: PoseRecord) -> None:
    """Write a pose file atomically."""
    atomic_write_json(path, record_to_dict(record))
