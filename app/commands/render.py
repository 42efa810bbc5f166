"""`python main.py render`: one pose through the simulator and a style to depth, labels, pose
and preview. The style stage is the app's (engine.style): `--style` names a bank entry or a
depth PNG; `--sensor` is the older spelling for the sensor-model entries of the bank."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from engine.camera import DEFAULT_CAMERA
from app.commands.style_option import add_style_arguments, prepared_style
from engine.hand.pose_io import PoseRecord, load_pose, save_pose
from engine.hand.presets import DEFAULT_PRESET, load_preset
from engine.io_utils import write_depth_png16, write_png
from engine.sim.preview import depth_preview
from engine.sim.render import render_hand
from engine.sim.sensors import SENSOR_NAMES


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="render a pose with the depth simulator",
                       description="Writes DIR/depth.png (uint16 mm, 0 = no data), DIR/labels.png "
                                   "(part labels 0-7), DIR/pose.json and DIR/preview.png.")
    add_pose_arguments(p)
    style = p.add_mutually_exclusive_group()
    add_style_arguments(p, "the simulator's depth", style)
    style.add_argument("--sensor", choices=SENSOR_NAMES, default=None,
                       help="a sensor model of the bank (the same as --style NAME)")
    p.add_argument("--seed", type=int, default=0, help="seed of the style's random draws")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.set_defaults(run=run)


def add_pose_arguments(p: argparse.ArgumentParser) -> None:
    """--pose FILE | --preset NAME (shared by render and generate)."""
    src = p.add_mutually_exclusive_group()
    src.add_argument("--pose", type=Path, help="pose JSON file (joints + camera at least)")
    src.add_argument("--preset", help=f"shipped preset name (default {DEFAULT_PRESET!r} when no --pose)")


def pose_from_args(args: argparse.Namespace) -> PoseRecord:
    """The pose named by --pose or --preset (shared by render and generate)."""
    if args.pose is not None:
        return load_pose(args.pose)
    record = load_preset(args.preset or DEFAULT_PRESET)
    return PoseRecord(joints=record.joints, camera=DEFAULT_CAMERA, handedness=record.handedness,
                      hand=record.hand, name=record.name, extra=record.extra)


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


def style_provenance(value: str, scale: float | None, style) -> dict:
    """What a written pose.json says about the style (shared by render and generate)."""
    extra = {"style": value}
    if scale is not None:
        extra["style_scale_mm"] = scale
    if style.assumption is not None:
        extra["style_assumption"] = style.assumption
    return extra


def run(args: argparse.Namespace) -> int:
    value = args.sensor or args.style
    style = prepared_style(value, args.style_scale)
    record = pose_from_args(args)
    thickness = record.hand.shape.thickness if record.hand is not None else 1.0
    result = render_hand(record.joints, record.camera, thickness)
    depth = style.apply(result.depth, record.camera, args.seed, 1.0)
    check_hand_visible(depth, style.range_warning(result.depth), f"{describe_source(args)} with style {value}")
    provenance = {**record.extra, "source": "simulator", **style_provenance(value, args.style_scale, style),
                  "seed": args.seed, "joints_2d": result.joints_2d.round(3).tolist()}
    preview = depth_preview(depth, result.labels, result.joints_2d)
    out: Path = args.out  # everything is computed before the first write
    write_depth_png16(out / "depth.png", depth)
    write_png(out / "labels.png", result.labels)
    save_pose(out / "pose.json", PoseRecord(joints=record.joints, camera=record.camera,
                                            handedness=record.handedness, hand=record.hand,
                                            name=record.name, extra=provenance))
    write_png(out / "preview.png", preview)
    print(f"wrote {out}/depth.png, labels.png, pose.json, preview.png")
    return 0
