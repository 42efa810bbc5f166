"""Options of `train style` and their defaults, free of torch so the command line's help is quick.

Those in MUTABLE may change when a run is resumed; the rest define the run (options.json).
"""
from __future__ import annotations

REAL_SOURCES = ("sr305", "nyu")  # the real sensors of shared/data/real_depth_samples

DEFAULTS: dict[str, object] = {
    "steps": 1200, "seed": 0, "batch_size": 12, "lr": 2e-3, "cache_size": 600,
    "exclude": [], "real_share": 0.25, "st_weight": 1.0, "st_every": 4,
    "width": 16, "full_width": 8, "code": 32, "encoder_width": 16,
    "checkpoint_every": 100, "log_every": 10, "threads": 0,
}
MUTABLE = frozenset({"steps", "checkpoint_every", "log_every", "threads"})
