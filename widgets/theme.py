"""One dark theme shared by the Qt panels, the vispy viewport and the pyqtgraph depth view.

The app applies ``dark_palette()`` once; the GL and pyqtgraph views cannot read a QPalette,
so they take their background and accent colours from the constants here.
"""
from __future__ import annotations

from PySide6 import QtGui

BACKGROUND = "#1b1d23"        # 3D and depth views
PANEL = "#25282f"             # docks, lists
BASE = "#1f2228"              # text fields, list backgrounds
TEXT = "#dfe3ea"
MUTED_TEXT = "#8d95a3"
ACCENT = "#4ea1ff"            # selection, hover
WARNING = "#ff5a4f"           # joints at their limit
GRID = (0.55, 0.6, 0.7, 0.22)  # RGBA of the ground grid lines
FRUSTUM = (0.95, 0.78, 0.3, 0.7)
FRAME = "#3d434f"             # outline of a depth image's full frame
# No-data pixels of a depth image: black, the depth viewers' convention, at least 78 RGB units
# from every viewing colormap's entries (the grey map ends at 80, 80, 80 for that), so a hole
# never reads as a far or near depth; not a loud colour, since a simulated frame's whole
# background is no data too.
NO_DATA = "#000000"


# A checked toggle (Left/Right, the selected finger) in the accent colour: Fusion's dark checked
# button differed from an unchecked one by about 15 grey levels, so which hand was selected
# could not be seen.
CHECKED_BUTTON_STYLE = (
    f"QPushButton:checked, QToolButton:checked {{ background-color: {ACCENT}; color: #0b0d10; "
    f"border: 1px solid {ACCENT}; border-radius: 3px; padding: 3px 8px; }}")


def dark_palette() -> QtGui.QPalette:
    """A Fusion-friendly dark palette matching the view backgrounds."""
    pal = QtGui.QPalette()
    role = QtGui.QPalette.ColorRole
    colours = {
        role.Window: PANEL, role.WindowText: TEXT, role.Base: BASE, role.AlternateBase: PANEL,
        role.ToolTipBase: PANEL, role.ToolTipText: TEXT, role.Text: TEXT, role.Button: "#2f333b",
        role.ButtonText: TEXT, role.BrightText: WARNING, role.Highlight: ACCENT,
        role.HighlightedText: "#0b0d10", role.Link: ACCENT, role.PlaceholderText: MUTED_TEXT,
    }
    for r, c in colours.items():
        pal.setColor(r, QtGui.QColor(c))
    disabled = QtGui.QPalette.ColorGroup.Disabled
    for r in (role.Text, role.ButtonText, role.WindowText):
        pal.setColor(disabled, r, QtGui.QColor(MUTED_TEXT))
    return pal
