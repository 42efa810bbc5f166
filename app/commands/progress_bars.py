"""tqdm bars for the trainers' progress protocol (engine.progress), on stderr.

One bar per stage: a new stage closes the previous bars; a note (total == 0) is printed as one
line above them. tqdm is imported when the first bar opens, so `--help` never pays for it.
"""
from __future__ import annotations

import sys
from collections.abc import Mapping
from types import TracebackType
from typing import Any


def _shown(stats: Mapping[str, float]) -> dict[str, str]:
    return {k: f"{v:.4g}" for k, v in stats.items() if isinstance(v, (int, float))}


class ProgressBars:
    """A Progress callable drawing tqdm bars; use as a context manager so bars close on errors."""

    def __init__(self) -> None:
        self._bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int, stats: Mapping[str, float]) -> None:
        from tqdm import tqdm

        if total == 0:
            tqdm.write(f"{stage}: " + ", ".join(f"{k} {v}" for k, v in _shown(stats).items()), file=sys.stderr)
            return
        bar = self._bars.get(stage)
        if bar is None:
            self.close()
            bar = self._bars[stage] = tqdm(total=total, initial=done, desc=stage, file=sys.stderr,
                                           dynamic_ncols=True)
        if total != bar.total:
            bar.total = total
        if stats:
            bar.set_postfix(_shown(stats), refresh=False)
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()

    def __enter__(self) -> ProgressBars:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()
