"""The simulator's sensor models (engine.sim.sensors) as styles.

Each model is a published noise model with known parameters, so its "statistics" are its
constants: prepare has nothing to compute. Strength goes through the sensors' own blend, which
only ever adds artefacts as it rises and does not shimmer while the pose holds still.
"""
from __future__ import annotations

import numpy as np

from engine.camera import Camera
from engine.sim.sensors import apply_sensor, blend_with_clean, range_warning, sensor_info
from engine.style.base import Style


class SensorStyle(Style):
    """One of engine.sim.sensors' models ("none", "kinect_v1", "tof", "realsense")."""

    def __init__(self, sensor: str, name: str | None = None) -> None:
        info = sensor_info(sensor)
        super().__init__(name or sensor, info.title, info.description)
        self.sensor = sensor

    def _prepare(self) -> None:
        pass  # the model's constants are its statistics

    def range_warning(self, clean_depth: np.ndarray) -> str | None:
        return range_warning(clean_depth, self.sensor)

    def _apply(self, depth: np.ndarray, camera: Camera, seed: int | None, strength: float) -> np.ndarray:
        noisy = apply_sensor(depth, camera, self.sensor, seed)  # a new array: no copy at full strength
        return noisy if strength == 1.0 else blend_with_clean(depth, noisy, strength, seed)
