"""The frame scheduler: between the document and the runtime, latest wins, one frame in flight.

At most one frame is in flight: while one renders (and, when a view paces the scheduler, until
the view has drawn it: `frame_drawn`), `request()` only marks the scene stale, and the newest
scene is submitted the moment that frame is done (and no sooner than MIN_FRAME_INTERVAL_MS after
the previous submit). The frame on screen is therefore never more than one runtime frame behind
the pose, and the worker renders no frame that would be thrown away: on a small CPU every frame
it renders needlessly is time taken from the GUI thread (the GIL) and from the software OpenGL
that draws the views.

Frames come back on the runtime's worker thread; they are handed to the GUI thread through a
one-slot mailbox and a queued signal, so a slow GUI never builds a backlog: it always picks up
the newest frame, and a frame older than the one on screen is dropped.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np
from PySide6 import QtCore

from engine.runtime import DepthRuntime, FrameFailure, FrameRequest, FrameResult

log = logging.getLogger(__name__)

MIN_FRAME_INTERVAL_MS = 1000 / 60  # no more frames than a 60 Hz screen shows
# A frame that has not come back after this long is lost (the runtime logged why): resubmit.
LOST_FRAME_MS = 3000


class FrameScheduler(QtCore.QObject):
    """Submits `make_request()` to `runtime` whenever the scene is stale and nothing is in
    flight; hands each newer frame to the GUI thread as `frameReady`."""

    frameReady = QtCore.Signal(object)  # FrameResult, on the GUI thread, never older than the last
    frameFailed = QtCore.Signal(str)  # one line per distinct failure (a drag must not flood it)
    rangeWarningChanged = QtCore.Signal(str)  # the frame's range warning, "" once it is gone
    _frameArrived = QtCore.Signal()  # worker thread -> GUI thread
    _failureArrived = QtCore.Signal(object)  # FrameFailure, worker thread -> GUI thread

    def __init__(self, runtime: DepthRuntime, make_request: Callable[[], FrameRequest],
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self._make_request = make_request
        self._mail_lock = threading.Lock()
        self._mail: FrameResult | None = None
        self._shown: FrameResult | None = None
        self.last_request_id = 0
        self._in_flight = 0  # id of the request being rendered, 0 when none
        self._frame_error: str | None = None  # the failure last posted; cleared by a good frame
        self._range_warning: str | None = None  # the range warning last posted
        self._stale = False  # the scene changed since the last submit
        self._last_submit = -1e9
        # True when a view calls frame_drawn() after drawing each frame (the main window does).
        self.paced_by_view = False
        self._closed = False

        queued = QtCore.Qt.ConnectionType.QueuedConnection
        self._frameArrived.connect(self._on_frame_arrived, queued)
        self._failureArrived.connect(self._on_frame_failed, queued)
        self._submit_timer = QtCore.QTimer(self, singleShot=True)
        self._submit_timer.timeout.connect(self._submit_if_stale)
        self._lost_timer = QtCore.QTimer(self, singleShot=True, interval=LOST_FRAME_MS)
        self._lost_timer.timeout.connect(self._on_frame_lost)

    @property
    def shown_frame(self) -> FrameResult | None:
        return self._shown

    def request(self) -> None:
        """Ask for a frame of the current scene (never blocks; see the module docstring)."""
        if self._closed:
            return
        self._stale = True
        self._submit_if_stale()

    def _submit_if_stale(self) -> None:
        if not self._stale or self._in_flight or self._submit_timer.isActive() or self._closed:
            return
        wait_ms = MIN_FRAME_INTERVAL_MS - (time.perf_counter() - self._last_submit) * 1e3
        if wait_ms > 0:
            self._submit_timer.start(int(np.ceil(wait_ms)))
            return
        self._stale = False
        self._last_submit = time.perf_counter()
        self.last_request_id = self._in_flight = self.runtime.submit(
            self._make_request(), self._on_frame_from_worker, self._failureArrived.emit)
        self._lost_timer.start()

    def _on_frame_lost(self) -> None:
        """Safety net: the runtime answers every request it renders, so this means a hang."""
        if self._in_flight and not self._closed:
            log.warning("frame %d did not come back: %s", self._in_flight, self.runtime.last_error)
            self._report_frame_error(self.runtime.last_error or "timed out")
            self._in_flight = 0
            self._submit_if_stale()

    @QtCore.Slot(object)
    def _on_frame_failed(self, failure: FrameFailure) -> None:
        """The request in flight produced no frame: say why (once), and go on with the next."""
        if self._closed:
            return
        self._report_frame_error(failure.message)
        if self._in_flight and failure.request_id >= self._in_flight:
            self._in_flight = 0
            self._lost_timer.stop()
            self._submit_if_stale()

    def _report_frame_error(self, message: str) -> None:
        if message != self._frame_error:
            self._frame_error = message
            self.frameFailed.emit(message)

    @property
    def settled(self) -> bool:
        """Nothing is waiting to be submitted or rendered: the runtime has answered the scene."""
        return not self._stale and not self._in_flight

    @property
    def frame_is_current(self) -> bool:
        """True when the frame on screen shows the scene as it is now."""
        return (self.settled and self._shown is not None
                and self._shown.request_id == self.last_request_id)

    def _on_frame_from_worker(self, result: FrameResult) -> None:
        """Runtime worker thread: leave the frame in the mailbox, wake the GUI once."""
        with self._mail_lock:
            wake = self._mail is None
            self._mail = result
        if wake:
            self._frameArrived.emit()

    @QtCore.Slot()
    def _on_frame_arrived(self) -> None:
        with self._mail_lock:
            result, self._mail = self._mail, None
        if result is None or self._closed:
            return
        if self._shown is not None and result.request_id <= self._shown.request_id:
            return
        if not self.paced_by_view:
            self.frame_drawn(result.request_id)
        self._frame_error = None
        warning = result.range_warning or None
        if warning != self._range_warning:  # said once, not once per frame; cleared when gone
            self._range_warning = warning
            self.rangeWarningChanged.emit(warning or "")
        self._shown = result
        self.frameReady.emit(result)

    def frame_drawn(self, request_id: int) -> None:
        """A view has drawn frame `request_id`: the next scene may go to the runtime."""
        if request_id >= self._in_flight:
            self._in_flight = 0
            self._lost_timer.stop()
            self._submit_if_stale()

    def wait(self, timeout_s: float = 10.0) -> bool:
        """Process events until the runtime has answered the current scene; True when its frame
        is on screen, False at once when it failed (tests, screenshot)."""
        deadline = time.monotonic() + timeout_s
        app = QtCore.QCoreApplication.instance()
        while not (self.frame_is_current or self.settled) and time.monotonic() < deadline:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.002)
        return self.frame_is_current

    def shutdown(self) -> None:
        """No more submits; the runtime itself is stopped by its owner."""
        self._closed = True
        for timer in (self._submit_timer, self._lost_timer):
            timer.stop()
