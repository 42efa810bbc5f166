"""Style statistics of generators' outputs against a style image (issue 13, way 1's evidence).

    python -m tools.styled_generator_stats --style sr305_palm_a --style-camera realsense_sr300 \
        --count 200 --models resources/models/generator_default.safetensors RUN/generator.safetensors

For held-out simulator poses (seed 1,000,003 by default, the evaluator's), each model's crop is
taken twice, the raw network output (forward_parts, no silhouette cut) and the eval-mode output
(with its calibrated cut, what `generate` shows), and measured with engine.style.stats over the
CLEAN render's hand (so a hole a style punched counts): hole_ratio, edge_hole_ratio, hf_energy,
plus silhouette IoU against the clean render and geometry_shift_mm against the clean render and
against the FIRST model's output of the same kind. Crops become mm as the crop convention's
inverse does (z_c + d * CUBE_MM / 2, no data where d >= PASTE_BACKGROUND_MIN); z_c is a fixed
CENTRE_MM, which none of the statistics depend on. The reference is the style image's own hand
(style_reference, as `evaluate --style` defines it) and, at the generator's scale, its crops
(engine.train.style_objective.hand_crops). Prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch

from engine.data.crop import CUBE_MM, PASTE_BACKGROUND_MIN
from engine.data.readers.sim import SimConfig
from engine.eval.metrics import silhouette_iou
from engine.models.generator import load_generator
from engine.style.stats import geometry_shift_mm, reference_mask, style_reference, style_stats
from engine.data.crop_cache import sim_crops
from engine.seeds import DEVELOPMENT_SEED_OFFSET
from engine.train.gan_options import DEFAULTS
from engine.train.style_objective import load_style_target

CENTRE_MM = 500.0  # any positive centre: the statistics are differences of depth, and holes are zeros
STATS = ("hole_ratio", "edge_hole_ratio", "hf_energy")


def to_mm(crop: np.ndarray) -> np.ndarray:
    """A normalised crop as mm (0 = no data), by the crop convention's inverse."""
    return np.where(crop >= PASTE_BACKGROUND_MIN, 0.0, CENTRE_MM + crop * CUBE_MM / 2).astype(np.float32)


def mean_stats(crops: np.ndarray, masks: np.ndarray) -> dict[str, float]:
    rows = [style_stats(to_mm(c), m).to_dict() for c, m in zip(crops, masks)]
    return {k: float(np.mean([r[k] for r in rows])) for k in STATS}


def mean_shift(crops: np.ndarray, against: np.ndarray, masks: np.ndarray) -> float:
    return float(np.mean([geometry_shift_mm(to_mm(c), to_mm(a), m) for c, a, m in zip(crops, against, masks)]))


@torch.no_grad()
def outputs(path: str, crops, batch: int = 50) -> dict[str, np.ndarray]:
    """{"raw": x_hat before the cut, "cut": eval-mode output} of one generator, (N, 128, 128)."""
    model, _ = load_generator(path)
    model.eval()
    raw, cut = [], []
    for i in range(0, len(crops), batch):
        _, y, v = crops.batch(np.arange(i, min(i + batch, len(crops))), torch.device("cpu"))
        raw.append(model.forward_parts(y, v)[0][:, 0].numpy())
        cut.append(model(y, v)[:, 0].numpy())
    return {"raw": np.concatenate(raw), "cut": np.concatenate(cut)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.styled_generator_stats", description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", required=True, help="generator files; the first is the unstyled baseline")
    p.add_argument("--style", required=True)
    p.add_argument("--style-camera", default="kinect_v1")
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--seed", type=int, default=DEVELOPMENT_SEED_OFFSET, help="simulator stream (default: the development split of training seed 0)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    target = load_style_target({**DEFAULTS, "style": args.style, "style_camera": args.style_camera})
    clean = sim_crops(SimConfig(seed=args.seed), 0, args.count, clean=True)
    x = np.asarray(clean.depth, np.float32)
    masks = x < PASTE_BACKGROUND_MIN
    crop_masks = [reference_mask(to_mm(c)) for c in target.crops]
    report: dict = {
        "style": target.describe(), "count": args.count, "seed": args.seed,
        "style_reference": style_reference(target.image.depth).to_dict(),
        "style_reference_crops": {k: float(np.mean([style_stats(to_mm(c), m).to_dict()[k]
                                                    for c, m in zip(target.crops, crop_masks)])) for k in STATS},
        "clean_render": mean_stats(x, masks), "models": {}}
    first: dict[str, np.ndarray] | None = None
    for path in args.models:
        out = outputs(path, clean)
        first = first or out
        report["models"][path] = {kind: {
            **mean_stats(out[kind], masks), "iou_vs_clean": float(np.nanmean(silhouette_iou(out[kind], x))),
            "geometry_shift_mm_vs_clean": mean_shift(out[kind], x, masks),
            "geometry_shift_mm_vs_first": mean_shift(out[kind], first[kind], masks)} for kind in ("raw", "cut")}
    json.dump(report, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
