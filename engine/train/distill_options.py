"""Options of `train distill` and their defaults, free of torch so the command line's help is quick.

Those in MUTABLE may change when a run is resumed; the rest define the run (options.json).
"""
from __future__ import annotations

from engine.models import DEFAULT_GENERATOR_PATH

DEFAULTS: dict[str, object] = {
    "teacher": str(DEFAULT_GENERATOR_PATH), "data": "sim", "sensors": ["none"], "cameras": ["kinect_v1"],
    "seed": 0, "steps": 2000, "batch_size": 16, "lr": 5e-4, "truth_weight": 0.5,
    "cache_size": 8000, "eval_count": 200, "base": 12, "levels": 4, "full_res": 8,
    "checkpoint_every": 250, "log_every": 25, "threads": 1,
}
MUTABLE = frozenset({"steps", "checkpoint_every", "log_every", "threads"})
# What the user may set on the command line (data, sensors and cameras are the teacher's kind: sim, clean).
GIVEN_KEYS: tuple[str, ...] = ("teacher", "steps", "batch_size", "lr", "truth_weight", "seed", "cache_size",
                               "eval_count", "base", "levels", "full_res", "checkpoint_every", "log_every", "threads")
