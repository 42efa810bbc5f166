"""`python main.py screenshot`: open the real main window, wait for the first depth frame, save a
grab of the whole window and exit. For the README, bug reports and checking the app headless."""
from __future__ import annotations

import argparse
import re
from pathlib import Path

from engine.io_utils import atomic_write_bytes
from engine.sim.sensors import SENSOR_NAMES

DEFAULT_SIZE = "1440x900"
FRAME_TIMEOUT_S = 30.0
SETTLE_MS = 300  # paint the views after the frame arrives (thumbnails, GL canvas)


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)[xX](\d+)", text.strip())
    if not m or not (320 <= int(m.group(1)) <= 7680 and 240 <= int(m.group(2)) <= 4320):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as {DEFAULT_SIZE}, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def _png_bytes(pixmap, out: Path) -> bytes:
    """The grab as PNG bytes, so io_utils writes the file atomically (no half PNG on a crash)."""
    from PySide6 import QtCore

    data = QtCore.QByteArray()
    buffer = QtCore.QBuffer(data)
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    if not pixmap.save(buffer, "PNG"):
        raise OSError(f"{out}: could not encode the PNG")
    return data.data()


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("screenshot", help="save a picture of the app's window",
                       description="Opens the main window (without touching the autosave), waits "
                                   "for the generator to load and the first depth frame, saves a "
                                   "PNG of the whole window.")
    p.add_argument("--out", type=Path, required=True, help="PNG file to write")
    p.add_argument("--preset", help="hand preset to show (default: the app's start pose)")
    p.add_argument("--style", choices=SENSOR_NAMES, default="none", help="sensor style (default: none)")
    p.add_argument("--size", type=_size, default=_size(DEFAULT_SIZE), help=f"window size (default {DEFAULT_SIZE})")
    p.add_argument("--compare", action="store_true",
                   help="A/B mode: simulator | generator | generator + style (needs the shipped generator)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from app.display import has_display, no_display_message
    from engine.hand.presets import preset_names

    if not has_display():  # before Qt: without a screen it aborts after a page of warnings
        raise OSError(no_display_message())

    if args.preset is not None and args.preset not in preset_names():
        raise ValueError(f"unknown preset {args.preset!r}; choose from: {', '.join(preset_names())}")
    from PySide6 import QtCore

    from app.app_lifetime import application, dispose
    from app.main_window import MainWindow

    app = application()
    window = MainWindow(restore=False, autosave=False)
    try:
        if args.preset:
            window.controller.pose_edits.apply_preset(args.preset)
        if args.style != "none":
            window.controller.set_style(args.style)
        window.resize(*args.size)
        window.show()
        window.fill_presets()
        # The app shows the generator's depth once it has loaded: shoot that, not a race.
        generator = window.controller.wait_for_generator(FRAME_TIMEOUT_S)
        if args.compare:
            if not generator:
                raise OSError("--compare needs the generator, and none could be loaded")
            window.compare_action.setChecked(True)
            window.controller.set_compare(True)
        if not window.controller.wait_for_frame(timeout_s=FRAME_TIMEOUT_S):
            why = window.controller.runtime.last_error or f"none within {FRAME_TIMEOUT_S:.0f} s"
            raise OSError(f"no depth frame: {why}")
        window.flush_display()
        deadline = QtCore.QDeadlineTimer(SETTLE_MS)
        while not deadline.hasExpired():
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
        atomic_write_bytes(args.out, _png_bytes(window.grab(), args.out))
    finally:
        dispose(window)
    print(f"wrote {args.out}")
    return 0
