"""`--style` and `--style-scale`: how every command names a style (engine.style.registry).

One module so that render, generate and any later command accept the same values, refuse the
same files with the same one-line errors, and say the same thing about an image's units.
Imports no torch and no Qt: the CLI's help loads it.
"""
from __future__ import annotations

import argparse
import sys

from engine.style.base import Style
from engine.style.registry import resolve_style

NO_STYLE = "none"  # the bank's clean entry: the source's depth as it is


def add_style_arguments(p: argparse.ArgumentParser, what: str,
                        style_group: argparse._MutuallyExclusiveGroup | None = None) -> None:
    """--style NAME|PNG (in `style_group` when given, e.g. beside an alias) and --style-scale MM."""
    (style_group or p).add_argument(
        "--style", default=NO_STYLE, metavar="NAME|PNG",
        help=f"the style {what} goes through: a bank name (`main.py styles --names`) or the "
             f"path of any depth PNG (default: {NO_STYLE})")
    p.add_argument("--style-scale", type=float, default=None, metavar="MM",
                   help="mm per stored unit of a style image (default: its IMAGE.json sidecar, "
                        "else guessed from a hand's distance; the assumption is printed)")


def prepared_style(value: str, scale: float | None) -> Style:
    """The style `value` names, prepared now (before anything is computed or written).

    A style image's unit assumption goes to stderr in one line; any problem with the value or
    the image raises ValueError in one line naming it (the CLI prints it, exit 2).
    """
    style = resolve_style(value, scale).prepare()
    if style.assumption is not None:
        print(f"style {value}: {style.assumption}", file=sys.stderr)
    return style
