"""`python main.py train gan`: train the conditional GAN (engine.train.gan) into a run folder.

Also runnable as `python -m app.commands.train_gan ...` (same flags), which torchrun can launch
with `torchrun --standalone --nproc_per_node N -m app.commands.train_gan ...`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.sim.sensors import SENSOR_NAMES
from engine.train.gan_options import DEFAULTS


def _names(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return names


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "gan", help="train the pose-to-depth generator against a conditional discriminator",
        description="Trains G(y) -> depth crop against D(x, y) (L_G = -log D(G(y)) + lambda ||x - G(y)||_F^2). "
                    "RUN_DIR gets options.json, a crop cache, checkpoints, log.csv/log.jsonl and previews; "
                    "running again on an existing RUN_DIR resumes it. Options left out take the run's saved "
                    "values (or the defaults shown for a new run). Under torchrun each process trains on its "
                    "own shard with --batch-size samples per step.")
    d = DEFAULTS
    p.add_argument("--data", help=f"sim, DIR, nyu:PATH, icvl:PATH, msra:PATH or hands17:PATH (default {d['data']})")
    p.add_argument("--out", type=Path, required=True, help="run folder (created, or resumed when it exists)")
    p.add_argument("--steps", type=int, help=f"total training steps (default {d['steps']}; may be raised on resume)")
    p.add_argument("--batch-size", type=int, help=f"samples per step per process (default {d['batch_size']})")
    p.add_argument("--seed", type=int, help=f"seed of the simulator stream and the shuffling (default {d['seed']})")
    p.add_argument("--sensors", type=_names,
                   help=f"sim only: comma-separated sensor models of the training targets, from {', '.join(SENSOR_NAMES)} "
                        f"(default {','.join(d['sensors'])}: the clean render)")
    p.add_argument("--cameras", type=_names, help=f"sim only: comma-separated camera presets (default {','.join(d['cameras'])})")
    p.add_argument("--cache-size", type=int, help=f"training crops made once into RUN_DIR/cache (default {d['cache_size']})")
    p.add_argument("--eval-count", type=int, help=f"held-out crops evaluated at each checkpoint (default {d['eval_count']})")
    p.add_argument("--lr-g", type=float, help=f"generator Adam learning rate, cosine-decayed (default {d['lr_g']})")
    p.add_argument("--lr-d", type=float, help=f"discriminator Adam learning rate, cosine-decayed (default {d['lr_d']})")
    p.add_argument("--l2-weight", type=float, help=f"lambda of the L2 term (default {d['l2_weight']})")
    p.add_argument("--style", help="the design's styled variant: G minimises -log D(G(y), y) + L_ST(G(y); content x, "
                   "style image) instead of the L2 term; a style-bank image name or a depth PNG path (fixed for a run)")
    p.add_argument("--style-scale", type=float, help="mm per stored unit of a --style PNG (default: sidecar or guessed)")
    p.add_argument("--style-camera", help="camera preset the style image is cropped through (default: the run's first camera)")
    p.add_argument("--w-content", type=float, help=f"L_ST content weight, relu4_2 (default {d['w_content']})")
    p.add_argument("--w-style", type=float, help=f"L_ST Gram style weight, relu1_1..relu5_1 (default {d['w_style']})")
    p.add_argument("--w-tv", type=float, help=f"L_ST total-variation weight (default {d['w_tv']})")
    p.add_argument("--init", help="a generator .safetensors that a new run's G starts from (same --g-* sizes)")
    p.add_argument("--g-base", type=int, help=f"generator base channels (default {d['g_base']})")
    p.add_argument("--g-levels", type=int, help=f"generator U-Net levels (default {d['g_levels']})")
    p.add_argument("--g-full", type=int, help=f"generator full-resolution channels (default {d['g_full']})")
    p.add_argument("--d-base", type=int, help=f"discriminator base channels (default {d['d_base']})")
    p.add_argument("--checkpoint-every", type=int, help=f"steps between checkpoints + evaluations (default {d['checkpoint_every']})")
    p.add_argument("--preview-every", type=int, help=f"steps between preview images (default {d['preview_every']})")
    p.add_argument("--log-every", type=int, help=f"steps between log rows (default {d['log_every']})")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), help="auto (default): CUDA when available")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default 0: torch's choice)")
    p.add_argument("--max-minutes", type=float, help="stop (with a checkpoint) at the first logged step after this much wall time; run again to resume")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from engine.train.gan import train_gan  # torch: only when run

    given = {key: getattr(args, key, None) for key in DEFAULTS}
    factory = None
    if not args.no_progress:
        from tqdm import tqdm
        factory = lambda **kw: tqdm(dynamic_ncols=True, **kw)
    stop_after = args.max_minutes * 60.0 if args.max_minutes is not None else None
    summary = train_gan(args.out, given, progress_factory=factory, stop_after=stop_after)
    if summary.get("best") and summary["best"].get("iou", -1) >= 0:
        best = summary["best"]
        print(f"{args.out}: step {summary['step']}, {summary['wall_s']:.0f} s; best held-out IoU "
              f"{best['iou']:.3f}, fg MAE {best['fg_mae_mm']:.2f} mm at step {best['step']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Standalone entry (python -m / torchrun -m), with the CLI's one-line errors."""
    import logging

    from app.cli import UserError
    parser = argparse.ArgumentParser(prog="python -m app.commands.train_gan")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["gan", *(sys.argv[1:] if argv is None else argv)])
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return run(args)
    except (UserError, ValueError, OSError) as e:
        print(f"error: {str(e).splitlines()[0] if str(e) else e.__class__.__name__}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
