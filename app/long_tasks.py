"""The app's long actions now running (loading the generator, preparing a style), each with the
way to cancel it, so one status-bar widget (app.task_progress) can show and cancel them all.

Cancelling stops waiting: the work's answer is dropped and the app goes on without it. Work
that checks a cancel flag between its steps (the generator loader) also stops early; a step
already running in torch or a decoder finishes on its own thread first.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6 import QtCore


@dataclass(frozen=True)
class Task:
    key: str  # one task per key ("generator", or what a style job does)
    text: str  # what is being done, for the status bar
    cancel: Callable[[], None]


class LongTasks(QtCore.QObject):
    """The running tasks by key; `changed` after every begin, end or cancel."""

    changed = QtCore.Signal()

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: dict[str, Task] = {}

    def begin(self, key: str, text: str, cancel: Callable[[], None]) -> None:
        """A long action started (replacing an earlier one of the same key)."""
        self._tasks[key] = Task(key, text, cancel)
        self.changed.emit()

    def end(self, key: str) -> None:
        """The action finished, failed or was cancelled."""
        if self._tasks.pop(key, None) is not None:
            self.changed.emit()

    def cancel(self, key: str) -> None:
        """Cancel the action `key` (nothing when it has already ended)."""
        task = self._tasks.pop(key, None)
        if task is not None:
            task.cancel()
            self.changed.emit()

    def running(self) -> list[Task]:
        return list(self._tasks.values())
