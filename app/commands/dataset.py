"""`python main.py dataset`: many samples (engine.export's layout) with a manifest and a card.

    dataset --count N --out DIR [--source simulator|generator] [--backend auto|torch|int8]
            [--style NAME|PNG] [--poses ...]
            [--frames N] [--camera PRESET] [--seed S] [--workers K] [--shard I/N] [--resume]
            [--format own|icvl|keypoints-json|controlnet]
    dataset merge --out DIR      check every shard's part and write DIR/manifest.jsonl

Splitting over machines uses the launchers people have: under torchrun (RANK, WORLD_SIZE in the
environment) each rank writes its own shard, as `--shard I/N` does for a Slurm array or a k8s
Job; `dataset merge` then checks completeness and writes the one manifest. A run that is one
shard merges by itself. Imports no torch (a learned style brings it, prepared here once for
every worker; the generator loads in the workers) and no Qt.
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

from app.commands.sample_options import add_sample_arguments, sample_options
from engine.camera import CAMERA_PRESETS
from engine.dataset import DatasetPlan, PreparedGenerator, merge, prepare_generator, prepare_style, run_shard
from engine.dataset_formats import FORMATS
from engine.models.device_names import BACKEND_CHOICES, BACKEND_HELP, RUNTIME_BACKEND
from engine.style.base import Style

PROGRESS_EVERY_S = 0.5


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dataset", help="generate a dataset of depth/pose samples",
                       description="Writes DIR/shard_*/NNNNNNNN_* samples (the render layout), "
                                   "DIR/manifest.jsonl (one row per sample) and DIR/dataset.json.")
    p.add_argument("action", nargs="?", choices=("merge",), help="merge: join the shards' manifests")
    p.add_argument("--out", type=Path, required=True, help="dataset folder")
    p.add_argument("--count", type=int, help="number of samples (all shards together)")
    p.add_argument("--source", choices=("simulator", "sim", "generator"), default="simulator")
    p.add_argument("--model", type=Path, default=None, help="generator checkpoint (default: the shipped one)")
    p.add_argument("--backend", choices=BACKEND_CHOICES, default=RUNTIME_BACKEND,
                   help=f"how G runs with --source generator: {BACKEND_HELP} (default {RUNTIME_BACKEND}); "
                        f"the samples' provenance and the card record it")
    p.add_argument("--style", default="none", metavar="NAME|PNG", help="a bank style, a depth PNG, or none")
    p.add_argument("--style-scale", type=float, default=None, metavar="MM", help="mm per unit of a style PNG")
    p.add_argument("--poses", default="random", metavar="random|bank|FILE.jsonl|around:POSE.json|READER:PATH",
                   help="where the poses come from (default random within the joint limits; bank: "
                        "2,336 real tracked poses; READER:PATH, e.g. nyu:PATH or own:DIR: a dataset's "
                        "joints, fitted to the model)")
    p.add_argument("--frames", type=int, default=1, metavar="N",
                   help="N > 1: temporally coherent clips, N frames interpolated between the poses")
    p.add_argument("--format", choices=FORMATS, default="own",
                   help="also write an index other training code reads: ICVL labels.txt, COCO/MediaPipe "
                        "keypoints.json or a ControlNet prompt.json (docs/dataset_formats.md)")
    p.add_argument("--camera", choices=sorted(CAMERA_PRESETS), default="kinect_v1")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1, help="processes writing samples (default 1)")
    p.add_argument("--shard", default=None, metavar="I/N", help="write only shard I of N (0-based)")
    p.add_argument("--resume", action="store_true", help="continue a run that stopped")
    add_sample_arguments(p, preview_default=False, conditioning_default=False)
    p.set_defaults(run=run)


def parse_shard(value: str | None) -> tuple[int, int]:
    """(I, N) from --shard, else from torchrun's RANK/WORLD_SIZE, else (0, 1)."""
    if value is None:
        return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    try:
        i, n = (int(x) for x in value.split("/"))
    except ValueError:
        raise ValueError(f"--shard {value!r}: expected I/N, e.g. 0/4") from None
    if not 0 <= i < n:
        raise ValueError(f"--shard {value!r}: need 0 <= I < N")
    return i, n


class ProgressBar:
    """One stderr line, redrawn at most every PROGRESS_EVERY_S: done/total, rate, ETA."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.first: int | None = None

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        self.first = done if self.first is None else self.first
        if now - self.last < PROGRESS_EVERY_S and done < total:
            return
        self.last = now
        rate = (done - self.first) / max(now - self.start, 1e-9)
        eta = (total - done) / rate if rate > 0 else float("inf")
        bar = "#" * int(30 * done / total)
        print(f"\r[{bar:<30}] {done}/{total}  {rate:.1f} samples/s  ETA {eta:.0f} s", end="",
              file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    if args.action == "merge":
        card = merge(args.out)
        print(f"merged {card['samples']} samples of {card['shards']} shard(s) into {args.out}/manifest.jsonl")
        return 0
    if args.count is None:
        raise ValueError("dataset: --count is required (or use `dataset merge`)")
    if args.workers < 1:
        raise ValueError(f"--workers must be at least 1, not {args.workers}")
    shard, shards = parse_shard(args.shard)
    plan = DatasetPlan(count=args.count, seed=args.seed,
                       source="simulator" if args.source == "sim" else args.source,
                       style=args.style, style_scale_mm=args.style_scale, poses=args.poses,
                       frames=args.frames,
                       camera=args.camera, format=args.format,
                       model=str(args.model) if args.model else None, backend=args.backend,
                       sample=sample_options(args, durable=False))
    style, generator = _check_inputs(plan)
    command = shlex.join(["main.py", *sys.argv[1:]]) if sys.argv[1:] else "dataset"
    card = run_shard(plan, args.out, shard, shards, args.workers, args.resume, command, ProgressBar(),
                     style=style, generator=generator)
    print(file=sys.stderr)
    print(f"shard {shard}/{shards}: {card['samples']} samples in {args.out} "
          f"({card['written_now']} now, {card['resumed_with']} before; {card['seconds']:.1f} s, "
          f"{card['samples_per_s'] or 0:.1f} samples/s, {args.workers} worker(s))")
    if shards == 1 and card["complete"]:
        merge(args.out)
        print(f"wrote {args.out}/manifest.jsonl and dataset.json")
    return 0


def _check_inputs(plan: DatasetPlan) -> tuple[Style, PreparedGenerator | None]:
    """Fail on a bad style, pose source or generator in one line before any worker starts; the
    style and generator, prepared (the workers get these, not ones of their own)."""
    from engine.dataset_poses import open_pose_source

    style = prepare_style(plan)
    open_pose_source(plan.poses, CAMERA_PRESETS[plan.camera], plan.frames)
    if plan.model is not None and not Path(plan.model).is_file():
        raise ValueError(f"{plan.model}: no such generator checkpoint")
    generator = prepare_generator(plan)
    if generator is not None and generator.generator.fallback and plan.backend == "int8":  # asked for by name
        print(f"note: int8 unavailable ({generator.generator.fallback}); running {generator.generator.backend}",
              file=sys.stderr)
    return style, generator
