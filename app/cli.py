"""Command-line entry: subcommands for headless work, the GUI when none is given.

Qt is imported only by the commands that open windows, so every headless command starts
without it (a test enforces this).
"""
from __future__ import annotations

import argparse
import logging
import sys
from types import ModuleType

from app.commands import bench, dataset, evaluate, generate, gui, render, screenshot, styles, stylize, train
from app.entry import run_command

# Order is the order `--help` lists them in.
COMMANDS: tuple[ModuleType, ...] = (gui, render, generate, dataset, train, evaluate, bench, styles,
                                     stylize, screenshot)

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="HandDepth Studio: pose a hand, get a realistic depth image. "
                    "Without a command, the desktop app opens.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.command is None:  # the app takes no options of its own: `main.py -v` opens it too
        args.command, args.run = "gui", gui.run
    return run_command(args.run, args)
