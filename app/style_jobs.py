"""Slow style work (decoding a style image, its statistics) off the GUI thread.

One worker thread, jobs in the order given; each job's result or its one-line failure comes
back on the GUI thread through a queued signal, so the callbacks may touch widgets. Choosing
a style or adding an image therefore never blocks a drag. `busy` and `shutdown` let tests
(qtbot.waitUntil) and teardown drive it (napari's slicer is the model).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6 import QtCore

log = logging.getLogger(__name__)


class StyleJobs(QtCore.QObject):
    """`run(work, on_done, on_error)`: work() on the worker, a callback on the GUI thread."""

    _finished = QtCore.Signal(object, object, object)  # future, on_done, on_error

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="style-prepare")
        self._pending: set[Future] = set()
        self._dropped: set[Future] = set()  # cancelled: their answers are not delivered
        self._closed = False
        self._finished.connect(self._on_finished, QtCore.Qt.ConnectionType.QueuedConnection)

    def run(self, work: Callable[[], Any], on_done: Callable[[Any], None],
            on_error: Callable[[str], None]) -> Callable[[], None]:
        """Queue `work`; returns the function that cancels it: a queued job never runs, a
        running one finishes on the worker and its answer is dropped (no callback)."""
        if self._closed:
            return lambda: None
        future = self._pool.submit(work)
        self._pending.add(future)
        future.add_done_callback(lambda f: self._finished.emit(f, on_done, on_error))

        def cancel() -> None:
            if future in self._pending:
                self._dropped.add(future)
                future.cancel()
        return cancel

    @property
    def busy(self) -> bool:
        """A job is queued, running, or its answer has not reached the GUI thread yet."""
        return bool(self._pending)

    def shutdown(self) -> None:
        """Drop queued jobs, wait for the one running (no thread outlives the window)."""
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)

    @QtCore.Slot(object, object, object)
    def _on_finished(self, future: Future, on_done: Callable, on_error: Callable) -> None:
        self._pending.discard(future)
        if future in self._dropped:
            self._dropped.discard(future)
            return
        if self._closed or future.cancelled():
            return
        error = future.exception()
        if error is None:
            on_done(future.result())
        elif isinstance(error, ValueError):  # a file that cannot be a style: the user's to fix
            on_error(" ".join(str(error).split()))
        else:
            log.error("style job failed", exc_info=error)
            on_error(f"{error.__class__.__name__}: {error}")
