"""Regenerate resources/styles/ (run: python -m tools.make_style_bank [SAMPLES_DIR]).

The bank holds crops of the real frames in shared/data/real_depth_samples (hand plus a margin,
in the file's own unit so the sensor's quantisation survives) and the simulator's sensor models,
each with a thumbnail, and an index.json naming source and licence per style. The licence
and attribution files of the real frames are copied beside the crops, as their terms require.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import cv2
import numpy as np

from app.thumbnails import image_thumbnail, pose_thumbnail
from engine.camera import DEFAULT_CAMERA
from engine.hand.controls import set_hand_distance
from engine.hand.presets import load_preset
from engine.io_utils import atomic_write_json, atomic_write_text, write_png
from engine.sim.sensor_match import hand_box
from engine.sim.sensors import SENSOR_NAMES, SENSORS
from engine.style.image import read_depth_image
from engine.style.registry import BANK_INDEX, BANK_VERSION, STYLE_DIR

DEFAULT_SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "real_depth_samples"
CROP_MARGIN_PX = 12  # room around the hand for its ragged outline and the edge holes
# Sensor thumbnails: a preset far enough that every model sees it (ToF starts at 500 mm).
THUMB_PRESET, THUMB_DISTANCE_MM, THUMB_SEED = "open_palm", 600.0, 0

SR305_SOURCE = ("Intel RealSense SR305 frame {frame}, github.com/LadaOndris/hand-recognition "
                "commit 5f8f9207f8cce3124cf92c60874691ebb8d0fe42, datasets/custom/{frame}; "
                "hand and margin cropped")
SR305_LICENCE = "MIT, Copyright (c) 2021 Ladislav Ondris"
NYU_SOURCE = ("NYU Hand Pose Dataset (Tompson et al., ACM TOG 2014), test/depth_1_0000001.png, "
              "Kinect v1; hand and margin cropped, stored as uint16 mm")
NYU_LICENCE = "CC BY 4.0, NYU Hand Pose Dataset (Tompson, Stein, LeCun, Perlin 2014)"
NYU_ATTRIBUTION = """# NYU Hand Pose Dataset: attribution (CC BY 4.0)

nyu_kinect_test1.png is a crop of test/depth_1_0000001.png of the NYU Hand Pose Dataset,
re-encoded from NYU's RGB packing to uint16 millimetres.

J. Tompson, M. Stein, Y. LeCun, K. Perlin, "Real-Time Continuous Pose Recovery of Human Hands
Using Convolutional Networks", ACM Transactions on Graphics 33(5), 2014.
Licence: Creative Commons Attribution 4.0 International, https://creativecommons.org/licenses/by/4.0/
"""

# (bank name, frame relative to the samples folder, title)
REAL_FRAMES: tuple[tuple[str, str, str], ...] = (
    ("sr305_palm_a", "sr305/20210326-230536/70.png", "SR305 real: open palm (a)"),
    ("sr305_palm_b", "sr305/20210326-230536/110.png", "SR305 real: open palm, tilted (b)"),
    ("sr305_palm_c", "sr305/20210326-230536/150.png", "SR305 real: open palm, turned (c)"),
    ("sr305_other", "sr305/20210326-231615/100.png", "SR305 real: non-gesture"),
    ("nyu_kinect_test1", "nyu/depth_1_0000001.png", "Kinect v1 real: NYU test frame 1"),
)


def crop_box(depth_mm: np.ndarray, path: Path) -> tuple[slice, slice]:
    box = hand_box(depth_mm)
    if box is None:
        raise SystemExit(f"error: {path}: no hand found")
    rows, cols = box
    h, w = depth_mm.shape
    return (slice(max(rows.start - CROP_MARGIN_PX, 0), min(rows.stop + CROP_MARGIN_PX, h)),
            slice(max(cols.start - CROP_MARGIN_PX, 0), min(cols.stop + CROP_MARGIN_PX, w)))


def real_entry(samples: Path, name: str, rel: str, title: str) -> dict:
    path = samples / rel
    style = read_depth_image(path)
    rows, cols = crop_box(style.depth, path)
    if style.encoding == "NYU RGB":
        stored, scale = np.rint(style.depth[rows, cols]).astype(np.uint16), 1.0
        source, licence, licence_file = NYU_SOURCE, NYU_LICENCE, "ATTRIBUTION-nyu.md"
    else:
        stored = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[rows, cols]
        scale = style.scale_mm
        frame = "/".join(Path(rel).parts[1:])
        source, licence, licence_file = SR305_SOURCE.format(frame=frame), SR305_LICENCE, "LICENSE-sr305.txt"
    write_png(STYLE_DIR / f"{name}.png", stored)
    write_png(STYLE_DIR / "thumbs" / f"{name}.png", image_thumbnail(stored * np.float32(scale)))
    return {"name": name, "kind": "image", "title": title,
            "description": f"a real frame's hand, {stored.shape[1]} x {stored.shape[0]} px",
            "image": f"{name}.png", "depth_scale_mm": scale, "thumbnail": f"thumbs/{name}.png",
            "source": source, "licence": licence, "licence_file": licence_file}


def sensor_entry(sensor: str) -> dict:
    hand = set_hand_distance(load_preset(THUMB_PRESET).hand, THUMB_DISTANCE_MM)
    thumb = pose_thumbnail(hand.joints(), DEFAULT_CAMERA, hand.shape.thickness, sensor, THUMB_SEED)
    write_png(STYLE_DIR / "thumbs" / f"{sensor}.png", thumb)
    info = SENSORS[sensor]
    return {"name": sensor, "kind": "sensor", "sensor": sensor, "title": info.title,
            "description": info.description, "thumbnail": f"thumbs/{sensor}.png",
            "source": "HandDepth Studio simulator, engine/sim/sensors.py (models cited there)",
            "licence": "part of HandDepth Studio (no third-party data)"}


def main(argv: list[str]) -> int:
    samples = Path(argv[0]) if argv else DEFAULT_SAMPLES
    if not samples.is_dir():
        print(f"error: {samples}: no real depth samples folder", file=sys.stderr)
        return 2
    shutil.copyfile(samples / "sr305" / "LICENSE", STYLE_DIR / "LICENSE-sr305.txt")
    atomic_write_text(STYLE_DIR / "ATTRIBUTION-nyu.md", NYU_ATTRIBUTION)
    styles = [sensor_entry(s) for s in SENSOR_NAMES]
    styles += [real_entry(samples, *frame) for frame in REAL_FRAMES]
    atomic_write_json(BANK_INDEX, {"version": BANK_VERSION, "styles": styles})
    print(f"wrote {len(styles)} styles to {STYLE_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
