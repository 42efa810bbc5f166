"""Index files that let other people's training code read a dataset as it is (`--format`).

The samples stay in the one layout (engine.export); a format adds one index file beside the
manifest, written from the samples' pose files when the dataset is merged, so it is the same
bytes however the dataset was split or resumed. Joint orders: docs/dataset_formats.md.
    own             nothing more (manifest.jsonl is the index)
    icvl            labels.txt: `DEPTH_PNG u v d` x 16 ICVL joints a line (engine.data.readers.icvl)
    keypoints-json  keypoints.json: COCO-style hand keypoints, the 21 joints in MediaPipe order
                    (= COCO-WholeBody's hand order), plus the 3D joints in mm
    controlnet      prompt.json: one {"source", "target", "prompt"} a line, as ControlNet's
                    training tutorial reads it: source = the OpenPose hand skeleton (the
                    control image), target = the 8-bit ControlNet depth map
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from engine.data.readers.icvl import ICVL_TABLE, NUM_ICVL_JOINTS
from engine.hand.skeleton import BONES, FINGER_JOINTS, FINGERS, JOINT_NAMES
from engine.io_utils import atomic_write_text

FORMATS = ("own", "icvl", "keypoints-json", "controlnet")
ICVL_LABELS, KEYPOINTS_JSON, PROMPT_JSON = "labels.txt", "keypoints.json", "prompt.json"
# ICVL joint 0 is the palm centre, which our skeleton lacks: the mean of the wrist and the four
# finger MCPs lies on the palm's centre line, at the middle of the palm.
ICVL_PALM_FROM = (0,) + tuple(FINGER_JOINTS[f][0] for f in FINGERS[1:])
# COCO keypoint visibility flags: 2 labelled and visible, 1 labelled but occluded, 0 not labelled.
COCO_VISIBLE, COCO_OCCLUDED, COCO_UNLABELLED = 2, 1, 0
DECIMALS = 3


def check_format(name: str) -> str:
    if name not in FORMATS:
        raise ValueError(f"unknown --format {name!r}; choose from {', '.join(FORMATS)}")
    return name


def icvl_joints(joints: np.ndarray) -> np.ndarray:
    """(16, 3) ICVL joints from our 21 (palm centre first, then root, mid, tip per finger)."""
    out = np.zeros((NUM_ICVL_JOINTS, 3))
    out[0] = joints[list(ICVL_PALM_FROM)].mean(axis=0)
    for ours, theirs in enumerate(ICVL_TABLE):
        if theirs is not None:
            out[theirs] = joints[ours]
    return out


def _project(joints: np.ndarray, camera: dict) -> np.ndarray:
    z = joints[:, 2]
    return np.stack([camera["fx"] * joints[:, 0] / z + camera["cx"],
                     camera["fy"] * joints[:, 1] / z + camera["cy"]], axis=-1)


def _icvl(out: Path, rows: list[dict], docs: list[dict]) -> Path:
    lines = []
    for row, doc in zip(rows, docs):
        joints = icvl_joints(np.asarray(doc["joints"], dtype=np.float64))
        uvd = np.concatenate([_project(joints, doc["camera"]), joints[:, 2:]], axis=1)
        lines.append(" ".join([row["files"]["depth"], *(f"{v:.{DECIMALS}f}" for v in uvd.reshape(-1))]))
    atomic_write_text(out / ICVL_LABELS, "\n".join(lines) + "\n")
    return out / ICVL_LABELS


def _keypoints(out: Path, rows: list[dict], docs: list[dict]) -> Path:
    images, annotations = [], []
    for row, doc in zip(rows, docs):
        cam, uv = doc["camera"], np.asarray(doc["joints_2d"], dtype=np.float64)
        inside = (uv[:, 0] >= 0) & (uv[:, 0] < cam["width"]) & (uv[:, 1] >= 0) & (uv[:, 1] < cam["height"])
        flags = np.where(np.asarray(doc["visibility"]), COCO_VISIBLE, COCO_OCCLUDED)
        flags = np.where(inside, flags, COCO_UNLABELLED)
        flat = [[round(float(u), DECIMALS), round(float(v), DECIMALS), int(f)] if f else [0, 0, 0]
                for (u, v), f in zip(uv, flags)]
        labelled = uv[flags > 0]
        lo, hi = (labelled.min(axis=0), labelled.max(axis=0)) if len(labelled) else (np.zeros(2), np.zeros(2))
        images.append({"id": row["index"], "file_name": row["files"]["depth"],
                       "width": cam["width"], "height": cam["height"]})
        annotations.append({
            "id": row["index"], "image_id": row["index"], "category_id": 1,
            "hand_type": doc["handedness"], "keypoints": [x for k in flat for x in k],
            "num_keypoints": int((flags > 0).sum()),
            "bbox": [round(float(v), DECIMALS) for v in (*lo, *(hi - lo))],
            "keypoints_3d_mm": doc["joints"], "camera": cam})
    categories = [{"id": 1, "name": "hand", "supercategory": "hand", "keypoints": list(JOINT_NAMES),
                   "skeleton": [[p + 1, c + 1] for p, c in BONES]}]  # COCO's skeleton is 1-based
    doc = {"info": {"description": "HandDepth Studio dataset: 21 hand keypoints in MediaPipe order",
                    "keypoint_visibility": {"2": "visible in the depth", "1": "occluded", "0": "outside the image"}},
           "images": images, "annotations": annotations, "categories": categories}
    atomic_write_text(out / KEYPOINTS_JSON, json.dumps(doc) + "\n")
    return out / KEYPOINTS_JSON


def prompt_of(doc: dict) -> str:
    """The sample's text prompt: what the target image shows, in plain words."""
    prov = doc.get("provenance", {})
    sensor = prov.get("sensor", "none")
    look = "a clean" if sensor in ("none", None) else f"a {sensor} style"
    near = "black" if doc.get("controlnet", {}).get("invert") else "white"
    return f"{look} depth map of a {doc['handedness']} hand, near is {near}"


def _controlnet(out: Path, rows: list[dict], docs: list[dict]) -> Path:
    lines = []
    for row, doc in zip(rows, docs):
        files = row["files"]
        missing = [k for k in ("skeleton", "controlnet") if k not in files]
        if missing:
            raise ValueError(f"{out / files['pose']}: no {missing[0]} image for --format controlnet")
        lines.append(json.dumps({"source": files["skeleton"], "target": files["controlnet"],
                                 "prompt": prompt_of(doc)}))
    atomic_write_text(out / PROMPT_JSON, "\n".join(lines) + "\n")
    return out / PROMPT_JSON


_WRITERS: dict[str, Callable[[Path, list[dict], list[dict]], Path]] = {
    "icvl": _icvl, "keypoints-json": _keypoints, "controlnet": _controlnet}


def write_format(out: Path, name: str, rows: list[dict]) -> Path | None:
    """Write format `name`'s index for the manifest `rows` (in index order); None for own."""
    if check_format(name) == "own":
        return None
    docs = [json.loads((out / r["files"]["pose"]).read_text(encoding="utf-8")) for r in rows]
    return _WRITERS[name](out, rows, docs)
