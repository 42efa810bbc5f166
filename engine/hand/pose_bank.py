"""The shipped bank of real tracked hand poses (resources/poses/bank/, made by tools/make_pose_bank.py).

Why a bank: the random sampler draws each angle independently, so its hands are plausible but
not how people hold them; these 2,336 poses come from a real hand tracker (Intel RealSense,
Apache-2.0; see NOTICE there), fitted to this project's model so they stay within its limits.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from engine.hand.model import NUM_PARAMS, HandPose, params_to_pose

BANK_DIR = Path(__file__).resolve().parents[2] / "resources" / "poses" / "bank"
BANK_FILE = "bank.npz"


@lru_cache(maxsize=1)
def bank_params() -> np.ndarray:
    """(N, 32) model parameters of the bank (engine.hand.model's layout), read once."""
    path = BANK_DIR / BANK_FILE
    try:
        with np.load(path) as data:
            params = np.asarray(data["params"], dtype=np.float64)
    except (OSError, KeyError, ValueError) as e:
        raise ValueError(f"{path}: cannot read the pose bank ({e.__class__.__name__}); "
                         "run python -m tools.make_pose_bank") from None
    if params.ndim != 2 or params.shape[1] != NUM_PARAMS or not np.all(np.isfinite(params)):
        raise ValueError(f"{path}: expected finite params of shape (N, {NUM_PARAMS}), got {params.shape}")
    params.setflags(write=False)
    return params


def bank_pose(index: int) -> HandPose:
    """Pose `index` of the bank, a right hand where the tracker saw it."""
    return params_to_pose(bank_params()[index], HandPose(handedness="right"))
