"""The one progress callback every trainer (and the caches they fill) takes:
`progress(stage, done, total, stats)`.

Why one shape: the CLI draws bars, a GUI would draw its own, tests pass nothing; with one shape
each front end writes one adapter (app.commands.progress_bars) for every trainer.
  - stage: what is being counted ("cache train", "train", "eval"...); a new stage is a new bar.
  - done / total: units finished out of the stage's total.
  - stats: numbers worth showing beside the bar (losses, throughput), often empty.
A call with total == 0 is a note, a result to show once (a checkpoint's held-out scores), not a bar.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class Progress(Protocol):
    def __call__(self, stage: str, done: int, total: int, stats: Mapping[str, float]) -> None: ...


def silent(stage: str, done: int, total: int, stats: Mapping[str, float]) -> None:
    """The progress of a caller that shows none."""


def note(progress: Progress, stage: str, stats: Mapping[str, float]) -> None:
    """Report a result once (total == 0), e.g. a checkpoint's held-out scores."""
    progress(stage, 0, 0, stats)
