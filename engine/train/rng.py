"""The process's random number generators as a checkpointable value.

A resumed run must continue exactly where the uninterrupted one would have been, so a training
state stores every global RNG a step may draw from (torch CPU and CUDA, numpy's legacy global,
Python's `random`), as tensors and plain values only: the state file then still loads with
torch.load(weights_only=True), which refuses numpy arrays and arbitrary objects.
"""
from __future__ import annotations

import random

import numpy as np
import torch


def rng_state() -> dict:
    """Every global RNG state of this process, in weights_only-loadable types."""
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    py_version, py_internal, py_gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"name": np_name, "keys": torch.from_numpy(np_keys.astype(np.int64)), "pos": int(np_pos),
                  "has_gauss": int(np_has_gauss), "gauss": float(np_gauss)},
        "python": {"version": py_version, "internal": torch.tensor(py_internal, dtype=torch.int64),
                   "gauss": py_gauss},
    }


def restore_rng_state(state: dict) -> None:
    """Put back what rng_state() returned (CUDA only when this process sees as many devices).

    Tensors may come back on another device (a state file loaded with map_location): the
    generators take CPU byte tensors."""
    torch.set_rng_state(state["torch"].cpu())
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([t.cpu() for t in cuda])
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].cpu().numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    p = state["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["internal"].tolist()), p["gauss"]))
