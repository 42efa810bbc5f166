"""`python main.py train {gan,pose,style,distill,qat}`: training commands, one module each."""
from __future__ import annotations

import argparse
from types import ModuleType

from app.commands import train_distill, train_gan, train_pose, train_qat, train_style

# Each trainer module provides add_parser(subparsers) and run(args) -> int.
TRAINERS: tuple[ModuleType, ...] = (train_gan, train_pose, train_style, train_distill, train_qat)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model (gan, pose, style, distill, qat)")
    kinds = p.add_subparsers(dest="model_kind", metavar="MODEL", required=True)
    for module in TRAINERS:
        module.add_parser(kinds)
