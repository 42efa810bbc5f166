"""The smallest `train gan` run with supervised heads (mask output): two steps, a checkpoint after
each, a 4-crop cache. Shared by the tests that check an objective option reaches its loss."""
from __future__ import annotations

TINY_HEADS_RUN: dict[str, object] = {
    "g_base": 4, "g_levels": 2, "g_full": 4, "d_base": 4, "batch_size": 2, "cache_size": 4, "eval_count": 2,
    "checkpoint_every": 2, "preview_every": 2, "log_every": 1, "threads": 1, "steps": 2, "mask_weight": 1.0,
    "depth_weight": 10.0, "l2_weight": 0.0, "g_output": "mask"}
