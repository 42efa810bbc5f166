"""Loading the shipped generator for the app, off the GUI thread, without ever failing the app."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from engine.runtime import CropGenerator

log = logging.getLogger(__name__)

# Torch threads for the generator on a CPU. It runs on every frame while the single view shows
# it: with torch's default (one per core) a drag on a 2-core machine measured a 48.6 ms longest
# GUI stall; with one thread, 33-43 ms at the same ~25-30 ms per generator frame, since the GUI
# thread and software OpenGL need the rest (`python main.py bench app` measures it).
GENERATOR_CPU_THREADS = 1


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

        device = "cuda" if torch.cuda.is_available() else "cpu"
        if device == "cpu":
            torch.set_num_threads(GENERATOR_CPU_THREADS)  # process-wide: only G uses torch here
        model, _ = gen_module.load_generator(path, device=device)
        name = torch.cuda.get_device_name(0) if device == "cuda" else "CPU"

        from engine.models.pose_encoding import crop_view

        def generate(y: np.ndarray, transform) -> np.ndarray:
            return gen_module.generate_crops(model, np.asarray(y)[None], crop_view(transform)[None])[0]

        return generate, name, f"Generator loaded from {path.name} ({name})"
    except Exception as e:
        log.exception("loading the generator failed")
        return None, "CPU", f"Generator could not be loaded ({str(e).splitlines()[0]}): simulator only"
