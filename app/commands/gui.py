"""`python main.py [gui]`: the desktop app."""
from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gui", help="open the desktop app (the default)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from app.app_lifetime import run_app  # Qt only from here on

    return run_app()
