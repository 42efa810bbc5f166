"""The app's styles, Qt-free: the registry's bank with its thumbnails, then the user's images.

Each entry holds one Style object for the whole session, so a style is prepared once (when it
is first chosen) and every frame after reuses it (STYLE.md: encode each style once). `prepare`
and `load_image` decode PNGs and compute statistics: the controller runs them off the GUI
thread. Nothing here asks what kind a style is; what a style shows beside the frame (its
source image, or a hand through it when it has none) comes from the Style interface.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from app.thumbnails import hand_crop, image_thumbnail, shade_depth
from engine.camera import DEFAULT_CAMERA
from engine.data.crop import crop_camera, make_transform
from engine.hand import controls
from engine.hand.model import forward_kinematics
from engine.hand.presets import DEFAULT_PRESET, load_preset
from engine.sim.render import render_hand
from engine.style.base import Style
from engine.style.registry import BANK_INDEX, load_bank, resolve_style

NO_STYLE = "none"  # the bank's clean entry; the picker's own "None" stands for it
REFERENCE_DISTANCE_MM = 600.0  # a hand shown through a style without an image: in every range
REFERENCE_SEED = 1


@dataclass
class StyleEntry:
    """One style the picker offers."""

    name: str  # what `--style` takes: a bank name, or the image's absolute path
    title: str
    thumbnail: np.ndarray  # uint8 grey picture
    style: Style  # the session's one instance
    scale_mm: float | None = None  # `--style-scale` of an image file
    reference: np.ndarray | None = field(default=None, repr=False)  # mm; set by StyleBank.prepare


class StyleBank:
    """The bank's entries in index order (without NO_STYLE), then the images the user added."""

    def __init__(self, index: str | Path = BANK_INDEX) -> None:
        self._entries: dict[str, StyleEntry] = {}
        for bank in load_bank(index):
            if bank.name != NO_STYLE:
                thumb = cv2.imread(str(bank.thumbnail), cv2.IMREAD_GRAYSCALE)
                if thumb is None:
                    raise ValueError(f"{bank.thumbnail}: style thumbnail missing or unreadable")
                self._entries[bank.name] = StyleEntry(bank.name, bank.title, thumb, bank.style())

    def entries(self) -> list[StyleEntry]:
        return list(self._entries.values())

    def get(self, name: str) -> StyleEntry | None:
        return self._entries.get(name)

    def add(self, entry: StyleEntry) -> None:
        """Append (or replace) a user's image entry."""
        self._entries[entry.name] = entry

    @staticmethod
    def load_image(path: str | Path, scale_mm: float | None = None) -> StyleEntry:
        """A depth PNG as a prepared entry with its thumbnail (slow: off the GUI thread);
        ValueError (one line naming the file) when it cannot be a style."""
        path = Path(path).resolve()
        style = resolve_style(str(path), scale_mm)
        entry = StyleEntry(str(path), path.stem, np.zeros((1, 1), np.uint8), style, scale_mm)
        StyleBank.prepare(entry)
        entry.thumbnail = image_thumbnail(style.image.depth) if style.image is not None \
            else shade_depth(entry.reference)
        return entry

    @staticmethod
    def prepare(entry: StyleEntry) -> StyleEntry:
        """Prepare the entry's style and cut the picture the A/B view shows beside the frame."""
        style = entry.style.prepare()
        if entry.reference is None:
            entry.reference = hand_crop(style.image.depth) if style.image is not None \
                else reference_render(style)
        return entry


def reference_render(style: Style) -> np.ndarray:
    """The default preset's hand, in its crop camera, through `style` (mm): what a style
    without a source image looks like."""
    hand = controls.set_hand_distance(load_preset(DEFAULT_PRESET).hand, REFERENCE_DISTANCE_MM)
    joints = forward_kinematics(hand)
    camera = crop_camera(make_transform(joints, DEFAULT_CAMERA))
    clean = render_hand(joints, camera, hand.shape.thickness).depth
    return style.apply(clean, camera, REFERENCE_SEED, 1.0)


def style_status(entry: StyleEntry) -> str:
    """The status line for a chosen, prepared style: which style is shown and, for an image,
    what the loader assumed about its units."""
    assumption = entry.style.assumption
    return f"Style: {entry.title}" + (f" · style image {assumption}" if assumption else "")


def style_title(entry: StyleEntry | None, strength: float) -> str:
    """A panel's name for the style at a strength ("clean" without one)."""
    if entry is None:
        return "clean"
    return f"{entry.title} · {strength:.2f}" if strength < 1.0 else entry.title
