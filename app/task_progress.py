"""The status bar's progress for long actions (app.long_tasks): what is being done, a busy bar
and Cancel. It shows only when an action lasts longer than SHOW_AFTER_MS, so a style that is
prepared in a blink does not make the status bar flicker.
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app.controller import StudioController

SHOW_AFTER_MS = 300


class TaskProgress(QtWidgets.QWidget):
    """Label, busy bar and Cancel for the oldest running long action."""

    def __init__(self, controller: StudioController, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._tasks = controller.tasks
        self.label = QtWidgets.QLabel()
        self.bar = QtWidgets.QProgressBar()
        self.bar.setRange(0, 0)  # busy: none of these actions can say how far along it is
        self.bar.setMaximumWidth(100)
        self.bar.setMaximumHeight(14)
        self.cancel_button = QtWidgets.QToolButton(text="Cancel")
        self.cancel_button.setToolTip("Stop waiting for this and go on without it")
        self.cancel_button.clicked.connect(self._on_cancel)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.label, self.bar, self.cancel_button):
            layout.addWidget(widget)
        self._key: str | None = None
        self._show_timer = QtCore.QTimer(self, singleShot=True, interval=SHOW_AFTER_MS)
        self._show_timer.timeout.connect(self._update)
        self._tasks.changed.connect(self._on_changed)
        self.setVisible(False)
        self._on_changed()

    def _on_changed(self) -> None:
        if not self._tasks.running():
            self._show_timer.stop()
            self._update()
        elif not self.isVisible() and not self._show_timer.isActive():
            self._show_timer.start()
        elif self.isVisible():
            self._update()

    def _update(self) -> None:
        running = self._tasks.running()
        self._key = running[0].key if running else None
        if running:
            more = f" (+{len(running) - 1})" if len(running) > 1 else ""
            self.label.setText(f"{running[0].text}…{more}")
        self.setVisible(bool(running))

    def _on_cancel(self) -> None:
        if self._key is not None:
            self._tasks.cancel(self._key)

    def stop(self) -> None:
        self._show_timer.stop()
