"""Options of `train pose`: one field each, from which the CLI's flags, the defaults and the
resume rule are derived (engine.train.options). Free of torch so the command line's help is quick.
"""
from __future__ import annotations

from dataclasses import dataclass

from engine.data.readers.sim import SimConfig
from engine.models import DEFAULT_ESTIMATOR_WIDTHS, ESTIMATOR_HEADS as HEADS
from engine.sim.sensors import SENSOR_NAMES
from engine.train.options import mutable, option, to_json, yes_no

MODEL_FILE = "pose_estimator.safetensors"


@dataclass(frozen=True)
class PoseTrainConfig:
    """The options of a run (stored in options.json)."""

    steps: int = option(2400, "optimiser steps (~12 min on one CPU thread, ~110 images/s)", mutable=True)
    data: str = option("sim", "training data: the simulator (sim), or a dataset reader's spec, e.g. "
                              "own:DIR for a folder written by `dataset`")
    batch: int = option(32, "batch size")
    lr: float = option(1e-3, "peak Adam learning rate")
    seed: int = option(0, "sim stream and init seed")
    cache_size: int = option(32768, "sim crops rendered once into OUT/cache")
    # "none" (clean) and every noisy sensor, mixed.
    sensors: tuple[str, ...] = option(SENSOR_NAMES, "sensor models of the training crops", flag=False)
    cameras: tuple[str, ...] = option(("kinect_v1",), "camera presets", flag=False)
    widths: tuple[int, ...] = option(DEFAULT_ESTIMATOR_WIDTHS, "convolution widths per stage", flag=False)
    head: str = option("fc", "pose head: fc (pool5 flattened into a fully connected regressor) or integral "
                             "(2.5D heatmaps on relu4_4+relu5_4 read out by soft-argmax)", choices=HEADS)
    heatmap: int = option(16, "the integral head's heatmap side: 16 (on relu4_4) or 32 (refined on relu3_4)",
                          choices=(16, 32))
    hidden: int = option(256, "width of the head: the fc layer's units, or the integral head's conv channels")
    batch_norm: bool = option(True, "train with batch norm (folded into the convs for export): true or false",
                              parse=yes_no)
    init: str | None = option(None, "a pose estimator .safetensors whose VGG-19 trunk a new run starts from "
                                    "(same --widths), and its head where the head's layers have the same "
                                    "shapes (else the head starts fresh)", parse=str)
    freeze: int = option(0, "trunk blocks kept as they start (0-5; e.g. 3 = blocks 1-3, with --init): "
                            "no gradient is computed through them")
    eval_count: int = option(500, "held-out crops per sensor for metrics.json", mutable=True)

    def sim_config(self) -> SimConfig:
        return SimConfig(seed=self.seed, sensors=tuple(self.sensors), cameras=tuple(self.cameras))

    def model_config(self) -> dict:
        """The network being trained (the exported one is its batch-norm-folded form)."""
        return {"widths": list(self.widths), "hidden": self.hidden, "batch_norm": self.batch_norm,
                "head": self.head, "heatmap": self.heatmap}

    def to_json(self) -> dict:
        return to_json(self)


MUTABLE = mutable(PoseTrainConfig)
