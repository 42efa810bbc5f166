"""The keyboard shortcuts the F1 overlay lists: one table, so the overlay and the menus agree."""
from __future__ import annotations

SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Drag a joint", "Move it (IK within the joint limits); the wrist moves the hand"),
    ("Shift + drag", "Rotate the hand"),
    ("Drag elsewhere", "Orbit the 3D view · right-drag / wheel: zoom"),
    ("1 · 2 · 3", "Camera / side / top view"),
    ("F", "Frame the hand in the 3D view"),
    ("Ctrl+Z · Ctrl+Shift+Z", "Undo · redo"),
    ("Ctrl+E", "Export the current depth + pose pair"),
    ("Ctrl+S · Ctrl+O", "Save · open a scene"),
    ("Ctrl+R", "Random pose"),
    ("Ctrl+M", "Mirror left ↔ right"),
    ("N", "New sensor noise seed"),
    ("C", "Crop / full frame"),
    ("G", "Depth source: generator (+ style) / simulator"),
    ("B", "A/B: generator | generator + style | the style image"),
    ("F1 or ?", "This overlay"),
)
