"""The one loader for style images: any depth PNG a user brings, decoded to float32 mm.

Why one loader: the app's "Add style image", `--style PATH`, the bank's real crops and the
sensor matcher must agree on what a file means, and refuse the same files with the same words.

Encodings (cv2 channel order):
  uint16, one channel   a linear depth in some unit (mm, or 1/8 mm on the SR305 ...);
  8-bit grey            a linear depth of unknown unit (1 or 3 equal channels), 0 = no data;
  NYU RGB               mm = G << 8 | B with R = 0 and NYU_NO_DATA_MM for "no data"
                        (engine.data.readers.nyu). Told from a colour photo by the packing's
                        signature: R is zero, G is a small high byte, and where G steps by one
                        between neighbours, B wraps so that the packed depth stays continuous
                        (85 % of such pairs on the NYU sample; a photo's blue never wraps).
Units: a scale in mm per stored unit comes from the caller (`--style-scale`), else from a
sidecar IMAGE.json {"depth_scale_mm": s}, else it is guessed: the first of the usual units that
puts the nearest object at a hand's distance. The result says what was assumed, so the CLI and
the app can tell the user.

Only PNG is read: its header (IHDR) gives the size before anything is decoded, so a huge image
is refused without allocating it.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from engine.data.readers.nyu import NO_DATA_MM as NYU_NO_DATA


class StyleImageError(ValueError):
    """A style image that cannot be used; str() is one line naming the file."""


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Signature, IHDR length and type, then width and height as big-endian uint32 (PNG spec 11.2.2).
_IHDR_END = 24
# Depth cameras deliver at most ~1920 x 1080; anything beyond 8192 px a side is not a depth frame
# and would cost gigabytes to decode.
MAX_SIDE_PX = 8192
MIN_DEPTH_PIXELS = 200  # fewer measured pixels than a small hand crop: no depth in the image
NYU_NO_DATA_MM = NYU_NO_DATA  # NYU stores unmeasured pixels as this depth
# NYU's high byte: depth below 10 m (the Kinect v1 reports up to ~8 m).
NYU_MAX_HIGH_BYTE = 10000 >> 8
NYU_RED_ZERO_SHARE = 0.99  # share of pixels whose red channel is 0 in an NYU frame (all of them)
NYU_MIN_CONTINUITY = 0.5  # share of G steps where B wraps; 0.85 on the NYU sample, ~0 on photos
NYU_MIN_STEPS = 20  # fewer G steps than this cannot show the wrap; the R and G tests decide
GREY_CHANNEL_TOLERANCE = 1.0  # mean channel difference of a grey image saved as RGB
# Where a hand in front of a depth camera is: the SR305 works from 200 mm, hands held out reach
# ~1.2 m (shared/data/real_depth_samples: SR305 330-1150 mm, NYU 740 mm and up).
HAND_RANGE_MM = (150.0, 1500.0)
TYPICAL_HAND_MM = 500.0  # an 8-bit image of unknown unit is scaled so its nearest object sits here
NEAREST_PERCENTILE = 1.0  # the nearest object's depth, robust to a few stray pixels
# Usual uint16 depth units in mm, in the order they are tried: mm (Kinect, most datasets),
# 1/8 mm (RealSense SR300/SR305), 1/10 mm, 1/4 mm (RealSense L515).
GUESS_SCALES_MM = (1.0, 0.125, 0.1, 0.25)
SIDECAR_KEY = "depth_scale_mm"


@dataclass(frozen=True)
class StyleImage:
    """A decoded style image and what the loader assumed about it."""

    depth: np.ndarray  # float32 mm (8-bit: scaled by the guess), 0 = no data
    encoding: str  # "uint16", "8-bit grey" or "NYU RGB"
    scale_mm: float = 1.0  # mm per stored unit
    scale_source: str = "encoding"  # "given", "sidecar", "guessed" or "encoding" (NYU is mm)

    @property
    def assumption(self) -> str:
        """One line for the user: the encoding and the unit, and where the unit came from."""
        return f"{self.encoding}, {self.scale_mm:g} mm per unit ({self.scale_source})"


def check_png_header(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's header, read before any decoding; StyleImageError when
    the file is missing, not a PNG or too large for a depth frame."""
    try:
        with open(path, "rb") as f:
            head = f.read(_IHDR_END)
    except FileNotFoundError:
        raise StyleImageError(f"{path}: no such file") from None
    except OSError as e:
        raise StyleImageError(f"{path}: cannot read ({e.__class__.__name__})") from None
    if not head:
        raise StyleImageError(f"{path}: empty file, not an image")
    if len(head) < _IHDR_END or not head.startswith(PNG_SIGNATURE) or head[12:16] != b"IHDR":
        raise StyleImageError(f"{path}: not an image (depth style images are PNG files)")
    width, height = struct.unpack(">II", head[16:24])
    if not (0 < width <= MAX_SIDE_PX and 0 < height <= MAX_SIDE_PX):
        raise StyleImageError(f"{path}: {width} x {height} px is not a depth frame "
                              f"(at most {MAX_SIDE_PX} px a side)")
    return width, height


def read_depth_image(path: str | Path, scale_mm: float | None = None) -> StyleImage:
    """Decode a depth PNG to mm, with the unit given, from the sidecar, or guessed."""
    path = Path(path)
    if path.is_dir():
        raise StyleImageError(f"{path}: a folder, not an image")
    check_png_header(path)
    image = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise StyleImageError(f"{path}: not an image (damaged PNG)")
    try:
        raw, encoding = decode_depth(image)
    except ValueError as e:
        raise StyleImageError(f"{path}: {e}") from None
    if np.count_nonzero(raw) < MIN_DEPTH_PIXELS:
        raise StyleImageError(f"{path}: no depth data found ({encoding})")
    if encoding == "NYU RGB":
        scale, source = 1.0, "encoding"
    elif scale_mm is not None:
        scale, source = _checked_scale(path, scale_mm, "the given scale"), "given"
    elif (sidecar := read_sidecar(path)) is not None:
        scale, source = sidecar, "sidecar"
    else:
        scale, source = guess_scale(path, raw, encoding), "guessed"
    depth = raw * np.float32(scale)
    near = nearest_depth(depth)
    if not HAND_RANGE_MM[0] <= near <= HAND_RANGE_MM[1]:
        raise StyleImageError(f"{path}: nearest depth {near:.0f} mm at {scale:g} mm per unit "
                              f"({source}) is outside the hand range "
                              f"{HAND_RANGE_MM[0]:.0f}-{HAND_RANGE_MM[1]:.0f} mm")
    return StyleImage(depth, encoding, float(scale), source)


def decode_depth(image: np.ndarray) -> tuple[np.ndarray, str]:
    """(float32 depth in stored units, encoding) of a decoded PNG; ValueError if it is none."""
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2 and image.dtype == np.uint16:
        return image.astype(np.float32), "uint16"
    if image.ndim == 2 and image.dtype == np.uint8:
        return image.astype(np.float32), "8-bit grey"
    if image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3:
        b, g, r = (image[:, :, k].astype(np.int32) for k in range(3))
        if np.abs(b - g).mean() <= GREY_CHANNEL_TOLERANCE and np.abs(g - r).mean() <= GREY_CHANNEL_TOLERANCE:
            return g.astype(np.float32), "8-bit grey"
        if not is_nyu_packed(b, g, r):
            raise ValueError("a colour image, not a depth image (nor NYU's RGB-packed depth)")
        depth = (g * 256 + b).astype(np.float32)
        depth[depth >= NYU_NO_DATA_MM] = 0.0
        return depth, "NYU RGB"
    channels = 1 if image.ndim == 2 else image.shape[2]
    raise ValueError(f"unsupported depth encoding ({image.dtype}, {channels} channels)")


def is_nyu_packed(b: np.ndarray, g: np.ndarray, r: np.ndarray) -> bool:
    """The NYU packing's signature (module docstring) on int32 channels."""
    if np.mean(r == 0) < NYU_RED_ZERO_SHARE or g.max() > NYU_MAX_HIGH_BYTE:
        return False
    depth = g * 256 + b
    wraps = steps = 0
    for d0, d1, g0, g1 in ((depth[:, :-1], depth[:, 1:], g[:, :-1], g[:, 1:]),
                           (depth[:-1], depth[1:], g[:-1], g[1:])):
        step = (np.abs(g0 - g1) == 1) & (d0 < NYU_NO_DATA_MM) & (d1 < NYU_NO_DATA_MM)
        steps += int(step.sum())
        wraps += int((np.abs(d0 - d1)[step] < 128).sum())
    return steps < NYU_MIN_STEPS or wraps >= NYU_MIN_CONTINUITY * steps


def nearest_depth(depth: np.ndarray) -> float:
    """Depth of the nearest object: a low percentile of the measured pixels."""
    return float(np.percentile(depth[depth > 0], NEAREST_PERCENTILE))


def guess_scale(path: Path, raw: np.ndarray, encoding: str) -> float:
    """mm per stored unit that puts the nearest object at a hand's distance."""
    near = nearest_depth(raw)
    if encoding == "8-bit grey":
        return TYPICAL_HAND_MM / near
    for scale in GUESS_SCALES_MM:
        if HAND_RANGE_MM[0] <= near * scale <= HAND_RANGE_MM[1]:
            return scale
    units = ", ".join(f"{s:g}" for s in GUESS_SCALES_MM)
    raise StyleImageError(f"{path}: no hand-range depth ({HAND_RANGE_MM[0]:.0f}-"
                          f"{HAND_RANGE_MM[1]:.0f} mm) at any usual unit ({units} mm); "
                          f"give the scale (--style-scale or {sidecar_path(path).name})")


def sidecar_path(path: Path) -> Path:
    """IMAGE.png -> IMAGE.json beside it."""
    return path.with_suffix(".json")


def read_sidecar(path: Path) -> float | None:
    """The depth scale from IMAGE.json beside the image, None without one."""
    side = sidecar_path(path)
    if not side.is_file():
        return None
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise StyleImageError(f"{side}: not a readable JSON sidecar ({e.__class__.__name__})") from None
    if not isinstance(data, dict) or SIDECAR_KEY not in data:
        raise StyleImageError(f"{side}: expected {{\"{SIDECAR_KEY}\": number}}")
    return _checked_scale(side, data[SIDECAR_KEY], f"{SIDECAR_KEY}")


def _checked_scale(path: Path, value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not np.isfinite(value) or value <= 0:
        raise StyleImageError(f"{path}: {what} must be a positive number of mm, got {value!r}")
    return float(value)
