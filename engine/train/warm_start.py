"""`train gan --init FILE`: start G from a saved generator instead of random weights.

Why: a styled fine-tune (engine.train.style_objective) needs a G that already draws hands;
learning the geometry again from scratch under a feature-distance content term would cost the
whole CPU budget. Only a new run is initialised; a resume takes G from its state file.
The file is checked before anything is written, so a wrong one fails in one line.
"""
from __future__ import annotations

from pathlib import Path

import torch

from engine.models.checkpoint import read_checkpoint

ARCH_KEYS = ("base", "levels", "full_res", "max_channels")  # what must match; the cut is recalibrated


def read_init(path: str | Path, config: dict) -> dict[str, torch.Tensor]:
    """The generator weights in `path`, checked to fit a G with `config`; ValueError otherwise."""
    weights, arch, saved, _ = read_checkpoint(path)
    if arch != "skeleton_unet":
        raise ValueError(f"{path}: a {arch} checkpoint, not a generator (--init needs a generator)")
    differ = [k for k in ARCH_KEYS if saved.get(k) != config.get(k)]
    if differ:
        k = differ[0]
        raise ValueError(f"{path}: generator {k} {saved.get(k)} differs from the run's {config.get(k)} "
                         "(give the --g-* options of that generator)")
    return weights
