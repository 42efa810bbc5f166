"""`python main.py train distill`: a narrower generator distilled from a trained one
(engine.train.distill), for real-time inference on a CPU."""
from __future__ import annotations

import argparse

from app.commands.train_flags import add_run_flags, progress_for, stop_after
from engine.train.distill_options import DistillOptions
from engine.train.options import add_flags, given


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "distill", help="distil a narrower, faster generator from a trained one",
        description="Trains a student SkeletonUNet, initialised from the teacher's strongest channels, "
                    "to match the teacher's raw output and the clean simulator crop. RUN_DIR gets "
                    "options.json, a crop cache, train_state.pt, log.csv/log.jsonl and generator.safetensors "
                    "(with its calibrated silhouette cut); running again on RUN_DIR resumes it.")
    add_run_flags(p)
    add_flags(p, DistillOptions)
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from engine.train.distill import distill  # torch: only when run

    with progress_for(args) as progress:
        summary = distill(args.out, given(args, DistillOptions), progress=progress, stop_after=stop_after(args))
    m = summary["eval"]
    if m:
        print(f"{args.out}: step {summary['step']}; held-out IoU {m['iou']:.3f}, fg MAE {m['fg_mae_mm']:.2f} mm")
    return 0
