"""`python main.py generate`: one pose through the trained generator G and a style to a depth frame.

Writes the same files as `render` (without labels, which a generator does not produce):
DIR/depth.png (uint16 mm, 0 = no data), DIR/pose.json and DIR/preview.png.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from app.commands.render import (
    add_pose_arguments,
    check_hand_visible,
    describe_source,
    pose_from_args,
    style_provenance,
)
from app.commands.style_option import add_style_arguments, prepared_style
from engine.hand.pose_io import PoseRecord, save_pose
from engine.io_utils import write_depth_png16, write_png
from engine.models import DEFAULT_GENERATOR_PATH
from engine.models.device_names import DEVICE_CHOICES
from engine.sim.preview import depth_preview


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate a depth image of a pose with the trained generator",
                       description="Writes DIR/depth.png (uint16 mm, 0 = no data), DIR/pose.json and "
                                   "DIR/preview.png, like render, from the generator G(y).")
    add_pose_arguments(p)
    p.add_argument("--model", type=Path, default=None,
                   help=f"generator checkpoint (default: the shipped {DEFAULT_GENERATOR_PATH.name})")
    add_style_arguments(p, "G's depth")
    p.add_argument("--seed", type=int, default=0, help="seed of the style's random draws")
    p.add_argument("--device", default="auto", help="auto (default: CUDA, else MPS, else CPU), cpu, cuda or mps")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    style = prepared_style(args.style, args.style_scale)  # a bad style fails before torch loads
    if args.device not in DEVICE_CHOICES:
        raise ValueError(f"unknown device {args.device!r}; use {', '.join(DEVICE_CHOICES)}")
    from engine.models.device import resolve_device  # torch: only when run
    from engine.models.generator import load_generator
    from engine.models.inference import InferenceGenerator
    from engine.runtime_batch import generate_batch

    device = resolve_device(args.device)
    record = pose_from_args(args)
    model_path = args.model or DEFAULT_GENERATOR_PATH
    model, info = load_generator(model_path, device=device)
    generated = generate_batch(InferenceGenerator(model), record.joints[None], record.camera).depth[0]
    if not np.all(np.isfinite(generated)):
        raise ValueError(f"{model_path}: the generator's output is not finite (NaN or infinite) "
                         f"for {describe_source(args)}; nothing written")
    depth = style.apply(generated, record.camera, args.seed, 1.0)
    check_hand_visible(depth, style.range_warning(generated),
                       f"{describe_source(args)} with generator {model_path} and style {args.style}",
                       empty_reason="the generator drew no hand: its output is empty or not finite")
    provenance = {**record.extra, "source": "generator", "model": str(model_path),
                  "model_step": info.get("step"), **style_provenance(args.style, args.style_scale, style),
                  "seed": args.seed}
    preview = depth_preview(depth, None, record.camera.project(record.joints))
    out: Path = args.out  # everything is computed before the first write
    write_depth_png16(out / "depth.png", depth)
    save_pose(out / "pose.json", PoseRecord(joints=record.joints, camera=record.camera,
                                            handedness=record.handedness, hand=record.hand,
                                            name=record.name, extra=provenance))
    write_png(out / "preview.png", preview)
    print(f"wrote {out}/depth.png, pose.json, preview.png")
    return 0
