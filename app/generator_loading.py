"""Loading the shipped generator for the app, off the GUI thread, without ever failing the app."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from engine.runtime import CropGenerator

log = logging.getLogger(__name__)


def load_default_generator() -> tuple[CropGenerator | None, str, str]:
    """(generator or None, device name, status text). Never raises: the app runs without one.

    Imports torch, so call it off the GUI thread.
    """
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
        from engine.models.inference import InferenceGenerator
        from engine.models.pose_encoding import crop_view

        device = "cuda" if torch.cuda.is_available() else "cpu"
        if device == "cpu":  # process-wide: only G uses torch here; one core stays the GUI's
            torch.set_num_threads(inference_threads(keep_for_gui=True))
        model, _ = gen_module.load_generator(path, device=device)
        name = torch.cuda.get_device_name(0) if device == "cuda" else "CPU"
        fast = InferenceGenerator(model)  # folded once at load, never per frame

        def generate(y: np.ndarray, transform) -> np.ndarray:
            return fast(np.asarray(y)[None], crop_view(transform)[None])[0]

        return generate, name, f"Generator loaded from {path.name} ({name})"
    except Exception as e:
        log.exception("loading the generator failed")
        return None, "CPU", f"Generator could not be loaded ({str(e).splitlines()[0]}): simulator only"
