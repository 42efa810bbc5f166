"""Scoring a generator on held-out crops and calibrating its eval-mode silhouette cut.

Why a calibration: G's raw output x_hat is soft at the hand's edge; the eval-mode cut
(SkeletonUNet.cut_silhouette) hardens it, and which cut is best depends on the trained weights.
For a "mask" model (engine.models.generator: the network's own output is already hard) the
grid also holds the identity, so the cut is applied on top only where it pays on these crops.
So each checkpoint picks it from a grid on crops of their own seed (CALIBRATION_SEED_OFFSET,
engine.data.crop_cache), used neither for training nor for evaluation. Shared by the GAN and
distillation trainers; the metrics are those of `python main.py evaluate` (engine.eval.metrics).
"""
from __future__ import annotations

import numpy as np
import torch

from engine.data.crop_cache import Crops
from engine.eval.metrics import fg_mae_mm, full_abs_error_mm, nanmean, silhouette_iou
from engine.models.generator import SkeletonUNet

# Candidate silhouette cuts (SkeletonUNet.cut_silhouette): window, edge fraction, hand maximum.
CUT_GRID = tuple((k, f, h) for k in (5, 7, 9, 11) for f in (0.4, 0.5, 0.6) for h in (0.8, 0.9))
# Candidate depth snapping of the cut (window, step in crop units), after (1, 0): off.
DEPTH_GRID = tuple((w, step) for w in (3, 5) for step in (0.0, 0.04, 0.08, 0.16, 0.24))
# The cut that changes no pixel of a hard output (every hand pixel is < 1 = its own 1x1 minimum).
IDENTITY_CUT = (1, 1.0, 1.0)


def crop_metrics(generated: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Silhouette IoU, foreground and full-crop MAE (mm) of crops (N, 128, 128) against targets,
    with the definitions of `python main.py evaluate` (engine.eval.metrics), plus the
    10th-percentile IoU that shows the worst hands while training."""
    iou = silhouette_iou(generated, target)
    total, n = full_abs_error_mm(generated, target)
    return {"iou": nanmean(iou), "iou_p10": float(np.nanpercentile(iou, 10)) if np.isfinite(iou).any() else float("nan"),
            "fg_mae_mm": fg_mae_mm(generated, target),
            "full_mae_mm": float(total.sum()) / int(n.sum()) if int(n.sum()) else float("nan"), "count": len(generated)}


@torch.no_grad()
def evaluate_generator(model: torch.nn.Module, crops: Crops, device: torch.device, batch: int = 50) -> dict[str, float]:
    """crop_metrics of a generator's eval-mode output (after the cut) on held-out crops, and of
    its raw network output under "raw_" keys (a SkeletonUNet's, so what the network does is
    logged apart from what the cut does)."""
    was_training = model.training
    model.eval()
    out, raw = [], []
    for i in range(0, len(crops), batch):
        _, y, v, thickness = crops.batch(np.arange(i, min(i + batch, len(crops))), device)
        if isinstance(model, SkeletonUNet):
            soft = model.forward_parts(y, v, thickness=thickness)[0].float()
            raw.append(soft[:, 0].cpu().numpy())
            out.append(model.cut_silhouette(soft)[:, 0].cpu().numpy())
        else:
            out.append(model(y, v)[:, 0].float().cpu().numpy())
    model.train(was_training)
    target = np.asarray(crops.depth, dtype=np.float32)
    metrics = crop_metrics(np.concatenate(out), target)
    if raw:
        metrics.update({f"raw_{k}": v for k, v in crop_metrics(np.concatenate(raw), target).items() if k != "count"})
    return metrics


@torch.no_grad()
def calibrate_silhouette_cut(model: SkeletonUNet, crops: Crops, device: torch.device,
                             batch: int = 50) -> dict[str, float]:
    """Set the generator's eval-mode silhouette cut from `crops` and return it with its metrics.

    The silhouette (window, fraction, hand maximum) is the CUT_GRID entry (and IDENTITY_CUT for a
    "mask" model) with the best IoU
    (ties: lower foreground MAE); then the depth snapping of DEPTH_GRID with the lowest
    foreground MAE (it leaves the silhouette alone).
    """
    was_training = model.training
    model.eval()
    raw = []
    for i in range(0, len(crops), batch):
        _, y, v, thickness = crops.batch(np.arange(i, min(i + batch, len(crops))), device)
        raw.append(model.forward_parts(y, v, thickness=thickness)[0].float())
    raw_all, target = torch.cat(raw), np.asarray(crops.depth, dtype=np.float32)

    def score(*cut: float) -> dict[str, float]:
        model.set_silhouette_cut(*cut)
        return crop_metrics(model.cut_silhouette(raw_all)[:, 0].cpu().numpy(), target)

    best: dict[str, float] | None = None
    grid = CUT_GRID + ((IDENTITY_CUT,) if model.output == "mask" else ())
    for cut in grid:
        m = score(*cut)
        if best is None or (m["iou"], -m["fg_mae_mm"]) > (best["iou"], -best["fg_mae_mm"]):
            best = {"edge_window": cut[0], "edge_fraction": cut[1], "hand_max": cut[2],
                    "depth_window": 1, "depth_step": 0.0, **m}
    silhouette = (best["edge_window"], best["edge_fraction"], best["hand_max"])
    for w, step in DEPTH_GRID:
        m = score(*silhouette, w, step)
        if m["fg_mae_mm"] < best["fg_mae_mm"]:
            best = {**best, "depth_window": w, "depth_step": step, **m}
    model.set_silhouette_cut(*silhouette, best["depth_window"], best["depth_step"])
    model.train(was_training)
    return best

