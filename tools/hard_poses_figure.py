"""The issue-15 figure: the hardest poses before and after the new default generator
(run: python -m tools.hard_poses_figure [OUT.png], default docs/hard_poses.png).

Rows: the presets fist, ok, pinch and grasp (seen by the preset's own camera), then the
CANDIDATES held-out poses of the development stream (engine.seeds: training seed 0 +
DEVELOPMENT_SEED_OFFSET, never the test seed) on which the previous generator with its cut
scores the lowest mean per-finger IoU; these are mostly side and edge-on views.
Columns: simulator (clean render crop) | before raw | before with cut | before error | after
(raw = with cut: its cut is the identity) | after error. "Before" is generator_soft, "after"
generator_default. Depth panels share the row's colour range (the simulator's hand depth);
errors are |G - sim| in mm per pixel over the union of hand pixels, the per-pixel term of
engine.eval.metrics.full_abs_error_mm, on one fixed scale (0..ERROR_MAX_MM, legend at the foot).
Each row's numbers (mean per-finger IoU, full-crop MAE) come from the project's metric functions.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from engine.data.crop import crop_depth, make_transform, normalise_joints
from engine.data.readers.sim import SimConfig, crop_sample, render_at_crop
from engine.eval.evaluate import FINGER_PARTS, crop_part_labels
from engine.eval.metrics import BACKGROUND, DEPTH_RANGE, HALF_CUBE_MM, full_abs_error_mm, hand_mask, part_iou
from engine.hand.presets import load_preset
from engine.io_utils import write_png
from engine.models import DEFAULT_GENERATOR_PATH, SOFT_GENERATOR_PATH
from engine.models.generator import load_generator
from engine.models.inference import InferenceGenerator
from engine.models.pose_encoding import crop_view
from engine.seeds import DEFAULT_TRAINING_SEED, DEVELOPMENT_SEED_OFFSET

OUT_PATH = Path(__file__).resolve().parents[1] / "docs" / "hard_poses.png"
PRESETS = ("fist", "ok", "pinch", "grasp")
DEV_SEED = DEFAULT_TRAINING_SEED + DEVELOPMENT_SEED_OFFSET
CANDIDATES = 200  # development poses searched for the hardest
DEV_ROWS = 4
ERROR_MAX_MM = 40.0
PANEL_PX = 160
HEADER_PX = 18
COLUMNS = ("simulator", "before raw", "before + cut", "before |err|", "after", "after |err|")


@dataclass(frozen=True, eq=False)
class Case:
    """One pose in the crop convention: name, clean crop, its part labels, y, view and the hand's
    thickness (which a shape-aware G is told)."""

    name: str
    clean: np.ndarray
    labels: np.ndarray
    y: np.ndarray
    view: np.ndarray
    thickness: float


def preset_case(name: str) -> Case:
    """A preset rendered at the crop's resolution, as engine.data.readers.sim.crop_sample does."""
    record = load_preset(name)
    transform = make_transform(record.joints, record.camera)
    thickness = record.hand.shape.thickness if record.hand is not None else 1.0
    clean, identity = render_at_crop(record.joints, transform, thickness)
    return Case(name, crop_depth(clean.depth, identity), clean.labels,
                normalise_joints(record.joints, transform), crop_view(transform), thickness)


def dev_case(index: int) -> Case:
    s = crop_sample(SimConfig(seed=DEV_SEED), index)
    return Case(f"dev #{index}", s.clean, s.labels, s.y, crop_view(s.transform), s.hand.shape.thickness)


def _inputs(cases: list[Case]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y, view, thickness) of the cases, as a generator takes them."""
    return (np.stack([c.y for c in cases]), np.stack([c.view for c in cases]),
            np.float32([c.thickness for c in cases]))


def finger_iou(images: np.ndarray, cases: list[Case]) -> np.ndarray:
    """(N,) mean per-finger IoU of generated crops against the cases' render labels, as
    `evaluate` scores it (crop_part_labels against the reference's labels inside its hand)."""
    y, view = np.stack([c.y for c in cases]), np.stack([c.view for c in cases])
    ref = np.stack([c.clean for c in cases])
    reference_labels = np.where(hand_mask(ref), np.stack([c.labels for c in cases]), 0)
    with np.errstate(all="ignore"):
        return np.nanmean(part_iou(crop_part_labels(images, y, view), reference_labels, FINGER_PARTS), axis=1)


def full_mae(images: np.ndarray, cases: list[Case]) -> np.ndarray:
    total, pixels = full_abs_error_mm(images, np.stack([c.clean for c in cases]))
    return total / np.maximum(pixels, 1)


def error_map_mm(image: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(|G - sim| in mm per pixel, union of hand pixels): full_abs_error_mm's per-pixel term."""
    ma, mb = hand_mask(image)[0], hand_mask(reference)[0]
    da, db = np.where(ma, image, BACKGROUND), np.where(mb, reference, BACKGROUND)
    return np.minimum(np.abs(da - db), DEPTH_RANGE) * HALF_CUBE_MM, ma | mb


def hardest_dev_cases(before: InferenceGenerator, count: int = DEV_ROWS, candidates: int = CANDIDATES) -> list[Case]:
    """The `count` development poses (of the first `candidates`) where `before` with its cut has
    the lowest mean per-finger IoU; ties and NaN (no finger visible) go last, by index."""
    cases = [dev_case(i) for i in range(candidates)]
    _, cut = before.raw_and_cut(*_inputs(cases))
    scores = np.nan_to_num(finger_iou(cut, cases), nan=np.inf)
    return [cases[i] for i in np.argsort(scores, kind="stable")[:count]]


def _depth_panel(crop: np.ndarray, lo: float, hi: float) -> np.ndarray:
    mask = hand_mask(crop)[0]
    t = np.clip((crop - lo) / max(hi - lo, 1e-6), 0, 1)
    img = cv2.applyColorMap((255 * (1 - t)).astype(np.uint8), cv2.COLORMAP_TURBO)
    img[~mask] = 0
    return img


def _error_panel(err: np.ndarray, union: np.ndarray) -> np.ndarray:
    img = cv2.applyColorMap((255 * np.clip(err / ERROR_MAX_MM, 0, 1)).astype(np.uint8), cv2.COLORMAP_INFERNO)
    img[~union] = 40
    return img


def _text(img: np.ndarray, text: str, xy: tuple[int, int], colour=(0, 0, 0), scale: float = 0.4) -> None:
    cv2.putText(img, text, xy, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)


def row_image(case: Case, before_raw: np.ndarray, before_cut: np.ndarray, after: np.ndarray,
              panel_px: int = PANEL_PX) -> tuple[np.ndarray, dict]:
    """One row (header strip + six panels) and its numbers."""
    hand = case.clean[hand_mask(case.clean)[0]]
    lo, hi = (float(hand.min()), float(hand.max())) if hand.size else (-1.0, 1.0)
    err_b, union_b = error_map_mm(before_cut, case.clean)
    err_a, union_a = error_map_mm(after, case.clean)
    panels = [_depth_panel(case.clean, lo, hi), _depth_panel(before_raw, lo, hi), _depth_panel(before_cut, lo, hi),
              _error_panel(err_b, union_b), _depth_panel(after, lo, hi), _error_panel(err_a, union_a)]
    panels = [cv2.resize(p, (panel_px, panel_px), interpolation=cv2.INTER_NEAREST) for p in panels]
    body = np.hstack([np.pad(p, ((0, 0), (0, 2), (0, 0)), constant_values=255) for p in panels])
    images = np.stack([before_raw, before_cut, after])
    fi, mae = finger_iou(images, [case] * 3), full_mae(images, [case] * 3)
    numbers = {"finger_iou": dict(zip(("before_raw", "before_cut", "after"), fi.round(3).tolist())),
               "full_mae_mm": dict(zip(("before_raw", "before_cut", "after"), mae.round(2).tolist()))}
    header = np.full((HEADER_PX, body.shape[1], 3), 255, np.uint8)
    _text(header, case.name, (4, 13))
    for k, col in ((0, 1), (1, 2), (2, 4)):
        _text(header, f"fIoU {fi[k]:.2f}  MAE {mae[k]:.1f}mm", (col * (panel_px + 2) + 4, 13))
    return np.vstack([header, body]), numbers


def _titles(width: int, panel_px: int) -> np.ndarray:
    strip = np.full((HEADER_PX, width, 3), 255, np.uint8)
    for k, name in enumerate(COLUMNS):
        _text(strip, name, (k * (panel_px + 2) + 4, 13), scale=0.45)
    return strip


def _legend(width: int, panel_px: int) -> np.ndarray:
    strip = np.full((56, width, 3), 255, np.uint8)
    x0, bar_w = 4, min(width - 8, 3 * panel_px)
    ramp = np.linspace(0, 255, bar_w).astype(np.uint8)[None].repeat(10, 0)
    strip[4:14, x0:x0 + bar_w] = cv2.applyColorMap(ramp, cv2.COLORMAP_INFERNO)
    _text(strip, "0", (x0, 28))
    _text(strip, f"{ERROR_MAX_MM:.0f}+ mm  |G - sim| over hand pixels of either", (x0 + bar_w - 40, 28))
    _text(strip, "before: generator_soft (soft output + calibrated cut); after: generator_default (mask output,"
          " its cut the identity); fIoU: mean per-finger IoU", (x0, 40), scale=0.35)
    _text(strip, f"dev #i: sample i of the development seed {DEV_SEED}, the {DEV_ROWS} of its first {CANDIDATES}"
          " with the lowest fIoU for before + cut", (x0, 52), scale=0.35)
    return strip


def figure(cases: list[Case], before: InferenceGenerator, after: InferenceGenerator,
           panel_px: int = PANEL_PX) -> tuple[np.ndarray, list[dict]]:
    """The figure (uint8 BGR) and each row's numbers, for `cases` run through both generators."""
    inputs = _inputs(cases)
    b_raw, b_cut = before.raw_and_cut(*inputs)
    _, a_cut = after.raw_and_cut(*inputs)
    rows = [row_image(c, b_raw[i], b_cut[i], a_cut[i], panel_px) for i, c in enumerate(cases)]
    body = np.vstack([r for r, _ in rows])
    image = np.vstack([_titles(body.shape[1], panel_px), body, _legend(body.shape[1], panel_px)])
    return image, [{"pose": c.name, **n} for c, (_, n) in zip(cases, rows)]


def main(out: str | Path = OUT_PATH) -> list[dict]:
    torch.set_num_threads(1)  # one summation order, so the same bytes on every machine load
    before = InferenceGenerator(load_generator(SOFT_GENERATOR_PATH)[0])
    after = InferenceGenerator(load_generator(DEFAULT_GENERATOR_PATH)[0])
    cases = [preset_case(p) for p in PRESETS] + hardest_dev_cases(before)
    image, numbers = figure(cases, before, after)
    write_png(out, image)
    return numbers


if __name__ == "__main__":
    if len(sys.argv) > 2:
        raise SystemExit("usage: python -m tools.hard_poses_figure [OUT.png]")
    for n in main(*sys.argv[1:]):
        print(n)
