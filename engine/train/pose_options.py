"""Options of `train pose` (stored in a run's options.json), free of torch so the command
line's help is quick."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from engine.data.readers.sim import SimConfig
from engine.models import DEFAULT_ESTIMATOR_WIDTHS
from engine.sim.sensors import SENSOR_NAMES

MODEL_FILE = "pose_estimator.safetensors"


@dataclass(frozen=True)
class PoseTrainConfig:
    """The options of a run (stored in options.json)."""

    steps: int = 2400  # ~12 min on one CPU thread (~110 images/s)
    data: str = "sim"  # the sim stream, or a dataset reader's spec (own:DIR, nyu:PATH, ...)
    batch: int = 32
    lr: float = 1e-3
    seed: int = 0  # sim stream seed and weight init
    cache_size: int = 32768
    sensors: tuple[str, ...] = SENSOR_NAMES  # "none" (clean) and every noisy sensor, mixed
    cameras: tuple[str, ...] = ("kinect_v1",)
    widths: tuple[int, ...] = DEFAULT_ESTIMATOR_WIDTHS
    hidden: int = 256
    batch_norm: bool = True  # trained with batch norm, folded into the convs for export
    eval_count: int = 500  # held-out samples per sensor for metrics.json

    def sim_config(self) -> SimConfig:
        return SimConfig(seed=self.seed, sensors=tuple(self.sensors), cameras=tuple(self.cameras))

    def model_config(self) -> dict:
        """The network being trained (the exported one is its batch-norm-folded form)."""
        return {"widths": list(self.widths), "hidden": self.hidden, "batch_norm": self.batch_norm}

    def to_json(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
