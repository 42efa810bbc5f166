"""`python main.py train gan`: train the conditional GAN (engine.train.gan) into a run folder.

Also runnable as `python -m app.commands.train_gan ...` (same flags), which torchrun can launch
with `torchrun --standalone --nproc_per_node N -m app.commands.train_gan ...`.
"""
from __future__ import annotations

import argparse
import sys

from app.commands.train_flags import add_run_flags, progress_for, stop_after
from app.entry import run_command
from engine.train.gan_options import GanOptions
from engine.train.options import add_flags, given


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "gan", help="train the pose-to-depth generator against a conditional discriminator",
        description="Trains G(y) -> depth crop against D(x, y) (L_G = -log D(G(y)) + lambda ||x - G(y)||_F^2). "
                    "RUN_DIR gets options.json, a crop cache, checkpoints, log.csv/log.jsonl and previews; "
                    "running again on an existing RUN_DIR resumes it. Options left out take the run's saved "
                    "values (or the defaults shown for a new run). Under torchrun each process trains on its "
                    "own shard with --batch-size samples per step.")
    add_run_flags(p)
    add_flags(p, GanOptions)
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from engine.train.gan import train_gan  # torch: only when run

    with progress_for(args) as progress:
        summary = train_gan(args.out, given(args, GanOptions), progress=progress, stop_after=stop_after(args))
    if summary.get("best") and summary["best"].get("iou", -1) >= 0:
        best = summary["best"]
        print(f"{args.out}: step {summary['step']}, {summary['wall_s']:.0f} s; best held-out IoU "
              f"{best['iou']:.3f}, fg MAE {best['fg_mae_mm']:.2f} mm at step {best['step']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Standalone entry (python -m / torchrun -m), with the CLI's one-line errors."""
    import logging

    parser = argparse.ArgumentParser(prog="python -m app.commands.train_gan")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["gan", *(sys.argv[1:] if argv is None else argv)])
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return run_command(run, args)


if __name__ == "__main__":
    sys.exit(main())
