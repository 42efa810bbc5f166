"""The issue-13 figure: clean | G | G + style | the style image, one row per style
(run: python -m tools.style_columns_figure OUT.png [PRESET] STYLE...).

Each row shows one preset pose: the clean simulator render, the shipped generator's raw frame,
that frame through the style (the registry's Style, as the app and `generate --style` use it,
seed 0, strength 1) and the style's own source image (for a sensor style: the preset rendered
through that sensor). Panels are cropped to the hand and colour-mapped on their own range
(engine.style.preview.side_by_side), so holes stay black.
"""
from __future__ import annotations

import sys

import cv2
import numpy as np

from engine.camera import DEFAULT_CAMERA
from engine.hand.presets import load_preset
from engine.io_utils import write_png
from engine.models.generator import generate_depth, load_generator
from engine.sim.render import render_hand
from engine.sim.sensors import SENSOR_NAMES, apply_sensor
from engine.style.preview import side_by_side
from engine.style.registry import resolve_style

ROW_HEIGHT_PX = 180
LABEL_HEIGHT_PX = 20
MARGIN_PX = 12


def _hand_box(depth: np.ndarray) -> tuple[slice, slice]:
    rows, cols = np.flatnonzero((depth > 0).any(1)), np.flatnonzero((depth > 0).any(0))
    return (slice(max(rows[0] - MARGIN_PX, 0), rows[-1] + MARGIN_PX),
            slice(max(cols[0] - MARGIN_PX, 0), cols[-1] + MARGIN_PX))


def row(preset: str, style_name: str, model) -> np.ndarray:
    record = load_preset(preset)
    joints, camera = record.joints, DEFAULT_CAMERA
    clean = render_hand(joints, camera).depth
    generated = generate_depth(model, joints, camera)
    style = resolve_style(style_name).prepare()
    styled = style.apply(generated, camera, 0, 1.0)
    if style.image is not None:
        source = style.image.depth
    elif style_name in SENSOR_NAMES:
        source = apply_sensor(clean, camera, style_name, 1)
    else:
        raise SystemExit(f"error: style {style_name!r} has no source image to show")
    box = _hand_box(clean)
    source = source[_hand_box(source)] if (source > 0).any() else source
    panels = side_by_side([clean[box], generated[box], styled[box], source], ROW_HEIGHT_PX)
    label = np.full((LABEL_HEIGHT_PX, panels.shape[1], 3), 255, np.uint8)
    text = f"{style_name}: clean | G | G + style | style image"
    cv2.putText(label, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([label, panels])


def figure(preset: str, styles: list[str]) -> np.ndarray:
    model, _ = load_generator()
    rows = [row(preset, s, model) for s in styles]
    width = max(r.shape[1] for r in rows)
    return np.vstack([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows])


if __name__ == "__main__":
    if len(sys.argv) < 4:
        raise SystemExit("usage: python -m tools.style_columns_figure OUT.png PRESET STYLE...")
    write_png(sys.argv[1], figure(sys.argv[2], sys.argv[3:]))
