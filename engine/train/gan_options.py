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
    # Styled runs (engine.train.style_objective): L_ST in place of the L2 term when "style" is set.
    # The weights are the design's start, engine.style.losses.StyleLossConfig's defaults
    # (tests/test_train_style.py checks they agree; that module imports torch, this one must not).
    "style": None, "style_scale": None, "style_camera": None,
    "w_content": 2.0, "w_style": 0.15, "w_tv": 0.5,
    "init": None,  # a generator file G starts from (engine.train.warm_start)
}
MUTABLE = frozenset({"steps", "checkpoint_every", "preview_every", "log_every", "device", "threads"})
