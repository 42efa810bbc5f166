"""Options of `train qat`: one field each, from which the CLI's flags, the defaults and the resume
rule are derived (engine.train.options). Free of torch so the command line's help is quick.
"""
from __future__ import annotations

from dataclasses import dataclass

from engine.models import DEFAULT_GENERATOR_PATH
from engine.train.options import defaults, mutable, option


@dataclass(frozen=True)
class QuantAwareOptions:
    """The options of a quantization-aware distillation run (its options.json, key for key)."""

    teacher: str = option(str(DEFAULT_GENERATOR_PATH), "the generator whose float32 output its int8 should keep")
    seed: int = option(0, "simulator stream of the training poses (the teacher's own training stream)")
    steps: int = option(800, "total steps", mutable=True)
    batch_size: int = option(16, "poses per step")
    lr: float = option(1e-5, "Adam learning rate, cosine-decayed (small: the student starts as the teacher; "
                                "1e-5 kept more of the teacher than 3e-5 or 1.5e-4, generator_default.md)")
    depth_weight: float = option(100.0, "weight of the depth term against the silhouette term")
    recalibrate_every: int = option(50, "steps between recomputations of the runtime's activation scales")
    eval_count: int = option(128, "development poses on which int8 is compared with the teacher's float32")
    checkpoint_every: int = option(200, "steps between checkpoints + comparisons", mutable=True)
    log_every: int = option(25, "steps between log rows", mutable=True)
    threads: int = option(1, "CPU threads for torch (the CPU is shared)", mutable=True)


DEFAULTS: dict[str, object] = defaults(QuantAwareOptions)  # the options.json a new run starts from
MUTABLE = mutable(QuantAwareOptions)
