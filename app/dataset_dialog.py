"""File > Generate dataset…: the `dataset` command's engine (engine.dataset.run_shard) in a worker
thread, with a progress bar and a Cancel that stops between batches.

Why the same run_shard and not a GUI copy: a dataset made here is byte-for-byte the one the CLI
makes with the same options, and a cancelled one is continued by either (`--resume`, or Start
again here). Ctrl+E stays the one-pair export.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from engine.camera import CAMERA_PRESETS
from engine.dataset import DatasetPlan, merge, part_paths, run_shard
from engine.dataset_formats import FORMATS

log = logging.getLogger(__name__)
POSE_CHOICES = ("random", "bank")
MAX_COUNT = 10_000_000


class DatasetJob(QtCore.QObject):
    """One dataset run on a Python thread; its signals arrive on the GUI thread (queued)."""

    progressed = QtCore.Signal(int, int)  # done, total
    finished = QtCore.Signal(dict)  # the card (card["complete"] False when cancelled)
    failed = QtCore.Signal(str)  # one line

    def __init__(self, plan: DatasetPlan, out: Path, resume: bool, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.plan, self.out, self.resume = plan, out, resume
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dataset", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        """Stop after the batch being written (what was flushed stays, a resume finishes it)."""
        self._cancel.set()

    def wait(self) -> None:
        if self._thread.is_alive():
            self._thread.join()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            card = run_shard(self.plan, self.out, resume=self.resume, command="GUI: Generate dataset",
                             progress=self.progressed.emit, cancelled=self._cancel.is_set)
            if card["complete"]:
                merge(self.out)
        except (ValueError, OSError) as e:
            self.failed.emit(" ".join(str(e).split()))
            return
        except Exception as e:  # noqa: BLE001 - the dialog must hear of any failure
            log.error("dataset job failed", exc_info=e)
            self.failed.emit(f"{e.__class__.__name__}: {e}")
            return
        self.finished.emit(card)


class DatasetDialog(QtWidgets.QDialog):
    """The form (the CLI's main options), Start/Cancel, and the progress of the running job."""

    jobFinished = QtCore.Signal(dict)  # re-emitted for tests and callers

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Generate dataset")
        self.job: DatasetJob | None = None
        self.folder = QtWidgets.QLineEdit()
        browse = QtWidgets.QPushButton("Browse…")
        browse.clicked.connect(self._on_browse)
        self.count = QtWidgets.QSpinBox(minimum=1, maximum=MAX_COUNT, value=1000)
        self.source = QtWidgets.QComboBox()
        self.source.addItems(["simulator", "generator"])
        self.style = QtWidgets.QLineEdit("none")
        self.style.setToolTip("a bank style's name, a depth PNG, or none")
        self.poses = QtWidgets.QComboBox()
        self.poses.addItems(POSE_CHOICES)
        self.camera = QtWidgets.QComboBox()
        self.camera.addItems(sorted(CAMERA_PRESETS))
        self.camera.setCurrentText("kinect_v1")
        self.seed = QtWidgets.QSpinBox(minimum=0, maximum=2**31 - 1)
        self.format = QtWidgets.QComboBox()
        self.format.addItems(FORMATS)
        self.progress = QtWidgets.QProgressBar()
        self.status = QtWidgets.QLabel("")
        self.start_button = QtWidgets.QPushButton("Start")
        self.start_button.clicked.connect(self._on_start)
        self.cancel_button = QtWidgets.QPushButton("Close")
        self.cancel_button.clicked.connect(self._on_cancel)

        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.folder)
        row.addWidget(browse)
        form = QtWidgets.QFormLayout()
        form.addRow("Folder", row)
        for label, widget in (("Samples", self.count), ("Source", self.source), ("Style", self.style),
                              ("Poses", self.poses), ("Camera", self.camera), ("Seed", self.seed),
                              ("Format", self.format)):
            form.addRow(label, widget)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

    def plan(self) -> DatasetPlan:
        """The DatasetPlan the form describes (ValueError, one line, for a bad one)."""
        return DatasetPlan(count=self.count.value(), seed=self.seed.value(), source=self.source.currentText(),
                           style=self.style.text().strip() or "none", poses=self.poses.currentText(),
                           camera=self.camera.currentText(), format=self.format.currentText())

    def start(self, out: Path, resume: bool = False) -> DatasetJob:
        """Start the form's dataset in `out` (the Start button, minus the questions)."""
        self.job = DatasetJob(self.plan(), out, resume, self)
        self.job.progressed.connect(self._on_progress)
        self.job.finished.connect(self._on_finished)
        self.job.failed.connect(self._on_failed)
        self._set_running(True)
        self.status.setText(f"writing {out}…")
        self.job.start()
        return self.job

    def ask_resume(self, out: Path) -> bool:
        """Whether to continue a dataset started before in `out` (never overwritten silently)."""
        answer = QtWidgets.QMessageBox.question(
            self, "Generate dataset", f"{out} holds a dataset started before. Continue it?")
        return answer == QtWidgets.QMessageBox.StandardButton.Yes

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setText("Cancel" if running else "Close")

    def _on_browse(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Dataset folder", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def _on_start(self) -> None:
        text = self.folder.text().strip()
        if not text:
            self.status.setText("choose a folder first")
            return
        out = Path(text)
        resume = part_paths(out, 0, 1)[0].exists()
        if resume and not self.ask_resume(out):
            return
        try:
            self.start(out, resume)
        except ValueError as e:
            self.status.setText(str(e))

    def _on_cancel(self) -> None:
        if self.job is not None and self.job.running:
            self.status.setText("stopping after this batch…")
            self.job.cancel()
        else:
            self.reject()

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setMaximum(total)
        self.progress.setValue(done)
        self.status.setText(f"{done}/{total} samples")

    def _on_finished(self, card: dict) -> None:
        self.job.wait()  # the thread only has its return left: no thread outlives its job
        self._set_running(False)
        rate = card["samples_per_s"] or 0.0
        what = "done" if card["complete"] else "stopped (Start again to continue)"
        self.status.setText(f"{card['samples']} samples, {what}; {rate:.1f} samples/s")
        self.jobFinished.emit(card)

    def _on_failed(self, message: str) -> None:
        self.job.wait()
        self._set_running(False)
        self.status.setText(message)

    def done(self, result: int) -> None:
        """Closing the dialog stops the job: no thread outlives it."""
        if self.job is not None:
            self.job.cancel()
            self.job.wait()
        super().done(result)


def open_dataset_dialog(parent: QtWidgets.QWidget) -> DatasetDialog:
    """File > Generate dataset…: the dialog, modeless so the studio stays usable."""
    dialog = DatasetDialog(parent)
    dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
