"""`python main.py evaluate`: score a generator G(y) against reference depth, and the baseline.

For each evaluated pose y (with the view of its crop, engine.models.pose_encoding.crop_view):
    output     G(y, view), in eval mode (hard silhouette)
    reference  --data sim: the simulator's clean render of the same pose, from the held-out
               stream (seed engine.seeds.TEST_SEED by default, kept for the final table); a dataset: its own depth,
               cropped by the crop convention around its labelled joints
    baseline   the nearest-pose training image (engine.eval.baseline) from the generator's
               training stream
Each of output and baseline is scored against the reference (engine.eval.metrics): silhouette
IoU, foreground depth MAE, the pose estimator's joint error against y (and on the reference
itself: the floor an image can reach with this estimator), and KID on the estimator's features.

Everything is streamed in batches, so memory does not grow with the count.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from torch import nn

from engine.data.crop import BACKGROUND, CROP_SIZE, crop_depth, make_transform, normalise_joints
from engine.data.crop_bank import CropBank
from engine.data.readers.base import DatasetReader
from engine.data.readers.sim import SimConfig, crop_sample
from engine.eval.baseline import retrieve
from engine.eval.estimator import estimate
from engine.eval.metrics import (
    fg_abs_error_mm,
    kid,
    nanmean,
    pose_error_mm,
    silhouette_iou,
)
from engine.hand.fit import MIN_JOINTS, complete_joints
from engine.hand.skeleton import NUM_JOINTS
from engine.models.generator import generate_crops
from engine.models.pose_encoding import VIEW_SIZE, crop_view
from engine.models.pose_net import PoseNet
from engine.seeds import TEST_SEED

# The bar for the default generator on held-out sim poses against the clean render.
BAR_SILHOUETTE_IOU = 0.90
BAR_FG_MAE_MM = 8.0
BAR_POSE_ERROR_RATIO = 1.5  # G's pose error over the estimator's error on the clean render


METRIC_KEYS = ("silhouette_iou", "fg_mae_mm", "pose_error_mm", "pose_error_reference_mm", "kid", "kid_std", "n")

# progress(stage, done, total); total is None when unknown.
ProgressFn = Callable[[str, int, "int | None"], None]


@dataclass(frozen=True, eq=False)
class EvalBatch:
    """Poses y (B, 21, 3), views (B, 5), reference crops (B, 128, 128), and the poses given to
    the generator: y with any missing joint completed by the fitted hand model
    (engine.hand.fit.complete_joints), as it draws every bone."""

    y: np.ndarray
    view: np.ndarray
    reference: np.ndarray
    y_input: np.ndarray


@dataclass
class EvalSource:
    """Batches of evaluation items and how many candidates were skipped (and why)."""

    batches: Iterator[EvalBatch]
    total: int | None
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str, count: int = 1) -> None:
        if count:
            self.skipped[reason] = self.skipped.get(reason, 0) + count


def _batched(items: Iterable[tuple[np.ndarray, ...]], batch: int) -> Iterator[EvalBatch]:
    buf: list[tuple[np.ndarray, ...]] = []
    for item in items:
        buf.append(item)
        if len(buf) == batch:
            yield EvalBatch(*(np.stack(a) for a in zip(*buf)))
            buf = []
    if buf:
        yield EvalBatch(*(np.stack(a) for a in zip(*buf)))


def sim_source(count: int, seed: int = TEST_SEED, batch: int = 64,
               config: SimConfig | None = None) -> EvalSource:
    """Samples 0..count-1 of the sim stream `seed`; the reference is the clean render."""
    cfg = config or SimConfig(seed=seed)

    def items() -> Iterator[tuple[np.ndarray, ...]]:
        for i in range(count):
            s = crop_sample(cfg, i)
            yield s.y, crop_view(s.transform), s.clean, s.y

    return EvalSource(_batched(items(), batch), total=count)


def dataset_source(reader: DatasetReader, count: int, batch: int = 64) -> EvalSource:
    """The first `count` usable samples of a dataset, cropped around their labelled joints.

    Joints the dataset lacks stay NaN in y (metrics skip them); the generator's input has them
    completed by the fitted hand model. A sample whose joints do not give a crop (none
    labelled, behind the camera) is skipped and counted.
    """
    source = EvalSource(iter(()), total=min(count, len(reader)))

    def items() -> Iterator[tuple[np.ndarray, ...]]:
        used = 0
        for sample in reader:
            if used >= count:
                return
            joints = np.where(sample.joint_mask[:, None], sample.joints, np.nan)
            try:
                transform = make_transform(joints, sample.camera)
            except ValueError:
                source.skip("no usable joints for a crop")
                continue
            used += 1
            labelled = np.isfinite(joints).all(axis=1)
            whole = complete_joints(joints, labelled) if labelled.sum() >= MIN_JOINTS else joints
            yield (normalise_joints(joints, transform), crop_view(transform),
                   crop_depth(sample.depth, transform), normalise_joints(whole, transform))

    source.batches = _batched(items(), batch)
    return source


class _Scores:
    """Per-image metrics and estimator features of one image source against the references."""

    def __init__(self) -> None:
        self.iou: list[np.ndarray] = []
        self.abs_error_mm, self.overlap_px = 0.0, 0
        self.pose: list[np.ndarray] = []
        self.features: list[np.ndarray] = []

    def add(self, estimator: PoseNet, images: np.ndarray, batch: EvalBatch) -> None:
        feats, pose = estimate(estimator, images)
        self.iou.append(silhouette_iou(images, batch.reference))
        total, n = fg_abs_error_mm(images, batch.reference)
        self.abs_error_mm += float(total.sum())
        self.overlap_px += int(n.sum())
        self.pose.append(pose_error_mm(pose, batch.y))
        self.features.append(feats)

    def summary(self, reference_features: np.ndarray, pose_error_reference_mm: float, seed: int) -> dict:
        cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0)  # noqa: E731
        feats = np.concatenate(self.features) if self.features else np.zeros((0, 1))
        if len(feats) >= 2:
            kid_mean, kid_std = kid(feats, reference_features, seed=seed)
        else:
            kid_mean, kid_std = float("nan"), float("nan")
        mae = self.abs_error_mm / self.overlap_px if self.overlap_px else float("nan")
        return {"silhouette_iou": nanmean(cat(self.iou)), "fg_mae_mm": mae,
                "pose_error_mm": nanmean(cat(self.pose)),
                "pose_error_reference_mm": pose_error_reference_mm,
                "kid": kid_mean, "kid_std": kid_std, "n": int(len(feats))}


def evaluate(generator: nn.Module, estimator: PoseNet, source: EvalSource, bank: CropBank,
             batch: int = 64, progress: ProgressFn | None = None) -> dict:
    """Metrics of the generator and of the nearest-pose baseline on `source` (see module docstring)."""
    gen, nn_base = _Scores(), _Scores()
    ref_features: list[np.ndarray] = []
    ref_pose_error: list[np.ndarray] = []
    done = non_finite = 0
    for b in source.batches:
        output = generate_crops(generator, b.y_input, b.view, batch_size=batch)
        # A non-finite output is a failure, not a gap: it is scored as an empty crop (IoU 0, the
        # estimator's guess on nothing) and counted, so it cannot improve the mean by vanishing.
        finite = np.isfinite(output).reshape(len(output), -1).all(axis=1)
        non_finite += int((~finite).sum())
        output[~finite] = BACKGROUND
        done += len(finite)
        if len(output):
            retrieved, _ = retrieve(bank, b.y)
            gen.add(estimator, output, b)
            nn_base.add(estimator, retrieved, b)
            feats, pose = estimate(estimator, b.reference)
            ref_features.append(feats)
            ref_pose_error.append(pose_error_mm(pose, b.y))
        if progress is not None:
            progress("evaluate", done, source.total)
    ref_feats = np.concatenate(ref_features) if ref_features else np.zeros((0, estimator.feature_dim))
    floor = nanmean(np.concatenate(ref_pose_error)) if ref_pose_error else float("nan")
    result = gen.summary(ref_feats, floor, seed=0)
    result["nn_baseline"] = nn_base.summary(ref_feats, floor, seed=0)
    result["skipped"] = dict(source.skipped)
    result["non_finite_outputs"] = non_finite
    return result


def bar_check(result: dict) -> dict:
    """The issue's bar for the default generator (meaningful on held-out sim poses); any
    non-finite output fails it."""
    floor = result["pose_error_reference_mm"]
    ratio = result["pose_error_mm"] / floor if floor > 0 else float("nan")
    return {"silhouette_iou_min": BAR_SILHOUETTE_IOU, "fg_mae_mm_max": BAR_FG_MAE_MM,
            "pose_error_ratio_max": BAR_POSE_ERROR_RATIO, "pose_error_ratio": ratio,
            "non_finite_outputs": result["non_finite_outputs"],
            "passed": bool(result["non_finite_outputs"] == 0
                           and result["silhouette_iou"] >= BAR_SILHOUETTE_IOU
                           and result["fg_mae_mm"] <= BAR_FG_MAE_MM
                           and ratio <= BAR_POSE_ERROR_RATIO)}


def beats_baseline(result: dict) -> dict[str, bool]:
    """Per metric: is the generator better than the nearest-pose baseline?"""
    nn_r = result["nn_baseline"]
    higher_better, lower_better = ("silhouette_iou",), ("fg_mae_mm", "pose_error_mm", "kid")
    out = {k: bool(result[k] > nn_r[k]) for k in higher_better}
    out.update({k: bool(result[k] < nn_r[k]) for k in lower_better})
    return out


_STREAM_KEYS = ("seed", "sensors", "cameras")


def training_stream(config: dict, info: dict) -> tuple[SimConfig, str]:
    """The sim stream a generator was trained on, and where that was read.

    Reads seed/sensors/cameras from the checkpoint's info["training_data"] (what engine.train.gan
    writes), else info["options"], info itself or the config; SimConfig's defaults (seed 0)
    fill what none has. A generator trained on a dataset gets a sim bank all the same (the
    origin string says so): the baseline is then retrieval from the simulator.
    """
    sections = [(f"info.{k}", info[k]) for k in ("training_data", "options") if isinstance(info.get(k), dict)]
    sections += [("info", info), ("config", config)]
    found: dict[str, object] = {}
    origins: list[str] = []
    for name, section in sections:
        for key in _STREAM_KEYS:
            if key not in found and key in section:
                found[key] = section[key]
                if name not in origins:
                    origins.append(name)
    kwargs: dict[str, object] = {}
    if isinstance(found.get("seed"), int):
        kwargs["seed"] = found["seed"]
    for key in ("sensors", "cameras"):
        value = found.get(key)
        if isinstance(value, str):
            value = [value]
        if isinstance(value, (list, tuple)) and value:
            kwargs[key] = tuple(str(v) for v in value)
    origin = "checkpoint " + ", ".join(origins) if origins else "not in checkpoint: SimConfig defaults"
    data = next((sec["data"] for _, sec in sections if isinstance(sec.get("data"), str)), "sim")
    if data != "sim":
        origin += f"; generator trained on {data}, baseline retrieves from the simulator"
    try:
        return SimConfig(**kwargs), origin
    except ValueError as e:  # an unknown sensor or camera name in an old checkpoint
        return SimConfig(seed=int(kwargs.get("seed", 0))), f"{origin} ({e}; using defaults)"


def finite_or_none(x: object) -> object:
    """JSON has no NaN: undefined metrics are written as null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: finite_or_none(v) for k, v in x.items()}
    return x


def check_generator_output(generator: nn.Module) -> None:
    """Fail early, with one line, when a model is not a G(y, view) -> (B, 1, 128, 128) generator."""
    y = np.zeros((1, NUM_JOINTS, 3), np.float32)
    try:
        out = generate_crops(generator, y, np.zeros((1, VIEW_SIZE), np.float32))
    except Exception as e:  # noqa: BLE001 - any failure here means "not a generator"
        raise ValueError(f"model is not a pose-to-depth generator ({e.__class__.__name__}: {e})") from None
    if out.shape != (1, CROP_SIZE, CROP_SIZE):
        raise ValueError(f"model output has shape {out.shape}, expected one {CROP_SIZE}x{CROP_SIZE} crop")


def describe_path(path: Path | str) -> str:
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)
