"""Running a command the way every entry point does: a user's mistake is one line, exit status 2.

Shared by `main.py` (app.cli) and the modules runnable on their own (`python -m
app.commands.train_gan`, which torchrun launches), so both report errors alike.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

DEBUG_ENV = "HANDDEPTH_DEBUG"  # set to 1 to see tracebacks instead of one-line errors


def run_command(run: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    """run(args)'s exit status; a ValueError or OSError (what the engine raises for bad input or
    files) becomes `error: <first line>` and status 2."""
    try:
        return int(run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError) as e:
        if os.environ.get(DEBUG_ENV):
            raise
        message = str(e).splitlines()[0] if str(e) else e.__class__.__name__
        print(f"error: {message}", file=sys.stderr)
        return 2
