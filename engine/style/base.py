"""What a style is: the one seam between a depth source (simulator | generator) and the frame.

A style turns a clean depth (a crop or a full frame, float32 mm, 0 = no data) into what one
depth camera would have delivered. Every style has two steps, so that a live app pays the
expensive part once:
  prepare()  once, when the style is chosen: read the style image, compute its statistics or
             features. Idempotent; apply() calls it if nobody did.
  apply(depth, camera, seed, strength)  per frame; strength 0 returns the input unchanged,
             1 the full style, values between blend the two.
  apply_batch(depths, cameras, seeds, strength)  apply() of many frames; a style that runs a
             network overrides `_apply_batch` to run it once for the batch (a dataset's
             throughput), giving what apply() gives item by item within float rounding.

A subclass implements `_prepare` (may do nothing) and `_apply` (strength in (0, 1], depth
already checked). Nothing outside engine/style branches on the kind of style: what a caller
may want to show besides the frame is asked of every style alike (`image`, `assumption`,
`range_warning`), with answers of "none" where a kind has nothing to say.
"""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from engine.camera import Camera
from engine.style.image import StyleImage


class Style(ABC):
    """One entry of the style registry (engine.style.registry)."""

    # The decoded style image, set by `_prepare` of a style made from one; None for a style
    # defined by a model alone (the app shows it beside the frame, the CLI states its units).
    image: StyleImage | None = None

    def __init__(self, name: str, title: str, description: str) -> None:
        self.name = name
        self.title = title
        self.description = description
        self._prepared = False
        self._lock = threading.Lock()  # the app prepares off the GUI thread while a frame may apply

    @property
    def prepared(self) -> bool:
        return self._prepared

    def prepare(self) -> Style:
        """Do the once-per-style work (see the module docstring); returns self."""
        with self._lock:
            if not self._prepared:
                self._prepare()
                self._prepared = True
        return self

    def apply(self, depth: np.ndarray, camera: Camera, seed: int | None, strength: float) -> np.ndarray:
        """The styled depth, a new float32 mm array of the input's shape; `depth` is not modified."""
        s = _strength(strength)
        depth = _image(depth)
        if s == 0.0:
            return depth.copy()
        self.prepare()
        return self._apply(depth, camera, seed, s)

    def apply_batch(self, depths: Sequence[np.ndarray], cameras: Sequence[Camera], seeds: Sequence[int | None],
                    strength: float) -> list[np.ndarray]:
        """apply() of each (depth, camera, seed), as one batch (see the module docstring)."""
        s = _strength(strength)
        images = [_image(d) for d in depths]
        if not len(images) == len(cameras) == len(seeds):
            raise ValueError(f"{len(images)} depths, {len(cameras)} cameras and {len(seeds)} seeds: one each per item")
        if s == 0.0:
            return [d.copy() for d in images]
        self.prepare()
        return self._apply_batch(images, list(cameras), list(seeds), s)

    @property
    def assumption(self) -> str | None:
        """What the loader assumed about the style image (encoding, unit), one line; None
        without an image or before prepare()."""
        return self.image.assumption if self.image is not None else None

    def range_warning(self, clean_depth: np.ndarray) -> str | None:
        """One line when part of the hand in `clean_depth` (mm, before the style) lies where
        this style's camera reports no data; None when it all lies in range or the style
        has no working range."""
        return None

    @abstractmethod
    def _prepare(self) -> None:
        """Read and encode the style's source; called once, under the lock."""

    @abstractmethod
    def _apply(self, depth: np.ndarray, camera: Camera, seed: int | None, strength: float) -> np.ndarray:
        """Style `depth` at `strength` in (0, 1]; return a new float32 array."""

    def _apply_batch(self, depths: list[np.ndarray], cameras: list[Camera], seeds: list[int | None],
                     strength: float) -> list[np.ndarray]:
        """`_apply` item by item; overridden where a batch runs faster (checked inputs)."""
        return [self._apply(d, c, seed, strength) for d, c, seed in zip(depths, cameras, seeds)]

    def __getstate__(self) -> dict:
        """Picklable, prepared state and all (a dataset's spawned workers get the parent's
        prepared style, not a style to prepare again); the lock is the process's own."""
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def _strength(strength: float) -> float:
    s = float(strength)
    if not 0.0 <= s <= 1.0:
        raise ValueError(f"style strength must be in [0, 1], got {strength}")
    return s


def _image(depth: np.ndarray) -> np.ndarray:
    depth = np.asarray(depth, dtype=np.float32)
    if depth.ndim != 2:
        raise ValueError(f"depth must be a 2-D image, got shape {depth.shape}")
    return depth
