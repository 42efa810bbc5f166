"""`python main.py train distill`: a narrower generator distilled from a trained one
(engine.train.distill), for real-time inference on a CPU."""
from __future__ import annotations

import argparse
from pathlib import Path

from engine.train.distill_options import DEFAULTS, GIVEN_KEYS


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    d = DEFAULTS
    p = sub.add_parser(
        "distill", help="distil a narrower, faster generator from a trained one",
        description="Trains a student SkeletonUNet, initialised from the teacher's strongest channels, "
                    "to match the teacher's raw output and the clean simulator crop. RUN_DIR gets "
                    "options.json, a crop cache, train_state.pt, log.csv/log.jsonl and generator.safetensors "
                    "(with its calibrated silhouette cut); running again on RUN_DIR resumes it.")
    p.add_argument("--teacher", type=Path, help="the generator to distil (default: the shipped one)")
    p.add_argument("--out", type=Path, required=True, help="run folder (created, or resumed when it exists)")
    p.add_argument("--steps", type=int, help=f"total steps (default {d['steps']}; may be raised on resume)")
    p.add_argument("--batch-size", type=int, help=f"samples per step (default {d['batch_size']})")
    p.add_argument("--lr", type=float, help=f"Adam learning rate, cosine-decayed (default {d['lr']})")
    p.add_argument("--truth-weight", type=float, help=f"weight of the clean-crop term (default {d['truth_weight']})")
    p.add_argument("--seed", type=int, help=f"simulator stream of the training crops (default {d['seed']})")
    p.add_argument("--cache-size", type=int, help=f"training crops made once into RUN_DIR/cache (default {d['cache_size']})")
    p.add_argument("--eval-count", type=int, help=f"held-out and calibration crops (default {d['eval_count']})")
    p.add_argument("--base", type=int, help=f"student base channels (default {d['base']})")
    p.add_argument("--levels", type=int, help=f"student U-Net levels, the teacher's (default {d['levels']})")
    p.add_argument("--full-res", type=int, help=f"student full-resolution channels (default {d['full_res']})")
    p.add_argument("--checkpoint-every", type=int, help=f"steps between checkpoints + evaluations (default {d['checkpoint_every']})")
    p.add_argument("--log-every", type=int, help=f"steps between log rows (default {d['log_every']})")
    p.add_argument("--threads", type=int, help=f"CPU threads for torch (default {d['threads']}: the CPU is shared)")
    p.add_argument("--max-minutes", type=float, help="stop with a checkpoint after this much wall time; run again to resume")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from engine.train.distill import distill  # torch: only when run

    given = {key: getattr(args, key, None) for key in GIVEN_KEYS}
    if given["teacher"] is not None:
        given["teacher"] = str(given["teacher"])
    factory = None
    if not args.no_progress:
        from tqdm import tqdm
        factory = lambda **kw: tqdm(dynamic_ncols=True, **kw)  # noqa: E731
    stop_after = args.max_minutes * 60.0 if args.max_minutes is not None else None
    summary = distill(args.out, given, progress_factory=factory, stop_after=stop_after)
    m = summary["eval"]
    if m:
        print(f"{args.out}: step {summary['step']}; held-out IoU {m['iou']:.3f}, fg MAE {m['fg_mae_mm']:.2f} mm")
    return 0
