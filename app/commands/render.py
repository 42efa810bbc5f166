"""`python main.py render`: one pose through the simulator and a style into one sample
(engine.export's layout: depth, unstyled depth, labels, mask, ControlNet map, skeleton, preview,
pose file). The style stage is the app's (engine.style): `--style` names a bank entry or a depth
PNG; `--sensor` is the older spelling for the sensor-model entries of the bank."""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

from app.commands.sample_options import add_sample_arguments, sample_options
from app.commands.style_option import add_style_arguments, prepared_style
from engine.camera import DEFAULT_CAMERA
from engine.export import SampleContent, write_sample
from engine.hand.pose_io import PoseRecord, load_pose
from engine.hand.presets import DEFAULT_PRESET, load_preset
from engine.hand.sampler import THICKNESS_RANGE
from engine.sample_frames import render_sample, style_provenance
from engine.sim.sensors import SENSOR_NAMES

DEFAULT_STEM = "sample"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="render a pose with the depth simulator",
                       description="Writes one sample DIR/NAME_*: depth.png (uint16 mm, 0 = no data), "
                                   "labels.png, mask.png, controlnet.png, skeleton.png, preview.png, "
                                   "pose.json (and unstyled.png when a style changed the depth).")
    add_pose_arguments(p)
    style = p.add_mutually_exclusive_group()
    add_style_arguments(p, "the simulator's depth", style)
    style.add_argument("--sensor", choices=SENSOR_NAMES, default=None,
                       help="a sensor model of the bank (the same as --style NAME)")
    p.add_argument("--seed", type=int, default=0, help="seed of the style's random draws")
    add_output_arguments(p)
    p.set_defaults(run=run)


def add_pose_arguments(p: argparse.ArgumentParser) -> None:
    """--pose FILE | --preset NAME, and --thickness (shared by render and generate)."""
    src = p.add_mutually_exclusive_group()
    src.add_argument("--pose", type=Path, help="pose JSON file (joints + camera at least)")
    src.add_argument("--preset", help=f"shipped preset name (default {DEFAULT_PRESET!r} when no --pose)")
    lo, hi = THICKNESS_RANGE
    p.add_argument("--thickness", type=float, default=None, metavar="T",
                   help=f"the hand's thickness, {lo:g}-{hi:g} (1 = the mean hand; it scales the fingers' "
                        "and palm's volume, not the joints; default: the pose's own, else 1)")


def add_output_arguments(p: argparse.ArgumentParser) -> None:
    """--out, --name, --force and the sample options (shared by render and generate)."""
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--name", default=DEFAULT_STEM, help=f"the sample's file stem (default {DEFAULT_STEM})")
    p.add_argument("--force", action="store_true", help="replace a sample of that name")
    add_sample_arguments(p)


def pose_from_args(args: argparse.Namespace) -> PoseRecord:
    """The pose named by --pose or --preset, at --thickness when given (shared by render and
    generate). The thickness lives in the hand model, so the written pose.json carries it; a
    joints-only pose file has no hand model to hold it and is refused in one line."""
    if args.pose is not None:
        record = load_pose(args.pose)
    else:
        preset = load_preset(args.preset or DEFAULT_PRESET)
        record = PoseRecord(joints=preset.joints, camera=DEFAULT_CAMERA, handedness=preset.handedness,
                            hand=preset.hand, name=preset.name)
    if args.thickness is None:
        return record
    lo, hi = THICKNESS_RANGE
    if not lo <= args.thickness <= hi:
        raise ValueError(f"--thickness {args.thickness:g}: must be within {lo:g}-{hi:g}")
    if record.hand is None:
        raise ValueError(f"{describe_source(args)}: --thickness needs a pose with a hand model "
                         "('hand' in the pose file); this one has joints only")
    shape = dataclasses.replace(record.hand.shape, thickness=float(args.thickness))
    return dataclasses.replace(record, hand=dataclasses.replace(record.hand, shape=shape))


def check_hand_visible(depth: np.ndarray, warning: str | None, what: str,
                       empty_reason: str = "the hand is outside the camera's view") -> None:
    """Warn (one line on stderr) when the style says the hand leaves its camera's range; raise
    when the output has no hand pixels at all, so no empty depth image is ever written."""
    if not np.any(np.nan_to_num(depth) > 0):
        reason = warning or empty_reason
        raise ValueError(f"{what}: the depth image has no hand pixels ({reason}); nothing written")
    if warning:
        print(f"warning: {what}: {warning}", file=sys.stderr)


def describe_source(args: argparse.Namespace) -> str:
    """What the user asked for, as an error message names it: the pose file or the preset."""
    return str(args.pose) if args.pose is not None else f"preset {args.preset or DEFAULT_PRESET!r}"


def write_and_report(args: argparse.Namespace, content: SampleContent) -> int:
    """Write the sample (refusing to replace one without --force) and say where it went."""
    paths = write_sample(args.out, content, stem=args.name, options=sample_options(args), force=args.force)
    print(f"wrote {args.out}/{args.name}_*: {', '.join(p.name.removeprefix(args.name + '_') for p in paths.values())}")
    return 0


def run(args: argparse.Namespace) -> int:
    value = args.sensor or args.style
    style = prepared_style(value, args.style_scale)
    sample_options(args)  # a bad option fails before any work
    record = pose_from_args(args)
    content, warning = render_sample(record, style, args.seed,
                                     style_provenance(value, args.style_scale, style))
    check_hand_visible(content.depth, warning, f"{describe_source(args)} with style {value}")
    return write_and_report(args, content)
