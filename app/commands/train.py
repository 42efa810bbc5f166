"""`python main.py train {gan,pose}`: training commands, one module each."""
from __future__ import annotations

import argparse
import importlib
import importlib.util

# Each module named here provides add_parser(subparsers) and run(args) -> int.
TRAINERS = ("app.commands.train_gan", "app.commands.train_pose")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model (gan, pose)")
    kinds = p.add_subparsers(dest="model_kind", metavar="MODEL", required=True)
    for name in TRAINERS:
        if importlib.util.find_spec(name) is not None:  # TEMP while trainers land
            importlib.import_module(name).add_parser(kinds)
