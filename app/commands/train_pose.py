"""`python main.py train pose`: train the pose estimator (the project's own depth network)."""
from __future__ import annotations

import argparse

from app.commands.train_flags import add_run_flags, progress_for
from engine.train.options import add_flags, given
from engine.train.pose_options import MODEL_FILE, PoseTrainConfig


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pose", help="train the pose estimator on simulator crops",
        description="Trains the VGG-19-layout pose estimator on the simulator's crops, clean and "
                    "through every sensor model. Run again with the same --out to resume (a larger "
                    f"--steps extends it). Writes OUT/{MODEL_FILE}, OUT/log.csv and OUT/metrics.json "
                    "(held-out mean joint error per sensor).")
    add_run_flags(p, time_box=False)
    add_flags(p, PoseTrainConfig)
    # Where it runs, not what is trained: not saved with the run.
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="auto (default): CUDA when available")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (default: torch's choice)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from engine.train.pose import train_pose

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    with progress_for(args) as progress:
        metrics = train_pose(args.out, given(args, PoseTrainConfig), device=args.device, progress=progress)
    errors = ", ".join(f"{k} {v:.1f}" for k, v in metrics["pose_error_mm"].items())
    print(f"wrote {args.out / MODEL_FILE}; held-out mean joint error (mm): {errors}")
    return 0
