"""`bench app`: the real main window, one fingertip drag per depth source, measured by
app/drag_probe.py (the drag test drives the same code and asserts behaviour only), in the
default scene (no style) or with a style of the bank chosen first (`--style`)."""
from __future__ import annotations

from app.drag_probe import WINDOW_SIZE, drag_fingertip, figures

STARTUP_TIMEOUT_S = 60.0  # the first frame, the generator's loading: generous, only a hang reaches it
SOURCES = ("simulator", "generator")


def bench_app(drag_s: float, style: str | None = None, frames_in_process: bool = True) -> dict[str, dict]:
    """{source: figures}; a source that cannot run gets {"error": one line} instead. `style`:
    a bank name chosen before each drag (None: the default scene's, none). `frames_in_process`:
    the app's default, generator frames from the frame process, waited for before the drag;
    False computes them on the runtime's thread (the A/B of engine.frame_process)."""
    from app.app_lifetime import application

    application()
    return {source: _bench_source(source, drag_s, style, frames_in_process) for source in SOURCES}


def _bench_source(source: str, drag_s: float, style: str | None, frames_in_process: bool) -> dict:
    from app.app_lifetime import dispose
    from app.main_window import MainWindow

    # restore/autosave off: the user's autosave is neither read nor touched
    window = MainWindow(restore=False, autosave=False, load_generator=source == "generator",
                        frames_in_process=frames_in_process)
    try:
        window.resize(*WINDOW_SIZE)
        window.show()
        window.activateWindow()
        c = window.controller
        if source == "generator" and not c.wait_for_generator(STARTUP_TIMEOUT_S):
            return {"error": "no generator could be loaded (see `python main.py -v bench app`)"}
        if source == "generator" and frames_in_process and not c.wait_for_frame_process(STARTUP_TIMEOUT_S):
            process = c.runtime.process
            return {"error": f"no frame process: {process.message if process else 'none started'}"}
        if style is not None:
            c.set_style(style)  # prepared off the GUI thread; its first frame waits for it
        if not c.wait_for_frame(STARTUP_TIMEOUT_S):
            return {"error": f"no depth frame: {c.runtime.last_error or 'timed out'}"}
        window.viewport.snap_view("camera")
        window.flush_display()
        record = drag_fingertip(window, drag_s)
        c.wait_for_frame(STARTUP_TIMEOUT_S)
        return {"drag_s": drag_s, "style": c.style_name or "none",
                "frames_in": "process" if frames_in_process else "thread", **figures(record)}
    finally:
        dispose(window)
