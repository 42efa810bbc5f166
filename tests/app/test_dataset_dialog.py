"""File > Generate dataset…: the dialog runs engine.dataset in a worker, reports progress, and a
cancel stops it between batches, leaving a dataset that Start (resume) finishes."""
from __future__ import annotations

import json

import pytest

from app.dataset_dialog import DatasetDialog
from engine.dataset import part_paths

TIMEOUT_MS = 120_000  # only a hung run gets there


@pytest.fixture
def dialog(qtbot):
    d = DatasetDialog()
    qtbot.addWidget(d)
    return d


def test_a_tiny_dataset_runs_with_progress_and_is_merged(dialog, qtbot, tmp_path):
    dialog.count.setValue(3)
    dialog.format.setCurrentText("keypoints-json")
    seen = []
    dialog.progress.valueChanged.connect(seen.append)  # the dialog's own progress slot drives it
    with qtbot.waitSignal(dialog.jobFinished, timeout=TIMEOUT_MS) as finished:
        dialog.start(tmp_path / "d")
    assert finished.args[0]["complete"] and finished.args[0]["samples"] == 3
    assert seen[-1] == 3 and dialog.progress.maximum() == 3
    assert len((tmp_path / "d" / "manifest.jsonl").read_text().splitlines()) == 3
    assert len(json.loads((tmp_path / "d" / "keypoints.json").read_text())["annotations"]) == 3
    assert dialog.start_button.isEnabled() and not dialog.job.running


def test_cancel_stops_between_batches_and_start_resumes(dialog, qtbot, tmp_path, monkeypatch):
    import engine.dataset as dataset

    monkeypatch.setattr(dataset, "FLUSH_EVERY", 2)
    dialog.count.setValue(40)
    out = tmp_path / "d"

    def stop_early(done: int) -> None:
        if done >= 2:
            dialog.job.cancel()

    dialog.progress.valueChanged.connect(stop_early)
    with qtbot.waitSignal(dialog.jobFinished, timeout=TIMEOUT_MS) as finished:
        dialog.start(out)
    dialog.progress.valueChanged.disconnect(stop_early)
    card = finished.args[0]
    assert not card["complete"] and 2 <= card["samples"] < 40
    assert not (out / "manifest.jsonl").exists()
    assert len(part_paths(out, 0, 1)[0].read_text().splitlines()) == card["samples"]

    dialog.folder.setText(str(out))
    monkeypatch.setattr(dialog, "ask_resume", lambda folder: True)
    with qtbot.waitSignal(dialog.jobFinished, timeout=TIMEOUT_MS) as finished:
        dialog.start_button.click()
    assert finished.args[0]["complete"] and finished.args[0]["resumed_with"] == card["samples"]
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert [r["index"] for r in rows] == list(range(40))


def test_closing_the_dialog_stops_the_job(dialog, qtbot, tmp_path):
    dialog.count.setValue(10_000)
    job = dialog.start(tmp_path / "d")
    with qtbot.waitSignal(job.progressed, timeout=TIMEOUT_MS):
        pass
    dialog.reject()
    assert not job.running
