"""The pose estimator as a measuring instrument: batched poses and KID features of crops."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from engine.data.crop import CROP_SIZE
from engine.data.readers.sim import SimConfig, crop_sample
from engine.seeds import TEST_SEED
from engine.eval.metrics import nanmean, pose_error_mm
from engine.hand.skeleton import NUM_JOINTS
from engine.models.checkpoint import load_model
from engine.models import DEFAULT_ESTIMATOR_PATH
from engine.models.pose_net import PoseNet

ProgressFn = Callable[[int, int], None]


def load_estimator(path: str | Path = DEFAULT_ESTIMATOR_PATH) -> PoseNet:
    """A trained pose estimator from its checkpoint, in eval mode on the CPU."""
    model, _, _ = load_model(path)
    if not isinstance(model, PoseNet):
        raise ValueError(f"{path}: not a pose estimator (architecture {model.architecture})")
    return model


@torch.no_grad()
def estimate(model: PoseNet, crops: np.ndarray, batch: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """(features (N, d) float64, poses y (N, 21, 3) float32) of crops (N, 128, 128) or (N, 1, 128, 128)."""
    x = np.asarray(crops, dtype=np.float32)
    if x.ndim == 3:
        x = x[:, None]
    device = next(model.parameters()).device
    feats, poses = [], []
    for lo in range(0, len(x), batch):
        f, p = model.features_and_pose(torch.from_numpy(np.ascontiguousarray(x[lo:lo + batch])).to(device))
        feats.append(f.double().cpu().numpy())
        poses.append(p.float().cpu().numpy())
    if not feats:
        return np.zeros((0, model.feature_dim)), np.zeros((0, model.num_joints, 3), np.float32)
    return np.concatenate(feats), np.concatenate(poses)


def held_out_pose_error(model: PoseNet, count: int, sensors: tuple[str, ...],
                        seed: int = TEST_SEED, progress: ProgressFn | None = None) -> dict[str, float]:
    """Mean joint error (mm) on `count` held-out sim crops per sensor ("none" is reported as "clean").

    Every sensor sees the same poses: sample i's pose does not depend on the sensor list.
    """
    out: dict[str, float] = {}
    total, done = count * len(sensors), 0
    for sensor in sensors:
        config = SimConfig(seed=seed, sensors=(sensor,))
        crops = np.empty((count, CROP_SIZE, CROP_SIZE), np.float32)
        ys = np.empty((count, NUM_JOINTS, 3), np.float32)
        for i in range(count):
            s = crop_sample(config, i)
            crops[i], ys[i] = s.depth, s.y
            done += 1
            if progress is not None and done % 50 == 0:
                progress(done, total)
        _, pred = estimate(model, crops)
        out["clean" if sensor == "none" else sensor] = round(nanmean(pose_error_mm(pred, ys)), 2)
    return out
