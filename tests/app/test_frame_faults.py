"""Faults in the frame path, injected into the real window: the app keeps working and says so.

Each fault (the generator raises, returns NaN or inf, the frame callback raises) must leave the
worker alive, reach the status bar as one line once (not once per frame), leave no dialog,
let `wait_for_frame` / `wait_until_idle` return instead of waiting for a frame that never
comes, and the next good request must render.
"""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtWidgets

from engine.data.crop import CROP_SIZE

EVENT_TIMEOUT_S = 30.0  # generous: only a hang reaches it
DISK = np.hypot(*np.mgrid[-1:1:CROP_SIZE * 1j, -1:1:CROP_SIZE * 1j]) < 0.5


def good_generator(y, transform, cut=True, thickness=1.0):
    return np.where(DISK, -0.2, 1.0).astype(np.float32)


def raising_generator(y, transform, cut=True, thickness=1.0):
    raise RuntimeError("model exploded\nwith a second line")


def nan_generator(y, transform, cut=True, thickness=1.0):
    return np.where(DISK, np.nan, 1.0)


def inf_generator(y, transform, cut=True, thickness=1.0):
    return np.where(DISK, -np.inf, 1.0)


def use_generator(c, generator) -> None:
    c.runtime.generator = generator
    c.generator_available = True
    c.set_source("generator")
    c.request_frame()


def open_dialogs() -> list[QtWidgets.QWidget]:
    return [w for w in QtWidgets.QApplication.topLevelWidgets()
            if isinstance(w, (QtWidgets.QDialog, QtWidgets.QMessageBox)) and w.isVisible()]


def break_frames(c, monkeypatch, fault: str) -> None:
    """Inject `fault` into the controller's frame path."""
    if fault == "callback":
        def broken_delivery(result):
            raise KeyError("view gone")
        monkeypatch.setattr(c.frames, "_on_frame_from_worker", broken_delivery)
        c.request_frame()
    else:
        use_generator(c, {"raises": raising_generator, "nan": nan_generator, "inf": inf_generator}[fault])


EXPECTED = {"raises": "RuntimeError: model exploded with a second line", "nan": "non-finite values",
            "inf": "non-finite values", "callback": "showing the frame failed: KeyError"}


@pytest.mark.parametrize("fault", list(EXPECTED))
def test_a_failing_frame_is_reported_once_and_the_next_one_renders(window, monkeypatch, fault):
    c = window.controller
    messages: list[str] = []
    c.statusMessage.connect(messages.append)
    shown_before = c.shown_frame
    break_frames(c, monkeypatch, fault)
    # A drag's worth of edits over the broken path: each answered by a failure, none shown.
    for curl in (0.2, 0.4, 0.6):
        c.pose_edits.set_curl("index", curl)
        assert not c.wait_for_frame(EVENT_TIMEOUT_S)  # returns as soon as the failure is in
        assert c.frames.settled and c.shown_frame is shown_before
    assert c.runtime.wait_until_idle(EVENT_TIMEOUT_S)
    failures = [m for m in messages if m.startswith("Frame failed")]
    assert len(failures) == 1 and EXPECTED[fault] in failures[0] and "\n" not in failures[0]
    assert window.statusBar().currentMessage() == failures[0]
    assert open_dialogs() == []

    # Repaired: the very next request renders and reaches the depth view.
    monkeypatch.undo()
    displayed: list[int] = []
    window.frameDisplayed.connect(displayed.append)
    use_generator(c, good_generator)
    assert c.wait_for_frame(EVENT_TIMEOUT_S)
    window.flush_display()
    assert displayed[-1] == c.frames.last_request_id and c.shown_frame.generated is not None
    assert np.isfinite(c.shown_frame.depth).all()

    # A new failure after a good frame is news again: said once more.
    use_generator(c, raising_generator)
    c.pose_edits.set_curl("index", 0.1)
    assert not c.wait_for_frame(EVENT_TIMEOUT_S)
    assert len([m for m in messages if m.startswith("Frame failed")]) == 2
