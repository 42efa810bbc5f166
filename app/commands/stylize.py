"""`python main.py stylize`: optimise one depth image towards a style image's look (issue 13, way 2).

Slow and of the highest quality: minutes per image on a CPU (engine.style.optimize). torch and
tqdm are imported only when the command runs, so `--help` starts without them.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from engine.camera import DEFAULT_CAMERA
from engine.data.readers.base import read_depth_png
from engine.hand.controls import set_hand_distance
from engine.hand.presets import load_preset
from engine.io_utils import atomic_write_json, write_depth_png16, write_png
from engine.sim.render import render_hand
from engine.sim.sensor_match import REFERENCE_DISTANCE_MM, REFERENCE_PRESETS
from engine.sim.sensors import apply_sensor
from engine.style.image import read_depth_image
from engine.style.registry import load_bank
from engine.style.stats import reference_mask

DEFAULT_STEPS = 300  # engine.style.optimize.StylizeConfig.steps; repeated so --help needs no torch
PREVIEW_HEIGHT_PX = 256


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stylize", help="stylise one depth image after a style image (slow, best quality)",
                       description="Optimises the hand of a depth image so it takes on the look of a "
                                   "style image (holes, edge dropouts, noise) while keeping its "
                                   "geometry. Writes DIR/depth.png (uint16 mm, 0 = no data), "
                                   "DIR/preview.png (content | styled | style) and DIR/stylize.json.")
    p.add_argument("--content", type=Path, required=True, help="depth PNG to stylise (uint16 mm)")
    p.add_argument("--style", required=True,
                   help="style: a bank name (python main.py styles) or the path of a depth PNG")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"optimiser steps (default {DEFAULT_STEPS})")
    p.add_argument("--style-scale", type=float,
                   help="mm per stored unit of the style PNG (default: its sidecar, else guessed)")
    p.add_argument("--seed", type=int, default=0, help="seed of the hole logits' initial noise")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (default: torch's choice)")
    p.set_defaults(run=run)


def read_style(value: str, scale: float | None, seed: int) -> tuple[np.ndarray, str]:
    """The style's depth (float mm) and one line on how it was read. A bank sensor model is
    turned into an image: the first reference preset rendered through it."""
    entries = {entry.name: entry for entry in load_bank()}
    entry = entries.get(value)
    if entry is not None and scale is not None:
        raise ValueError(f"style {value!r} is from the bank and has its own depth scale; "
                         f"--style-scale applies to image files only")
    if entry is not None and entry.kind == "sensor":
        hand = set_hand_distance(load_preset(REFERENCE_PRESETS[0]).hand, REFERENCE_DISTANCE_MM)
        clean = render_hand(hand.joints(), DEFAULT_CAMERA, hand.shape.thickness).depth
        return (apply_sensor(clean, DEFAULT_CAMERA, entry.sensor, seed),
                f"simulator render of {REFERENCE_PRESETS[0]!r} through {entry.sensor!r}, mm")
    if entry is not None:
        image = read_depth_image(entry.image, entry.depth_scale_mm)
    else:
        path = Path(value)
        if path.suffix.lower() != ".png" and not path.exists():
            raise ValueError(f"unknown style {value!r}; bank names: {', '.join(entries)} "
                             f"(or the path of a depth PNG)")
        image = read_depth_image(path, scale)
    return image.depth, image.assumption


def run(args: argparse.Namespace) -> int:
    if args.steps < 1:
        raise ValueError(f"--steps must be at least 1, got {args.steps}")
    if args.out.exists() and not args.out.is_dir():
        raise ValueError(f"{args.out}: exists and is not a folder")
    content = read_depth_png(args.content)
    try:
        reference_mask(content)
    except ValueError:
        raise ValueError(f"{args.content}: no hand found (no near object of hand size)") from None
    style, assumption = read_style(args.style, args.style_scale, args.seed)
    try:
        reference_mask(style)
    except ValueError:
        raise ValueError(f"{args.style}: no hand found in the style image") from None

    import torch
    from tqdm import tqdm

    from engine.models.vgg import load_pose_trunk
    from engine.style.optimize import StylizeConfig, stylize
    from engine.style.preview import side_by_side

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    config = StylizeConfig(steps=args.steps)
    extractor = load_pose_trunk()
    bar = tqdm(total=config.steps, desc="stylize", file=sys.stderr, dynamic_ncols=True)

    def on_progress(step: int, total: int, row: dict[str, float]) -> None:
        bar.n = step
        bar.set_postfix(loss=f"{row['total']:.4f}", refresh=False)
        bar.refresh()

    start = time.perf_counter()
    try:
        result = stylize(content, style, extractor, config, seed=args.seed, on_progress=on_progress)
    finally:
        bar.close()
    seconds = time.perf_counter() - start

    w, sw = result.window, result.style_window
    preview = side_by_side([content[w.rows, w.cols], result.depth[w.rows, w.cols],
                            style[sw.rows, sw.cols]], PREVIEW_HEIGHT_PX)
    report = {
        "content": str(args.content), "style": args.style, "style_unit": assumption,
        "options": {"seed": args.seed, "style_scale": args.style_scale, **config.to_dict()},
        "extractor": "depth VGG-19 trunk (resources/models/depth_vgg.safetensors)",
        "window": w.to_dict(), "style_window": sw.to_dict(),
        "statistics": {"unstyled": result.before.to_dict(), "styled": result.after.to_dict(),
                       "style_reference": result.reference.to_dict()},
        "geometry_shift_mm": round(result.geometry_shift_mm, 4),
        "hole_targets": result.hole_targets, "losses": result.losses, "seconds": round(seconds, 2),
    }
    out: Path = args.out
    write_depth_png16(out / "depth.png", result.depth)
    write_png(out / "preview.png", preview)
    atomic_write_json(out / "stylize.json", report)
    print(f"wrote {out}/depth.png, preview.png, stylize.json; geometry shift "
          f"{result.geometry_shift_mm:.2f} mm; style unit: {assumption}")
    return 0
