"""The flags every `train` command has beside its run options: where the run lives, when to
stop, whether to draw progress. A run's own options come from its options dataclass
(engine.train.options.add_flags); these only steer this invocation, so none is saved with it."""
from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from app.commands.progress_bars import ProgressBars
from engine.progress import Progress, silent


def add_run_flags(parser: argparse.ArgumentParser, time_box: bool = True) -> None:
    """--out, --no-progress and (when the trainer can stop early and resume) --max-minutes."""
    parser.add_argument("--out", type=Path, required=True, help="run folder (created, or resumed when it exists)")
    if time_box:
        parser.add_argument("--max-minutes", type=float,
                            help="stop (with a checkpoint) at the first logged step after this much wall time; "
                                 "run again to resume")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def stop_after(args: argparse.Namespace) -> float | None:
    """--max-minutes in seconds, None when not given."""
    return args.max_minutes * 60.0 if args.max_minutes is not None else None


def progress_for(args: argparse.Namespace) -> contextlib.AbstractContextManager[Progress]:
    """Bars on stderr, or silence under --no-progress; closes the bars when the run ends."""
    return contextlib.nullcontext(silent) if args.no_progress else ProgressBars()
