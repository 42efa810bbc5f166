"""`python main.py train pose`: train the pose estimator (the project's own depth network)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.train.pose_options import MODEL_FILE, PoseTrainConfig

_D = PoseTrainConfig()


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pose", help="train the pose estimator on simulator crops",
        description="Trains the VGG-19-layout pose estimator on the simulator's crops, clean and "
                    "through every sensor model. Run again with the same --out to resume (a larger "
                    f"--steps extends it). Writes OUT/{MODEL_FILE}, OUT/log.csv and OUT/metrics.json "
                    "(held-out mean joint error per sensor).")
    p.add_argument("--data", default=None, metavar="sim|own:DIR|nyu:PATH|...",
                   help="training data: the simulator (default), or a dataset reader's spec, e.g. "
                        "own:DIR for a folder written by `dataset`")
    p.add_argument("--out", type=Path, required=True, help="run folder (created; resumed if it holds a run)")
    p.add_argument("--steps", type=int, help=f"optimiser steps (default {_D.steps})")
    p.add_argument("--batch", type=int, help=f"batch size (default {_D.batch})")
    p.add_argument("--lr", type=float, help=f"peak Adam learning rate (default {_D.lr})")
    p.add_argument("--seed", type=int, help=f"sim stream and init seed (default {_D.seed})")
    p.add_argument("--cache-size", type=int, help=f"sim crops rendered once into OUT/cache (default {_D.cache_size})")
    p.add_argument("--eval-count", type=int,
                   help=f"held-out crops per sensor for the final report (default {_D.eval_count})")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="auto (default): CUDA when available")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (default: torch's choice)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from engine.train.pose import train_pose

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    given = {"data": args.data, "steps": args.steps, "batch": args.batch, "lr": args.lr, "seed": args.seed,
             "cache_size": args.cache_size, "eval_count": args.eval_count}
    bars: dict[str, tqdm] = {}

    def on_progress(stage: str, done: int, total: int, stats: dict) -> None:
        bar = bars.get(stage)
        if bar is None:
            for old in bars.values():
                old.close()
            bar = bars[stage] = tqdm(total=total, desc=stage, file=sys.stderr, dynamic_ncols=True)
        bar.n = done
        if stats:
            bar.set_postfix(loss_mm=f"{stats['loss_mm']:.1f}", img_s=f"{stats['images_per_s']:.0f}",
                            refresh=False)
        bar.refresh()

    try:
        metrics = train_pose(args.out, given, device=args.device, on_progress=on_progress)
    finally:
        for bar in bars.values():
            bar.close()
    errors = ", ".join(f"{k} {v:.1f}" for k, v in metrics["pose_error_mm"].items())
    print(f"wrote {args.out / MODEL_FILE}; held-out mean joint error (mm): {errors}")
    return 0
