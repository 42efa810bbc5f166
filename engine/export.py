"""The one sample layout and its one writer: Ctrl+E, `render`, `generate` and `dataset` all
write a sample through `write_sample`; engine.data.readers.own reads it back.

A sample STEM in a folder:
    STEM_depth.png       the depth that was written (after the style): uint16 mm, 0 = no data
    STEM_depth.npy       the same as float32 mm (only when asked: PNG rounds to 1 mm)
    STEM_unstyled.png    the source's depth before the style (only when a style changed it)
    STEM_labels.png      part labels (uint8, legend in the pose file) OF STEM_depth.png:
                         > 0 exactly where it has depth (engine.sample_labels)
    STEM_mask.png        the valid-depth mask (255 = depth; every such pixel is hand)
    STEM_controlnet.png  8-bit depth for ControlNet, square around the hand (engine.controlnet)
    STEM_skeleton.png    the OpenPose-coloured hand skeleton on the same square (these two
                         unless switched off: a dataset writes them only when asked)
    STEM_preview.png     a colour preview for people (unless switched off)
    STEM_pose.json       the pose (engine.hand.pose_io's schema) + 2D joints, visibility,
                         provenance, legend and file list; placed last, so a sample whose pose
                         file exists is complete
Everything is computed before the first byte is written. A sample appears all at once or not
at all (engine.staged_files: an exclusive name, staged, committed, moved into place); an
existing sample is replaced only with `force` (its files are swapped one by one, the pose
file last). Without a stem, the next free "pair_NNNN" is taken.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from itertools import count
from pathlib import Path

import numpy as np

from engine.camera import Camera
from engine.controlnet import Conditioning, ControlNetOptions, conditioning_images
from engine.hand.pose_io import PoseRecord, record_to_dict
from engine.hand.skeleton import JOINT_NAMES, PART_LABELS
from engine.frame_box import Box, content_box
from engine.io_utils import atomic_write_bytes, depth_to_uint16, encode_png, json_text
from engine.png import encode_grey_png_window
from engine.sample_labels import joint_visibility, labels_of_depth
from engine.sim.preview import depth_preview
from engine.staged_files import Staging, recover, reserve, staged_stems

FORMAT = "handdepth.sample"
FORMAT_VERSION = 1
STEM_PREFIX = "pair"
STEM_DIGITS = 4
# Every file a sample may have, in move order: the pose file last (readers key on it).
SUFFIXES = {"depth": "_depth.png", "depth_npy": "_depth.npy", "unstyled": "_unstyled.png",
            "labels": "_labels.png", "mask": "_mask.png", "controlnet": "_controlnet.png",
            "skeleton": "_skeleton.png", "preview": "_preview.png", "pose": "_pose.json"}
POSE_SUFFIX = SUFFIXES["pose"]
_STEM_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_STEM_TRIES = 10000  # free numbers tried before giving up (only a broken folder gets there)
MASK_ON = 255

LEGEND = {
    "depth": "uint16 PNG, millimetres along the optical axis, 0 = no data",
    "labels": {str(i): name for i, name in enumerate(PART_LABELS)},
    "mask": f"{MASK_ON} = valid depth (all of it hand), 0 = no data",
    "joints": list(JOINT_NAMES),
    "joints_frame": "mm, camera frame: x right, y down, z forward (OpenCV)",
    "joints_2d": "pixels (u right, v down) of the full frame, pixel centres at integers",
    "visibility": "true = the joint's skin is seen from the camera in the written depth",
}


class ExportError(OSError):
    """An export that cannot be done; str() is one line."""


@dataclass(frozen=True)
class SampleOptions:
    """Which optional files a sample gets, and how its ControlNet map is made."""

    npy: bool = False
    preview: bool = True
    conditioning: bool = True  # STEM_controlnet.png and STEM_skeleton.png
    controlnet: ControlNetOptions = field(default_factory=ControlNetOptions)
    durable: bool = True  # flush each file to the disk (datasets flush in batches instead)


@dataclass(frozen=True, eq=False)
class SampleContent:
    """Everything one sample holds, computed and checked, ready to be written."""

    record: PoseRecord
    depth: np.ndarray  # float32 mm, the written (styled) depth
    unstyled: np.ndarray | None  # float32 mm before the style; None when the style changed nothing
    labels: np.ndarray  # uint8 part labels of `depth`
    visibility: np.ndarray  # (21,) bool
    provenance: dict
    # The content boxes (engine.frame_box) of `depth` and `unstyled`, None for a frame with
    # none: found once by make_sample, so checking, labelling and encoding read the box alone.
    depth_box: Box | None
    unstyled_box: Box | None


def make_sample(record: PoseRecord, depth: np.ndarray, unstyled: np.ndarray | None = None,
                reference_labels: np.ndarray | None = None,
                provenance: dict | None = None) -> SampleContent:
    """Check a frame against its pose and derive its labels and joint visibility.

    `record.extra` is not carried over (it is the input's metadata, not this sample's);
    `provenance` (source, style, sensor, seed, model ...) is. `reference_labels` are the clean
    render's labels when the source is the simulator (engine.sample_labels).
    """
    cam = record.camera
    depth, box = _checked_depth(depth, cam, "depth")
    unstyled_box = None
    if unstyled is not None and np.asarray(unstyled, dtype=np.float32) is depth:
        unstyled = None  # the very frame (no style): equal, and depth is finite
    if unstyled is not None:
        unstyled, unstyled_box = _checked_depth(unstyled, cam, "unstyled depth")
        if _same_frame(unstyled, depth):
            unstyled, unstyled_box = None, None
    if reference_labels is not None and np.asarray(reference_labels).shape != depth.shape:
        raise ExportError("labels and depth differ in size")
    thickness = record.hand.shape.thickness if record.hand is not None else 1.0
    if box is None:  # no pixel with depth: no label
        labels = np.zeros(depth.shape, np.uint8)
    else:
        labels = labels_of_depth(depth, record.joints, cam, thickness, reference_labels, box)
    return SampleContent(record=record, depth=depth, unstyled=unstyled, labels=labels,
                         visibility=joint_visibility(depth, record.joints, cam),
                         provenance=dict(provenance or {}), depth_box=box, unstyled_box=unstyled_box)


# Every this-many-th row is compared first: a style changes most of the hand's pixels, and a
# hand is taller than this, so a styled frame differs within a few thousand pixels.
_PROBE_ROW_STEP = 16


def _same_frame(a: np.ndarray, b: np.ndarray) -> bool:
    """np.array_equal(a, b) of two frames of one shape, deciding "differ" from a sample of rows
    when it can (a full comparison reads and writes 3 MB: a tenth of a ms)."""
    if not np.array_equal(a[::_PROBE_ROW_STEP], b[::_PROBE_ROW_STEP]):
        return False
    return np.array_equal(a, b)


def _checked_depth(depth: np.ndarray, cam: Camera, what: str) -> tuple[np.ndarray, Box | None]:
    """The frame as float32 and its content box, or an ExportError. Only the box can hold a
    non-finite value (outside it every pixel is +0), so only the box is tested."""
    d = np.asarray(depth, dtype=np.float32)
    if d.shape != (cam.height, cam.width):
        raise ExportError(f"{what} is {d.shape[1] if d.ndim > 1 else d.size}x{d.shape[0]}, "
                          f"the pose's camera is {cam.width}x{cam.height}")
    box = content_box(d)
    if box is not None and not np.all(np.isfinite(d[box])):
        raise ExportError(f"{what} has non-finite values (NaN or infinite)")
    return d, box


def sample_paths(folder: str | Path, stem: str) -> dict[str, Path]:
    """Where each file of sample `stem` goes (whether or not it has that file)."""
    folder = Path(folder)
    return {kind: folder / f"{stem}{suffix}" for kind, suffix in SUFFIXES.items()}


def next_free_stem(folder: str | Path, prefix: str = STEM_PREFIX) -> str:
    """The first "prefix_NNNN" after every numbered sample (finished or staged) in the folder.

    Only a hint: `write_sample` reserves the stem, and takes the next one when it lost a race.
    """
    folder = Path(folder)
    pattern = re.compile(rf"^{re.escape(prefix)}_(\d+)(?:_|$)")
    names = [p.name for p in folder.glob(f"{prefix}_*")] if folder.is_dir() else []
    numbers = [int(m.group(1)) for name in [*names, *staged_stems(folder)]
               if (m := pattern.match(name))]
    return f"{prefix}_{max(numbers, default=0) + 1:0{STEM_DIGITS}d}"


def encode_sample(content: SampleContent, stem: str,
                  options: SampleOptions = SampleOptions()) -> dict[str, bytes]:
    """The sample's files as {kind: bytes}, in SUFFIXES order (the pose file last).

    Pure: the same content gives the same bytes, which makes datasets reproducible.
    """
    record, cam = content.record, content.record.camera
    cond = conditioning_images(content.depth, record.joints, cam, options.controlnet) if options.conditioning else None
    joints_2d = cam.project(record.joints)
    box = content.depth_box
    files: dict[str, bytes] = {"depth": _depth_png(content.depth, box)}
    if options.npy:
        files["depth_npy"] = _npy(content.depth)
    if content.unstyled is not None:
        files["unstyled"] = _depth_png(content.unstyled, content.unstyled_box)
    # Labels lie where depth > 0 (engine.sample_labels), inside the depth's box: its PNG is read
    # from that box, not from a box of their own (a pass over the frame, 40 us)
    files["labels"] = _window_png(content.labels, box)
    # MASK_ON (255) where depth > 0: none outside the depth's content box (numpy, not
    # cv2.compare, which refuses a 1x1 box)
    files["mask"] = _window_png(content.depth, box, lambda d: (d > 0).astype(np.uint8) * np.uint8(MASK_ON), np.uint8)
    if cond is not None:
        files["controlnet"] = encode_png(cond.depth)
        files["skeleton"] = encode_png(cond.skeleton)
    if options.preview:
        files["preview"] = encode_png(depth_preview(content.depth, content.labels, joints_2d))
    names = {kind: f"{stem}{SUFFIXES[kind]}" for kind in [*files, "pose"]}
    pose = _pose_document(content, joints_2d, cond, options.controlnet, names)
    files["pose"] = (json_text(pose) + "\n").encode("utf-8")
    return files


def _depth_png(depth: np.ndarray, box: Box | None) -> bytes:
    """The uint16 mm PNG of a float mm frame, converted inside its content box only."""
    return _window_png(depth, box, depth_to_uint16, np.uint16)


def _window_png(image: np.ndarray, box: Box | None,
                convert: Callable[[np.ndarray], np.ndarray] | None = None, dtype: type | None = None) -> bytes:
    """encode_png(convert(image)) of a frame whose content lies in `box` (engine.frame_box),
    reading and converting the box alone; `convert` maps 0 to 0 (the frame's empty part) and
    gives `dtype` (by default the image's). Only grey uint8/uint16 frames take that path."""
    out_dtype = np.dtype(dtype or image.dtype)
    if image.ndim != 2 or out_dtype not in (np.uint8, np.uint16):
        return encode_png(image if convert is None else convert(image))
    if box is None:  # nothing but +0
        return encode_grey_png_window(np.zeros((0, 0), out_dtype), (0, 0), image.shape)
    window = image[box] if convert is None else convert(image[box])
    return encode_grey_png_window(window, (box[0].start, box[1].start), image.shape)


def _npy(depth: np.ndarray) -> bytes:
    buf = BytesIO()
    np.save(buf, depth.astype(np.float32), allow_pickle=False)
    return buf.getvalue()


def _pose_document(content: SampleContent, joints_2d: np.ndarray, cond: Conditioning | None,
                   controlnet: ControlNetOptions, names: dict[str, str]) -> dict:
    r = content.record
    doc = record_to_dict(PoseRecord(joints=r.joints, camera=r.camera, handedness=r.handedness,
                                    hand=r.hand, name=r.name))
    doc.update({
        "sample": {"format": FORMAT, "version": FORMAT_VERSION},
        "joints_2d": np.round(joints_2d, 3).tolist(),
        "visibility": [bool(v) for v in content.visibility],
        "provenance": content.provenance,
    })
    if cond is not None:
        u0, v0, side = cond.window_px
        doc["controlnet"] = {"size": controlnet.size, "near_mm": round(cond.near_mm, 3),
                             "far_mm": round(cond.far_mm, 3), "invert": controlnet.invert,
                             "window_px": {"u0": u0, "v0": v0, "side": side}}
    doc.update({"files": names, "legend": LEGEND})
    return doc


def write_sample(folder: str | Path, content: SampleContent, stem: str | None = None,
                 options: SampleOptions = SampleOptions(), force: bool = False) -> dict[str, Path]:
    """Write one sample into `folder` (created if needed); returns {kind: path} of its files.

    An existing `stem` is an ExportError unless `force`. What a crashed writer left in the
    folder is finished or removed first (engine.staged_files.recover).
    """
    folder = Path(folder)
    if stem is not None and not _STEM_PATTERN.match(stem):
        raise ExportError(f"invalid sample name {stem!r} (letters, digits, '.', '_', '-')")
    folder.mkdir(parents=True, exist_ok=True)
    recover(folder)
    staging = _reserve_stem(folder, stem, force, options.durable)
    try:
        files = encode_sample(content, staging.stem, options)
        names = [f"{staging.stem}{SUFFIXES[kind]}" for kind in files]
        for name, data in zip(names, files.values()):
            atomic_write_bytes(staging.path(name), data, durable=options.durable)
        if force:
            _remove_others(folder, staging.stem, set(files))
        staging.commit(names, durable=options.durable)
    except BaseException:
        staging.abandon()
        raise
    paths = sample_paths(folder, staging.stem)
    return {kind: paths[kind] for kind in files}


def write_sample_in_place(folder: str | Path, content: SampleContent, stem: str,
                          options: SampleOptions = SampleOptions()) -> dict[str, Path]:
    """Write sample `stem` straight under its final names, replacing any older one; the pose
    file goes last, atomically (renamed from a fixed hidden name that a rerun overwrites).

    For a writer that owns its stems and resumes from its own record of finished samples (a
    dataset): readers key on the pose file, so until it lands the other files are not a sample,
    and a rerun rewrites them. Why: the staged path's reservation, staging folder and renames
    were a third of a dataset sample's I/O. No flushes: the dataset syncs in batches.
    """
    return place_in_place(folder, encode_sample(content, stem, options), stem)


def place_in_place(folder: str | Path, files: dict[str, bytes], stem: str) -> dict[str, Path]:
    """`write_sample_in_place` for files already encoded (`encode_sample`)."""
    folder = Path(folder)
    paths = sample_paths(folder, stem)
    paths["pose"].unlink(missing_ok=True)  # an older sample stops being one before its files change
    for kind, path in paths.items():
        if kind not in files:
            path.unlink(missing_ok=True)
        elif kind != "pose":
            path.write_bytes(files[kind])
    staged = folder / f".{paths['pose'].name}.tmp"
    staged.write_bytes(files["pose"])
    os.replace(staged, paths["pose"])
    return {kind: paths[kind] for kind in files}


def _remove_others(folder: Path, stem: str, kept: set[str]) -> None:
    """With `force`: an older sample's optional files that the new one does not have."""
    for kind, path in sample_paths(folder, stem).items():
        if kind not in kept:
            path.unlink(missing_ok=True)


def _reserve_stem(folder: Path, stem: str | None, force: bool, durable: bool) -> Staging:
    all_names = lambda s: [f"{s}{suffix}" for suffix in SUFFIXES.values()]  # noqa: E731
    if stem is not None:
        staging = reserve(folder, stem, [] if force else all_names(stem), durable=durable)
        if staging is None:
            what = "is being written by another exporter" if force else "exists; not overwriting it (force replaces it)"
            raise ExportError(f"{folder / stem}: a sample of that name {what}")
        return staging
    first = int(next_free_stem(folder).rsplit("_", 1)[1])
    for n in count(first):
        candidate = f"{STEM_PREFIX}_{n:0{STEM_DIGITS}d}"
        if (staging := reserve(folder, candidate, all_names(candidate), durable=durable)) is not None:
            return staging
        if n - first >= MAX_STEM_TRIES:
            break
    raise ExportError(f"{folder}: no free sample name after {MAX_STEM_TRIES} tries")

