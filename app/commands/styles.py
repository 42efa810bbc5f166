"""`python main.py styles`: the style bank, with where each style came from and its licence.

Reads only the bank's index (engine.style.registry), so it starts without torch or Qt.
"""
from __future__ import annotations

import argparse

from engine.style.registry import STYLE_DIR, load_bank


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("styles", help="list the style bank (names for --style)",
                       description=f"Lists the styles in {STYLE_DIR} with source and licence. "
                                   "A --style value is one of these names or the path of a depth PNG.")
    p.add_argument("--names", action="store_true", help="print only the names, one a line")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    entries = load_bank()
    if args.names:
        print("\n".join(entry.name for entry in entries))
        return 0
    width = max(len(entry.name) for entry in entries)
    for entry in entries:
        print(f"{entry.name:<{width}}  {entry.kind:<6}  {entry.title}")
        print(f"{'':<{width}}  source:  {entry.source}")
        licence = entry.licence
        if entry.licence_file is not None:
            licence += f" (see {entry.licence_file.relative_to(STYLE_DIR.parent.parent)})"
        print(f"{'':<{width}}  licence: {licence}")
    print(f"{len(entries)} styles; --style also takes the path of any depth PNG")
    return 0
