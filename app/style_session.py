"""The app's styles between the picker and the scene: the bank, preparing the chosen style off
the GUI thread, adding the user's images, and bringing back a saved scene's style.

The controller stays the only writer of the scene: this asks it to choose a style through the
`choose` callback (its set_style) and reads the current choice through `chosen`.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore

from app.long_tasks import LongTasks
from app.scene import StyleChoice
from app.style_bank import NO_STYLE, StyleBank, StyleEntry, style_status
from app.style_jobs import StyleJobs


class StyleSession(QtCore.QObject):
    """The bank plus its one worker; every answer arrives on the GUI thread."""

    ready = QtCore.Signal(str)  # the chosen style is prepared: its picture can be shown
    entriesChanged = QtCore.Signal()  # the bank gained an entry
    message = QtCore.Signal(str)  # one status line

    def __init__(self, choose: Callable[[str], None], chosen: Callable[[], str],
                 tasks: LongTasks, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.bank = StyleBank()
        self.jobs = StyleJobs(self)
        self._choose = choose
        self._chosen = chosen
        self._tasks = tasks

    def entries(self) -> list[StyleEntry]:
        return self.bank.entries()

    def entry(self, name: str) -> StyleEntry | None:
        return self.bank.get(name)

    @property
    def busy(self) -> bool:
        return self.jobs.busy

    def prepare(self, entry: StyleEntry) -> None:
        """Prepare a chosen entry off the GUI thread; then say which style is shown (and its
        units), or, when it cannot be prepared (its image went away), say why and choose none."""
        def done(_: StyleEntry) -> None:
            if entry.name == self._chosen():  # else the user has moved on
                self.message.emit(style_status(entry))
                self.ready.emit(entry.name)

        def failed(message: str) -> None:
            self.message.emit(f"Style {entry.title} unavailable: {message}")
            if entry.name == self._chosen():
                self._choose(NO_STYLE)

        def cancelled() -> None:
            self.message.emit(f"Preparing style {entry.title} cancelled: no style")
            if entry.name == self._chosen():
                self._choose(NO_STYLE)

        if not entry.style.prepared:  # a prepared one answers at once: nothing to show or cancel
            self._run(f"Preparing style {entry.title}", lambda: self.bank.prepare(entry),
                      done, failed, cancelled)
        else:
            self.jobs.run(lambda: entry, done, failed)

    def _run(self, text: str, work, done, failed, cancelled) -> None:
        """A job the status bar shows as a long action (app.long_tasks) with its Cancel."""
        def finish(callback):
            def call(result) -> None:
                self._tasks.end(text)
                callback(result)
            return call

        cancel = self.jobs.run(work, finish(done), finish(failed))
        self._tasks.begin(text, text, lambda: (cancel(), cancelled()))

    def add_image(self, path: str | Path, scale_mm: float | None = None) -> None:
        """Read a depth PNG off the GUI thread, add it to the bank and choose it; a file that
        cannot be a style is one status line."""
        def added(entry: StyleEntry) -> None:
            self.bank.add(entry)
            self.entriesChanged.emit()
            self._choose(entry.name)

        def failed(message: str) -> None:
            self.message.emit(f"Cannot use {Path(path).name} as a style: {message.split(': ', 1)[-1]}")

        def cancelled() -> None:
            self.message.emit(f"Adding style image {Path(path).name} cancelled")

        self._run(f"Preparing style image {Path(path).name}",
                  lambda: self.bank.load_image(path, scale_mm), added, failed, cancelled)

    def restore(self, choice: StyleChoice) -> StyleChoice:
        """The style a scene can show now: a bank entry as it is (prepared in the background);
        an image path is added like "Add style image…" and chosen once it is ready (if it is
        gone: one status line), so until then the scene shows none."""
        entry = self.bank.get(choice.name)
        if entry is not None:
            self.prepare(entry)
        if entry is not None or choice.name == NO_STYLE:
            return choice
        self.add_image(choice.name, choice.scale_mm)
        return StyleChoice(NO_STYLE, choice.strength)

    def shutdown(self) -> None:
        self.jobs.shutdown()
