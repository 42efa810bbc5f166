"""Long actions show progress in the status bar and can be cancelled: loading the generator and
preparing a style. The slow work is a stand-in held at a gate, so the test decides when it ends."""
from __future__ import annotations

import threading

from PySide6 import QtCore
from PySide6.QtTest import QTest

from engine import generator_loading

EVENT_TIMEOUT_MS = 20000
GATE_TIMEOUT_S = 30.0


def click_cancel(window, qtbot) -> str:
    """Wait for the status bar's progress, click its Cancel; what it said it was doing."""
    progress = window.task_progress
    qtbot.waitUntil(progress.isVisible, timeout=EVENT_TIMEOUT_MS)
    text = progress.label.text()
    QTest.mouseClick(progress.cancel_button, QtCore.Qt.MouseButton.LeftButton)
    return text


def test_the_loader_stops_between_its_steps_once_cancelled():
    generator, device, message = generator_loading.load_default_generator(lambda: True)
    assert generator is None and message == generator_loading.CANCELLED_MESSAGE


def test_loading_the_generator_shows_progress_and_can_be_cancelled(open_window, qtbot, monkeypatch):
    gate, asked = threading.Event(), []

    def slow_loader(cancelled):
        gate.wait(GATE_TIMEOUT_S)  # "importing torch"
        asked.append(cancelled())
        if cancelled():
            return None, "CPU", generator_loading.CANCELLED_MESSAGE
        return (lambda y, transform, cut=True, thickness=1.0: y), "CPU", "Generator loaded"

    monkeypatch.setattr(generator_loading, "load_default_generator", slow_loader)
    window = open_window(load_generator=True)
    c = window.controller
    assert click_cancel(window, qtbot).startswith("Loading the generator")
    assert not window.task_progress.isVisible()
    assert "cancelled" in window.statusBar().currentMessage()
    gate.set()
    qtbot.waitUntil(lambda: not c._generator_thread.is_alive(), timeout=EVENT_TIMEOUT_MS)
    qtbot.wait(50)  # the loader's queued answer
    assert asked == [True]  # the loader saw the cancel between its steps
    assert not c.generator_available and c.runtime.generator is None
    assert not window.compare_action.isEnabled()


def test_preparing_a_style_shows_progress_and_can_be_cancelled(window, qtbot, monkeypatch):
    from app.style_bank import StyleBank

    gate = threading.Event()
    prepare = StyleBank.prepare

    def slow_prepare(entry):
        gate.wait(GATE_TIMEOUT_S)
        return prepare(entry)

    monkeypatch.setattr(StyleBank, "prepare", staticmethod(slow_prepare))
    c = window.controller
    ready = []
    c.styleReady.connect(ready.append)
    c.set_style("tof")
    assert click_cancel(window, qtbot).startswith("Preparing style Time of flight")
    assert c.scene.style.name == "none"  # the app goes on without it
    assert "cancelled" in window.statusBar().currentMessage()
    assert not window.task_progress.isVisible()
    gate.set()
    qtbot.waitUntil(lambda: not c.styles.busy, timeout=EVENT_TIMEOUT_MS)
    qtbot.wait(50)
    assert ready == [] and c.scene.style.name == "none"  # its late answer was dropped
