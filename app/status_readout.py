"""The status bar's permanent readout: the depth source and style shown, the device, the time
the last frame took and the frames shown per second over the last second (app.fps_meter).

Refreshed by a timer rather than per frame: the fps must fall to 0 when frames stop coming,
and a label repaint per frame would cost a draw the depth view needs.
"""
from __future__ import annotations

import time

from PySide6 import QtCore, QtWidgets

from app.controller import StudioController
from app.fps_meter import FpsMeter
from widgets import theme

STATUS_REFRESH_MS = 500


class StatusReadout(QtCore.QObject):
    """Four labels in `status`, kept current from `controller` every STATUS_REFRESH_MS."""

    def __init__(self, status: QtWidgets.QStatusBar, controller: StudioController) -> None:
        super().__init__(status)
        self._controller = controller
        self.fps_meter = FpsMeter()
        self.shown_label = QtWidgets.QLabel()
        self.device_label = QtWidgets.QLabel()
        self.latency_label = QtWidgets.QLabel()
        self.fps_label = QtWidgets.QLabel()
        for label, width, tip in ((self.shown_label, 200, "The depth source and style shown"),
                                  (self.device_label, 150, "Where the depth is computed"),
                                  (self.latency_label, 120, "Time to compute the last frame"),
                                  (self.fps_label, 70, "Frames shown per second, over the last second")):
            label.setMinimumWidth(width)
            label.setToolTip(tip)
            label.setStyleSheet(f"color: {theme.MUTED_TEXT}; padding: 0 6px;")
            status.addPermanentWidget(label)
        self._timer = QtCore.QTimer(self, interval=STATUS_REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    def frame_shown(self, _request_id: int = 0) -> None:
        """A frame reached the screen (the window's frameDisplayed)."""
        self.fps_meter.tick(time.perf_counter())

    def refresh(self) -> None:
        c = self._controller
        frame = c.shown_frame
        latency = f"{frame.timings_ms.get('total', 0.0):.0f} ms / frame" if frame else "– ms / frame"
        texts = ((self.shown_label, f"{c.source} · {c.style_title()}"),
                 (self.device_label, f"Device: {c.device}"),
                 (self.latency_label, latency),
                 (self.fps_label, f"{self.fps_meter.rate(time.perf_counter()):.0f} fps"))
        for label, text in texts:
            if label.text() != text:
                label.setText(text)

    def stop(self) -> None:
        self._timer.stop()
