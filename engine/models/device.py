"""Where and on how many threads inference runs: the `--device` names and the CPU thread count.

Kept apart from the trainers' `pick_device` (engine.train.common), which knows torchrun ranks;
inference adds Apple's `mps` and the thread policy below.
"""
from __future__ import annotations

import os

import torch

from engine.models.device_names import DEVICE_CHOICES


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' -> CUDA, else MPS, else the CPU; a named device that is absent is a one-line error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", 0)
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("--device cuda: no CUDA device is available (use cpu or auto)")
        return torch.device("cuda", 0)
    if name == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError("--device mps: no Apple MPS device is available (use cpu or auto)")
        return torch.device("mps")
    if name == "cpu":
        return torch.device("cpu")
    raise ValueError(f"unknown device {name!r}; use {', '.join(DEVICE_CHOICES)}")


def inference_threads(cores: int | None = None, keep_for_gui: bool = False) -> int:
    """Torch CPU threads for the generator on a machine with `cores` cores (default: this one's).

    Headless, every core. Beside a GUI one core is left to it (its thread and software OpenGL):
    on a 2-core machine a drag with two torch threads measured a 48.6 ms longest GUI stall
    against 33-43 ms with one (engine.generator_loading). Always at least one.
    """
    n = cores if cores is not None else (os.cpu_count() or 1)
    return max(1, n - 1) if keep_for_gui else max(1, n)
