"""Loading the shipped generator for a live runtime: the device and thread policy, off the
caller's thread, never failing the caller.

The policy lives beside the runtime (not in the app) because it is a fact about torch and the
machine: on CUDA use the GPU; on a CPU leave one core to whoever draws the frames.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from engine.runtime import CropGenerator

log = logging.getLogger(__name__)


CANCELLED_MESSAGE = "Generator loading cancelled: simulator only"


def load_default_generator(cancelled: Callable[[], bool] = lambda: False
                           ) -> tuple[CropGenerator | None, str, str]:
    """(generator or None, device name, status text). Never raises: the app runs without one.
    `cancelled()` is asked between the steps (import, weights, folding): once it says True, the
    loading stops there and returns no generator.

    Imports torch, so call it off the GUI thread.
    """
    if cancelled():
        return None, "CPU", CANCELLED_MESSAGE
    try:
        from engine.models import generator as gen_module
    except Exception as e:  # noqa: BLE001  (a half-landed module must not stop the app)
        return None, "CPU", f"Generator unavailable ({e.__class__.__name__}): simulator only"
    path = Path(getattr(gen_module, "DEFAULT_GENERATOR_PATH", ""))
    if not path.is_file():
        return None, "CPU", f"No generator at {path.name}: simulator only"
    try:
        import torch

        from engine.models.device import inference_threads
        from engine.models.device_names import RUNTIME_BACKEND
        from engine.models.inference import InferenceGenerator
        from engine.models.pose_encoding import crop_view

        if cancelled():
            return None, "CPU", CANCELLED_MESSAGE
        device = "cuda" if torch.cuda.is_available() else "cpu"
        if device == "cpu":  # process-wide: only G uses torch here; one core stays the GUI's
            torch.set_num_threads(inference_threads(keep_for_gui=True))
        model, _ = gen_module.load_generator(path, device=device)
        if cancelled():
            return None, "CPU", CANCELLED_MESSAGE
        name = torch.cuda.get_device_name(0) if device == "cuda" else "CPU"
        fast = InferenceGenerator(model, backend=RUNTIME_BACKEND)  # built once at load, never per frame

        def generate(y: np.ndarray, transform, silhouette_cut: bool = True, thickness: float = 1.0) -> np.ndarray:
            raw, cut = fast.raw_and_cut(np.asarray(y)[None], crop_view(transform)[None], np.float32([thickness]))
            return (cut if silhouette_cut else raw)[0]

        how = name if fast.backend == "torch" else f"{name}, {fast.backend}"
        return generate, name, f"Generator loaded from {path.name} ({how})"
    except Exception as e:
        log.exception("loading the generator failed")
        return None, "CPU", f"Generator could not be loaded ({str(e).splitlines()[0]}): simulator only"


LoadedCallback = Callable[[CropGenerator | None, str, str], None]


def load_generator_in_background(done: LoadedCallback, cancel: threading.Event
                                 ) -> threading.Thread:
    """Start `load_default_generator` on a daemon thread, stopping early once `cancel` is set;
    `done(generator, device, message)` is called on that thread. Join the thread before the
    interpreter exits: a loader still inside torch at exit makes the C++ runtime abort."""
    thread = threading.Thread(target=lambda: done(*load_default_generator(cancel.is_set)),
                              daemon=True, name="generator-load")
    thread.start()
    return thread
