"""`python main.py train style`: train the real-time style stage (engine.train.style) into a run folder."""
from __future__ import annotations

import argparse
from pathlib import Path

from engine.train.style_options import DEFAULTS, REAL_SOURCES


def _sources(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    bad = [n for n in names if n not in REAL_SOURCES]
    if not names or bad:
        raise argparse.ArgumentTypeError(f"expected real sources from {', '.join(REAL_SOURCES)}")
    return names


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    d = DEFAULTS
    p = sub.add_parser(
        "style", help="train the real-time style stage over randomised sensor styles and real frames",
        description="Trains the feed-forward style stage (any depth image as the style) on randomised "
                    "sensor models (supervised) and the real frames of shared/data/real_depth_samples "
                    "(unpaired), with the design's L_ST. RUN_DIR gets options.json, style_stage.safetensors, "
                    "train_state.pt and log.csv/log.jsonl; running again on an existing RUN_DIR resumes it.")
    p.add_argument("--out", type=Path, required=True, help="run folder (created, or resumed when it exists)")
    p.add_argument("--steps", type=int, help=f"total training steps (default {d['steps']}; may be raised on resume)")
    p.add_argument("--seed", type=int, help=f"seed of the simulator crops and every step's draws (default {d['seed']})")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default 0: torch's choice)")
    p.add_argument("--exclude", type=_sources,
                   help=f"real sources left out, comma-separated, from {', '.join(REAL_SOURCES)} (leave-one-out)")
    p.add_argument("--batch-size", type=int, help=f"styles per step (default {d['batch_size']})")
    p.add_argument("--lr", type=float, help=f"Adam learning rate, cosine-decayed (default {d['lr']})")
    p.add_argument("--cache-size", type=int, help=f"clean simulator crops drawn from (default {d['cache_size']})")
    p.add_argument("--real-share", type=float, help=f"share of batch items styled by a real frame (default {d['real_share']})")
    p.add_argument("--st-weight", type=float, help=f"weight of L_ST (default {d['st_weight']})")
    p.add_argument("--st-every", type=int, help=f"steps between L_ST terms (default {d['st_every']})")
    p.add_argument("--checkpoint-every", type=int, help=f"steps between checkpoints (default {d['checkpoint_every']})")
    p.add_argument("--log-every", type=int, help=f"steps between log rows (default {d['log_every']})")
    p.add_argument("--max-minutes", type=float, help="stop with a checkpoint after this much wall time; run again to resume")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from engine.train.style import train_style  # torch: only when run

    given = {key: getattr(args, key, None) for key in DEFAULTS}
    factory = None
    if not args.no_progress:
        from tqdm import tqdm
        factory = lambda **kw: tqdm(dynamic_ncols=True, **kw)  # noqa: E731
    stop_after = args.max_minutes * 60.0 if args.max_minutes is not None else None
    summary = train_style(args.out, given, progress_factory=factory, stop_after=stop_after)
    state = "finished" if summary["finished"] else "stopped (run again to resume)"
    print(f"{args.out}: step {summary['step']}, {summary['wall_s']:.0f} s, {state}")
    return 0
