"""A depth image as a style, through the closest sensor model (engine.sim.sensor_match).

This is today's "Add style image" behaviour behind the style seam: prepare decodes the image
once (engine.style.image, the one loader) and picks the sensor model whose hole, noise and step
statistics are nearest the image's; apply runs that model. The registry uses it only where
the learned stage's weights are missing (engine.style.registry.image_style).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.camera import Camera
from engine.sim.sensor_match import closest_sensor, read_style_image
from engine.style.base import Style
from engine.style.image import StyleImage
from engine.style.sensor import SensorStyle


class MatchedImageStyle(Style):
    """A style image (any supported depth PNG) rendered with its closest sensor model."""

    def __init__(self, path: str | Path, scale_mm: float | None = None, name: str | None = None,
                 title: str | None = None, description: str | None = None) -> None:
        self.path = Path(path)
        super().__init__(name or self.path.stem, title or self.path.name,
                         description or f"the sensor model closest to {self.path.name}")
        self.scale_mm = scale_mm
        self.image: StyleImage | None = None
        self.matched: SensorStyle | None = None
        self.distances: dict[str, float] = {}

    def _prepare(self) -> None:
        self.image = read_style_image(self.path, self.scale_mm)
        sensor, self.distances = closest_sensor(self.image.depth)
        self.matched = SensorStyle(sensor)

    @property
    def summary(self) -> str:
        """One line for the user: what the loader assumed and which model was chosen."""
        if self.image is None or self.matched is None:
            return f"{self.path.name}: not prepared"
        return f"{self.path.name}: {self.image.assumption}; closest sensor model {self.matched.sensor}"

    def _apply(self, depth: np.ndarray, camera: Camera, seed: int | None, strength: float) -> np.ndarray:
        assert self.matched is not None  # set by prepare(), which apply() runs first
        return self.matched.apply(depth, camera, seed, strength)
