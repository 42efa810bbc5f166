"""`python main.py train qat`: fine-tune a generator so that the CPU runtime's int8 keeps its
float32 output (engine.train.quant_aware)."""
from __future__ import annotations

import argparse

from app.commands.train_flags import add_run_flags, progress_for, stop_after
from engine.train.options import add_flags, given
from engine.train.quant_aware_options import QuantAwareOptions


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "qat", help="quantization-aware distillation: make a generator's int8 keep its float32 output",
        description="Fine-tunes the teacher generator through a float32 simulation of the int8 runtime's "
                    "rounding, to match the teacher's own float32 output on poses of its training stream. "
                    "RUN_DIR gets options.json, train_state.pt, log.csv/log.jsonl and generator.safetensors "
                    "(an ordinary generator, with the int8 agreement before and after); running again on "
                    "RUN_DIR resumes it.")
    add_run_flags(p)
    add_flags(p, QuantAwareOptions)
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from engine.train.quant_aware import train_quant_aware  # torch: only when run

    with progress_for(args) as progress:
        summary = train_quant_aware(args.out, given(args, QuantAwareOptions), progress=progress,
                                    stop_after=stop_after(args))
    before, after = summary["before"], summary["agreement"]
    if after:
        print(f"{args.out}: step {summary['step']}; int8 against the teacher's float32: silhouette disagreement "
              f"{100 * before['silhouette_disagreement']:.3f} % -> {100 * after['silhouette_disagreement']:.3f} %, "
              f"depth {before['depth_mm']:.2f} -> {after['depth_mm']:.2f} mm")
    return 0
