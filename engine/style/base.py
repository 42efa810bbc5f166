"""What a style is: the one seam between a depth source (simulator | generator) and the frame.

A style turns a clean depth (a crop or a full frame, float32 mm, 0 = no data) into what one
depth camera would have delivered. Every style has two steps, so that a live app pays the
expensive part once:
  prepare()  once, when the style is chosen: read the style image, compute its statistics or
             features. Idempotent; apply() calls it if nobody did.
  apply(depth, camera, seed, strength)  per frame; strength 0 returns the input unchanged,
             1 the full style, values between blend the two.

A subclass implements `_prepare` (may do nothing) and `_apply` (strength in (0, 1], depth
already checked). Nothing outside engine/style branches on the kind of style.
"""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod

import numpy as np

from engine.camera import Camera


class Style(ABC):
    """One entry of the style registry (engine.style.registry)."""

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
        s = float(strength)
        if not 0.0 <= s <= 1.0:
            raise ValueError(f"style strength must be in [0, 1], got {strength}")
        depth = np.asarray(depth, dtype=np.float32)
        if depth.ndim != 2:
            raise ValueError(f"depth must be a 2-D image, got shape {depth.shape}")
        if s == 0.0:
            return depth.copy()
        self.prepare()
        return self._apply(depth, camera, seed, s)

    @abstractmethod
    def _prepare(self) -> None:
        """Read and encode the style's source; called once, under the lock."""

    @abstractmethod
    def _apply(self, depth: np.ndarray, camera: Camera, seed: int | None, strength: float) -> np.ndarray:
        """Style `depth` at `strength` in (0, 1]; return a new float32 array."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"
