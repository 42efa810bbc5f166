"""The QApplication and the window's lifetime: create once, run, tear down in a safe order."""
from __future__ import annotations

import signal
import sys

from PySide6 import QtCore, QtWidgets

from app.main_window import APP_NAME, MainWindow
from widgets import theme

SIGNAL_POLL_MS = 200


def application() -> QtWidgets.QApplication:
    """The QApplication, created once with the app's dark theme."""
    app = QtWidgets.QApplication.instance()
    if app is None:
        app = QtWidgets.QApplication(sys.argv[:1])
        app.setApplicationName(APP_NAME)
        app.setStyle("Fusion")
        app.setPalette(theme.dark_palette())
    return app


def dispose(window: MainWindow) -> None:
    """Close and delete the window now (not at interpreter exit, which can abort; HEADLESS.md)."""
    if window.isVisible() or not window.controller.closed:
        window.close()
    window.deleteLater()
    app = QtWidgets.QApplication.instance()
    app.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    app.processEvents()


def run_app() -> int:
    """`python main.py`: open the window, run until it closes, tear down in a safe order."""
    app = application()
    window = MainWindow()
    window.show()
    # Ctrl+C in the terminal or a plain kill closes the window properly (autosave, runtime,
    # canvas). Python runs signal handlers only between bytecodes, so a timer wakes it up; the
    # handler may run inside a paint of the GL canvas, so it only queues the close (closing the
    # canvas mid-paint crashed with SIGSEGV).
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: QtCore.QTimer.singleShot(0, window.close))
    wake = QtCore.QTimer(interval=SIGNAL_POLL_MS)
    wake.timeout.connect(lambda: None)
    wake.start()
    code = app.exec()
    wake.stop()
    dispose(window)
    return int(code)
