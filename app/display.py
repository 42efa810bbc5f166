"""Is there a screen for Qt? Decided before Qt is imported, so a headless machine gets one
line instead of Qt's page of warnings and an abort (rc 134)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

MAIN_PY = Path(__file__).resolve().parents[1] / "main.py"
XVFB_SCREEN = "-screen 0 1920x1080x24"
# Set in the re-executed child, so a failing xvfb-run cannot loop.
UNDER_XVFB_ENV = "HANDDEPTH_UNDER_XVFB"
# Qt platforms that need no display server (offscreen, minimal, vnc, ...).
SERVER_PLATFORMS = ("xcb", "wayland")


def has_display() -> bool:
    """True when Qt can open windows: an X or Wayland display, a non-Linux desktop, or a Qt
    platform that needs no server."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith(SERVER_PLATFORMS):
        return True
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def no_display_message() -> str:
    return "no display: DISPLAY is not set; run under xvfb-run or set DISPLAY"


def run_under_xvfb(argv: list[str]) -> int | None:
    """Run `main.py argv` again under xvfb-run (its output is this process's); None when
    xvfb-run is not installed or this already is the re-run."""
    xvfb = shutil.which("xvfb-run")
    if xvfb is None or os.environ.get(UNDER_XVFB_ENV):
        return None
    env = {**os.environ, UNDER_XVFB_ENV: "1"}
    return subprocess.run([xvfb, "-a", "-s", XVFB_SCREEN, sys.executable, str(MAIN_PY), *argv],
                          env=env, check=False).returncode
