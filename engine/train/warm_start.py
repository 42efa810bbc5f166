"""`train gan --init FILE`: start G from a saved generator instead of random weights.

Why: a styled fine-tune (engine.train.style_objective) needs a G that already draws hands;
learning the geometry again from scratch under a feature-distance content term would cost the
whole CPU budget. Only a new run is initialised; a resume takes G from its state file.
The file is checked before anything is written, so a wrong one fails in one line.

A G without the shape input starts a shape-aware one (`--g-shape-input true`) as itself: the
thickness plane is a new last input channel of the two convolutions that read the body's input,
and its weights start at zero, so training begins from exactly the file's output and learns
only what the thickness adds.

Likewise a G without the output-resolution stage starts a `--g-refine` one (either form) as
itself: the stage takes the new model's own initial weights, whose last convolution is zero.
"""
from __future__ import annotations

from pathlib import Path

import torch

from engine.models.checkpoint import read_checkpoint
from engine.models.generator import SkeletonUNet

ARCH_KEYS = ("base", "levels", "full_res", "max_channels")  # what must match; the cut is recalibrated


def read_init(path: str | Path, model: SkeletonUNet) -> dict[str, torch.Tensor]:
    """The generator weights in `path`, checked to fit `model` (and widened for its thickness
    plane when the file has none); ValueError otherwise."""
    weights, arch, saved, _ = read_checkpoint(path)
    if arch != "skeleton_unet":
        raise ValueError(f"{path}: a {arch} checkpoint, not a generator (--init needs a generator)")
    differ = [k for k in ARCH_KEYS if saved.get(k) != model.config.get(k)]
    if differ:
        k = differ[0]
        raise ValueError(f"{path}: generator {k} {saved.get(k)} differs from the run's {model.config.get(k)} "
                         "(give the --g-* options of that generator)")
    if saved.get("shape_input", False) and not model.shape_input:
        raise ValueError(f"{path}: a generator with the shape input (give --g-shape-input true)")
    if model.shape_input and not saved.get("shape_input", False):
        weights = with_thickness_plane(weights, model.state_dict())
    refine, saved_refine = model.config.get("refine", 0), saved.get("refine", 0)
    if saved_refine and saved_refine != refine:
        raise ValueError(f"{path}: generator refine {saved_refine} differs from the run's {refine} "
                         f"(give --g-refine {saved_refine})")
    stage, saved_stage = model.config.get("refine_stage", "full"), saved.get("refine_stage", "full")
    if saved_refine and saved_stage != stage:
        raise ValueError(f"{path}: generator refine stage {saved_stage} differs from the run's {stage} "
                         f"(give --g-refine-stage {saved_stage})")
    if refine and not saved_refine:
        weights = {**weights, **{k: v for k, v in model.state_dict().items() if k.startswith("refine.")}}
    return weights


def with_thickness_plane(weights: dict[str, torch.Tensor], target: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A G's weights without the shape input as a shape-aware G's that computes the same: each
    convolution weight whose target has one input channel more gains it, last, at zero."""
    out = dict(weights)
    for key, w in weights.items():
        t = target.get(key)
        if t is not None and w.ndim == 4 and t.shape[1] == w.shape[1] + 1:
            out[key] = torch.cat([w, w.new_zeros(w.shape[0], 1, *w.shape[2:])], dim=1)
    return out
