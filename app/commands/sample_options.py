"""The options every sample-writing command shares (render, generate, dataset): what optional
files a sample gets and how its ControlNet map is made (engine.export, engine.controlnet).
Imports no torch and no Qt: the CLI's help loads it."""
from __future__ import annotations

import argparse

from engine.controlnet import DEFAULT_SIZE, SIZES, ControlNetOptions
from engine.export import SampleOptions


def add_sample_arguments(p: argparse.ArgumentParser, preview_default: bool = True,
                         conditioning_default: bool = True) -> None:
    """--npy, --no-preview/--preview, --controlnet/--no-controlnet, --controlnet-size,
    --controlnet-near/far, --controlnet-invert."""
    p.add_argument("--npy", action="store_true", help="also write the depth as float32 STEM_depth.npy")
    p.add_argument("--preview", action=argparse.BooleanOptionalAction, default=preview_default,
                   help=f"write STEM_preview.png (default: {'on' if preview_default else 'off'})")
    p.add_argument("--controlnet", dest="conditioning", action=argparse.BooleanOptionalAction,
                   default=conditioning_default,
                   help="write STEM_controlnet.png and STEM_skeleton.png "
                        f"(default: {'on' if conditioning_default else 'off'})")
    p.add_argument("--controlnet-size", type=int, choices=SIZES, default=DEFAULT_SIZE,
                   help="side of the ControlNet depth map and skeleton image in px")
    p.add_argument("--controlnet-near", type=float, default=None, metavar="MM",
                   help="depth drawn white (default: the hand's crop cube, which follows the hand)")
    p.add_argument("--controlnet-far", type=float, default=None, metavar="MM",
                   help="depth drawn black (give with --controlnet-near)")
    p.add_argument("--controlnet-invert", action="store_true", help="near = black instead of white")


def sample_options(args: argparse.Namespace, durable: bool = True) -> SampleOptions:
    """The SampleOptions the arguments name; ValueError (one line) for a bad near/far."""
    controlnet = ControlNetOptions(size=args.controlnet_size, near_mm=args.controlnet_near,
                                   far_mm=args.controlnet_far, invert=args.controlnet_invert)
    return SampleOptions(npy=args.npy, preview=args.preview, conditioning=args.conditioning,
                         controlnet=controlnet, durable=durable)
