"""Options of `train distill`: one field each, from which the CLI's flags, the defaults and the
resume rule are derived (engine.train.options). Free of torch so the command line's help is quick.
"""
from __future__ import annotations

from dataclasses import dataclass

from engine.models import SOFT_GENERATOR_PATH
from engine.train.options import defaults, mutable, option


@dataclass(frozen=True)
class DistillOptions:
    """The options of a distillation run (its options.json, key for key)."""

    teacher: str = option(str(SOFT_GENERATOR_PATH), "the generator to distil (a soft-output one: the "
                         "student learns its x_hat)")
    # The teacher's kind of data, fixed: simulator poses, clean renders.
    data: str = option("sim", "training data", flag=False)
    sensors: tuple[str, ...] = option(("none",), "sensor models of the targets", flag=False)
    cameras: tuple[str, ...] = option(("kinect_v1",), "camera presets", flag=False)
    seed: int = option(0, "simulator stream of the training crops")
    steps: int = option(2000, "total steps", mutable=True)
    batch_size: int = option(16, "samples per step")
    lr: float = option(5e-4, "Adam learning rate, cosine-decayed")
    truth_weight: float = option(0.5, "weight of the clean-crop term")
    cache_size: int = option(8000, "training crops made once into RUN_DIR/cache")
    eval_count: int = option(200, "held-out and calibration crops")
    base: int = option(12, "student base channels")
    levels: int = option(4, "student U-Net levels, the teacher's")
    full_res: int = option(8, "student full-resolution channels")
    checkpoint_every: int = option(250, "steps between checkpoints + evaluations", mutable=True)
    log_every: int = option(25, "steps between log rows", mutable=True)
    threads: int = option(1, "CPU threads for torch (the CPU is shared)", mutable=True)


DEFAULTS: dict[str, object] = defaults(DistillOptions)  # the options.json a new run starts from
MUTABLE = mutable(DistillOptions)
