"""Fixtures for the app tests: a private home folder (autosave) and the real main window."""
from __future__ import annotations

import pytest
from gui_helpers import WINDOW_SIZE


@pytest.fixture
def home(tmp_path, monkeypatch):
    """HANDDEPTH_HOME in a temp folder, so no test reads or writes the user's autosave."""
    from app.scene import HOME_ENV

    path = tmp_path / "home"
    monkeypatch.setenv(HOME_ENV, str(path))
    return path


@pytest.fixture
def open_window(qtbot, home):
    """Factory: the real MainWindow, shown, with its first depth frame on screen."""
    from app.main_window import MainWindow

    def open_(**kwargs):
        options = {"restore": False, "autosave": False, "load_generator": False, **kwargs}
        window = MainWindow(**options)
        qtbot.addWidget(window)  # closed (runtime stopped, canvas closed) after the test
        window.resize(*WINDOW_SIZE)
        window.show()
        window.activateWindow()  # no window manager on the virtual screen: shortcuts need it
        qtbot.waitExposed(window)
        assert window.controller.wait_for_frame(20.0)
        window.flush_display()
        return window

    return open_


@pytest.fixture
def window(open_window):
    return open_window()
