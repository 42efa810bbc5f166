"""`python main.py generate`: one pose through the trained generator G and a style into one
sample, in the same layout as `render` (engine.export). Its labels and mask describe G's own
depth (engine.sample_labels), never the simulator's silhouette.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.commands.render import (
    add_output_arguments,
    add_pose_arguments,
    check_hand_visible,
    describe_source,
    pose_from_args,
    write_and_report,
)
from app.commands.sample_options import sample_options
from app.commands.style_option import add_style_arguments, prepared_style
from engine.models import DEFAULT_GENERATOR_PATH
from engine.models.device_names import BACKEND_CHOICES, BACKEND_HELP, DEVICE_CHOICES, RUNTIME_BACKEND
from engine.runtime import FrameError
from engine.sample_frames import generator_provenance, render_sample, style_provenance


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate a depth image of a pose with the trained generator",
                       description="Writes one sample DIR/NAME_* like render, from the generator G(y): "
                                   "depth, labels and mask of G's depth, ControlNet map, skeleton, "
                                   "preview and pose.json.")
    add_pose_arguments(p)
    p.add_argument("--model", type=Path, default=None,
                   help=f"generator checkpoint (default: the shipped {DEFAULT_GENERATOR_PATH.name})")
    add_style_arguments(p, "G's depth")
    p.add_argument("--seed", type=int, default=0, help="seed of the style's random draws")
    p.add_argument("--no-cut", action="store_true",
                   help="show the network's raw output, without the eval-mode silhouette cut")
    p.add_argument("--device", default="auto", help="auto (default: CUDA, else MPS, else CPU), cpu, cuda or mps")
    p.add_argument("--backend", choices=BACKEND_CHOICES, default=RUNTIME_BACKEND,
                   help=f"how G runs: {BACKEND_HELP} (default {RUNTIME_BACKEND})")
    add_output_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    style = prepared_style(args.style, args.style_scale)  # a bad style fails before torch loads
    if args.device not in DEVICE_CHOICES:
        raise ValueError(f"unknown device {args.device!r}; use {', '.join(DEVICE_CHOICES)}")
    sample_options(args)
    from engine.models.device import resolve_device  # torch: only when run
    from engine.models.generator import load_generator
    from engine.models.inference import InferenceGenerator
    from engine.sample_frames import crop_generator

    device = resolve_device(args.device)
    record = pose_from_args(args)
    model_path = args.model or DEFAULT_GENERATOR_PATH
    model, info = load_generator(model_path, device=device)
    fast = InferenceGenerator(model, silhouette_cut=not args.no_cut, backend=args.backend)
    if fast.fallback and args.backend != "auto":  # asked for by name; "auto" records it below
        print(f"note: {args.backend} unavailable ({fast.fallback}); running {fast.backend}", file=sys.stderr)
    provenance = {**generator_provenance(model_path, info), "backend": fast.backend,
                  **({"backend_fallback": fast.fallback} if fast.fallback else {}),
                  **style_provenance(args.style, args.style_scale, style)}
    try:
        content, warning = render_sample(record, style, args.seed, provenance, crop_generator(fast),
                                         silhouette_cut=not args.no_cut)
    except FrameError as e:
        raise ValueError(f"{model_path}: {e} for {describe_source(args)}; nothing written") from None
    check_hand_visible(content.depth, warning,
                       f"{describe_source(args)} with generator {model_path} and style {args.style}",
                       empty_reason="the generator drew no hand: its output is empty or not finite")
    return write_and_report(args, content)
