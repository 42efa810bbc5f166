"""Undo/redo as a list of (before, after) snapshots, Qt-free and indifferent to what it stores.

The document records whole scene snapshots; a test records poses. Values are immutable, so an
edit is two references, not a copy. A whole drag is one edit; repeated moves of one control
(same merge key, within MERGE_WINDOW_S) merge into one, as QUndoCommand.mergeWith does.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

MERGE_WINDOW_S = 1.0  # slider moves of one control closer together than this are one edit
HISTORY_LIMIT = 500


@dataclass
class _Edit(Generic[T]):
    before: T
    after: T
    label: str
    merge_key: object | None
    time: float


class EditHistory(Generic[T]):
    """Undo/redo of edits between values that `same` tells apart."""

    def __init__(self, same: Callable[[T, T], bool], limit: int = HISTORY_LIMIT) -> None:
        self._same = same
        self._done: list[_Edit[T]] = []
        self._undone: list[_Edit[T]] = []
        self._limit = limit

    def record(self, before: T, after: T, label: str, merge_key: object | None = None,
               now: float | None = None) -> None:
        if self._same(before, after):
            return
        now = time.monotonic() if now is None else now
        top = self._done[-1] if self._done else None
        if (merge_key is not None and top is not None and not self._undone
                and top.merge_key == merge_key and now - top.time < MERGE_WINDOW_S):
            top.after, top.time = after, now
            return
        self._done.append(_Edit(before, after, label, merge_key, now))
        self._undone.clear()
        del self._done[:-self._limit]

    def undo(self) -> T | None:
        """The value to go back to, or None when there is nothing to undo."""
        if not self._done:
            return None
        edit = self._done.pop()
        self._undone.append(edit)
        return edit.before

    def redo(self) -> T | None:
        if not self._undone:
            return None
        edit = self._undone.pop()
        edit.time = -math.inf  # a redone edit never merges with the next one
        self._done.append(edit)
        return edit.after

    def clear(self) -> None:
        self._done.clear()
        self._undone.clear()

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    @property
    def undo_label(self) -> str:
        return self._done[-1].label if self._done else ""

    @property
    def redo_label(self) -> str:
        return self._undone[-1].label if self._undone else ""
