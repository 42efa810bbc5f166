"""Options of `train gan` and their defaults, free of torch so the command line's help is quick.

The options of a run and their defaults are the CLI's flags, one for one. Those in MUTABLE may
change when a run is resumed; the rest define the run and must match its options.json.
"""
from __future__ import annotations

DEFAULTS: dict[str, object] = {
    "data": "sim", "sensors": ["none"], "cameras": ["kinect_v1"], "seed": 0,
    "steps": 3000, "batch_size": 32, "lr_g": 1e-3, "lr_d": 2e-4, "l2_weight": 1.0,
    "cache_size": 24000, "eval_count": 200,
    "g_base": 24, "g_levels": 4, "g_full": 16, "d_base": 16,
    "checkpoint_every": 250, "preview_every": 250, "log_every": 10, "device": "auto", "threads": 0,
}
MUTABLE = frozenset({"steps", "checkpoint_every", "preview_every", "log_every", "device", "threads"})
