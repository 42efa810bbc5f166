"""`python main.py evaluate`: score a generator G(y) against reference depth, and the baselines.

For each evaluated pose y (with the view of its crop, engine.models.pose_encoding.crop_view):
    raw        G's network output x_hat, as trained (SkeletonUNet.forward_parts)
    cut        the same after the eval-mode silhouette cut (what `generate` and the app show by
               default); reported apart so the cut's share is never credited to the network
    reference  --data sim: the simulator's clean render of the same pose, from the test stream
               (engine.seeds.TEST_SEED by default); a dataset: its own depth, cropped by the crop
               convention around its labelled joints
    nn_baseline  the training-stream crop (engine.eval.baseline) whose joints land nearest in
               the crop: pose and view matched at once
    simulator  (sim only) the reference scored against itself: the upper line, perfect by
               construction on sim, reported so no number is read without it
    simulator_mean_hand  (sim only) the simulator's render of the same joints at the mean hand
               thickness: the line a G that is not told the thickness cannot pass on average
               (SkeletonUNet.condition), since the thickness moves every outline and no joint
Each is scored against the reference (engine.eval.metrics): silhouette IoU, boundary F-score,
foreground and full-crop depth MAE, per-finger IoU of part labels (sim: the render's labels
against G's pixels labelled by the nearest bone, engine.sample_labels), the pose estimator's
joint error against y (and on the reference itself: the floor an image can reach with this
estimator), and KID on the estimator's features. On sim, G's outputs and the simulator's own crop
are also pasted into the camera's full frame as `generate` and the app show them and scored there
against the simulator's full render (`full_frame`, engine.eval.full_frame; the simulator's row is
the paste's own loss).

Everything is streamed in batches, so memory does not grow with the count.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from torch import nn

from engine.data.crop import BACKGROUND, CROP_SIZE
from engine.data.crop_bank import CropBank
from engine.data.dataset_crop import crop_dataset_sample
from engine.data.readers.base import DatasetReader
from engine.data.readers.sim import SimConfig, crop_sample
from engine.eval.baseline import retrieve
from engine.eval.estimator import estimate
from engine.eval.full_frame import FrameRef, score_frames
from engine.eval.full_frame import summarise as summarise_frames
from engine.eval.metrics import (
    HALF_CUBE_MM,
    boundary_f_score,
    fg_abs_error_mm,
    full_abs_error_mm,
    hand_mask,
    kid,
    nanmean,
    part_iou,
    pose_error_mm,
    silhouette_iou,
)
from engine.hand.sampler import MEAN_THICKNESS
from engine.hand.skeleton import FINGERS, NUM_JOINTS, PART_INDEX
from engine.models.generator import SkeletonUNet, generate_crops, generate_raw_and_cut
from engine.models.inference import InferenceGenerator
from engine.models.pose_encoding import VIEW_SIZE, crop_view, unproject_crop
from engine.models.pose_net import PoseNet
from engine.sample_labels import nearest_part
from engine.seeds import TEST_SEED

# The bar for the default generator on held-out sim poses against the clean render.
BAR_SILHOUETTE_IOU = 0.90
BAR_FG_MAE_MM = 8.0
BAR_POSE_ERROR_RATIO = 1.5  # G's pose error over the estimator's error on the clean render


METRIC_KEYS = ("silhouette_iou", "boundary_f", "fg_mae_mm", "full_mae_mm", "finger_iou", "finger_iou_mean",
               "pose_error_mm", "pose_error_reference_mm", "kid", "kid_std", "n")
FINGER_PARTS = tuple(PART_INDEX[f] for f in FINGERS)

# progress(stage, done, total); total is None when unknown.
ProgressFn = Callable[[str, int, "int | None"], None]


@dataclass(frozen=True, eq=False)
class EvalBatch:
    """Poses y (B, 21, 3), views (B, 5), reference crops (B, 128, 128), the poses given to the
    generator (y with any missing joint completed by the fitted hand model as training completes
    it, engine.data.dataset_crop, since G draws every bone), the reference's part labels
    (B, 128, 128) uint8 (all 0 where the source has none) and its hands' thicknesses (B,) (the
    mean where the source has no shape), which a shape-aware G is told; `frames` (sim only) for
    the full-frame metrics (engine.eval.full_frame)."""

    y: np.ndarray
    view: np.ndarray
    reference: np.ndarray
    y_input: np.ndarray
    labels: np.ndarray
    thickness: np.ndarray
    frames: list[FrameRef] | None = None  # (sim) what renders each pose's full frame


@dataclass
class EvalSource:
    """Batches of evaluation items and how many candidates were skipped (and why)."""

    batches: Iterator[EvalBatch]
    total: int | None
    labelled: bool = False  # the references come with part labels (per-finger IoU)
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str, count: int = 1) -> None:
        if count:
            self.skipped[reason] = self.skipped.get(reason, 0) + count


def _batched(items: Iterable[tuple], batch: int) -> Iterator[EvalBatch]:
    """Items (y, view, reference, y_input, labels, thickness, FrameRef or None) stacked into batches."""
    buf: list[tuple] = []

    def stacked() -> EvalBatch:
        *arrays, frames = zip(*buf)
        return EvalBatch(*(np.stack(a) for a in arrays), frames=None if frames[0] is None else list(frames))

    for item in items:
        buf.append(item)
        if len(buf) == batch:
            yield stacked()
            buf = []
    if buf:
        yield stacked()


def sim_source(count: int, seed: int = TEST_SEED, batch: int = 64,
               config: SimConfig | None = None) -> EvalSource:
    """Samples 0..count-1 of the sim stream `seed`; the reference is the clean render."""
    cfg = config or SimConfig(seed=seed)

    def items() -> Iterator[tuple[np.ndarray, ...]]:
        for i in range(count):
            s = crop_sample(cfg, i)
            frame = FrameRef(s.hand.joints(), s.hand.shape.thickness, s.transform)
            yield s.y, crop_view(s.transform), s.clean, s.y, s.labels, np.float32(s.hand.shape.thickness), frame

    return EvalSource(_batched(items(), batch), total=count, labelled=True)


def dataset_source(reader: DatasetReader, count: int, batch: int = 64) -> EvalSource:
    """The first `count` usable samples of a dataset, cropped around their labelled joints.

    Joints the dataset lacks stay NaN in y (metrics skip them); the generator's input has them
    completed by the fitted hand model, exactly as for training (engine.data.dataset_crop). A
    sample whose joints do not give a crop (none labelled, behind the camera) is skipped and counted.
    """
    source = EvalSource(iter(()), total=min(count, len(reader)))
    unlabelled = np.zeros((CROP_SIZE, CROP_SIZE), np.uint8)

    def items() -> Iterator[tuple[np.ndarray, ...]]:
        used = 0
        for sample in reader:
            if used >= count:
                return
            try:
                c = crop_dataset_sample(sample)
            except ValueError:
                source.skip("no usable joints for a crop")
                continue
            used += 1
            yield c.y, crop_view(c.transform), c.depth, c.y_input, unlabelled, np.float32(MEAN_THICKNESS), None

    source.batches = _batched(items(), batch)
    return source


def crop_part_labels(crops: np.ndarray, y: np.ndarray, view: np.ndarray) -> np.ndarray:
    """(N, 128, 128) uint8 part labels of generated crops: each hand pixel, back-projected with
    its crop's view, gets the part of the pose's nearest capsule (engine.sample_labels), as a
    generated sample's labels are made. Poses with missing joints get no labels (all 0)."""
    out = np.zeros(np.shape(crops), np.uint8)
    for i, (crop, pose, v) in enumerate(zip(crops, y, view)):
        rows, cols = np.nonzero(hand_mask(crop)[0])
        if len(rows) and np.isfinite(pose).all():
            points = unproject_crop(cols, rows, crop[rows, cols], v) * HALF_CUBE_MM
            out[i, rows, cols] = nearest_part(points, np.asarray(pose, np.float64) * HALF_CUBE_MM)
    return out


BOOTSTRAP_DRAWS = 2000


def pooled_ratio(sums: np.ndarray) -> float:
    """sum(error) / sum(pixels) over images, from per-image rows (error sum, pixels)."""
    px = float(sums[:, 1].sum()) if len(sums) else 0.0
    return float(sums[:, 0].sum()) / px if px else float("nan")


def _statistic(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """A metric on each bootstrap draw (rows of idx): pooled ratio for (error, pixels) rows, the
    mean over images and fingers of per-finger IoU (N, 5), else the mean (NaN-skipping)."""
    drawn = values[idx]
    with np.errstate(invalid="ignore", divide="ignore"):
        if values.ndim == 2 and values.shape[1] == 2:
            return drawn[..., 0].sum(1) / drawn[..., 1].sum(1)
        if values.ndim == 2:  # per-finger IoU: mean of each finger's mean, as the point estimate
            return np.nanmean(np.nanmean(drawn, axis=1), axis=1)
        return np.nanmean(drawn, axis=1)


def bootstrap_ci95(per_image: dict[str, np.ndarray], seed: int = 0,
                   draws: int = BOOTSTRAP_DRAWS) -> dict[str, list[float] | None]:
    """95 % percentile-bootstrap intervals (images resampled with replacement, the same draws for
    every metric) of each metric from its per-image values; None where undefined."""
    n = max((len(v) for v in per_image.values()), default=0)
    if n < 2:
        return {k: None for k in per_image}
    idx = np.random.default_rng([seed, 0xB007]).integers(0, n, size=(draws, n))
    out: dict[str, list[float] | None] = {}
    for name, values in per_image.items():
        stat = _statistic(values, idx) if len(values) == n else np.full(draws, np.nan)
        stat = stat[np.isfinite(stat)]
        out[name] = [float(np.percentile(stat, 2.5)), float(np.percentile(stat, 97.5))] if len(stat) else None
    return out


class _Scores:
    """Per-image metrics and estimator features of one image source against the references."""

    def __init__(self) -> None:
        self.iou: list[np.ndarray] = []
        self.boundary_f: list[np.ndarray] = []
        self.fg: list[np.ndarray] = []  # (B, 2) per image: foreground |error| sum (mm), pixels
        self.full: list[np.ndarray] = []  # the same over the full crop
        self.fingers: list[np.ndarray] = []
        self.pose: list[np.ndarray] = []
        self.features: list[np.ndarray] = []
        self.frames: list[np.ndarray] = []  # (B, 3) full-frame scores per batch (sim only)

    def add(self, images: np.ndarray, batch: EvalBatch, estimated: tuple[np.ndarray, np.ndarray],
            labels: np.ndarray | None) -> None:
        """Score `images` against the batch's references; `estimated` = (features, pose) of the
        images by the estimator; `labels`: their part labels, None where the source has none."""
        feats, pose = estimated
        self.iou.append(silhouette_iou(images, batch.reference))
        self.boundary_f.append(boundary_f_score(images, batch.reference))
        self.fg.append(np.stack(fg_abs_error_mm(images, batch.reference), axis=1).astype(np.float64))
        self.full.append(np.stack(full_abs_error_mm(images, batch.reference), axis=1).astype(np.float64))
        if labels is not None:
            reference_labels = np.where(hand_mask(batch.reference), batch.labels, 0)
            self.fingers.append(part_iou(labels, reference_labels, FINGER_PARTS))
        self.pose.append(pose_error_mm(pose, batch.y))
        self.features.append(feats)

    def per_image(self) -> dict[str, np.ndarray]:
        """Each bootstrapped metric's per-image rows (what its intervals and a paired comparison,
        engine.eval.paired, resample)."""
        cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0)  # noqa: E731
        fg, full = (np.concatenate(a) if a else np.zeros((0, 2)) for a in (self.fg, self.full))
        fingers = np.concatenate(self.fingers) if self.fingers else np.full((0, len(FINGERS)), np.nan)
        return {"silhouette_iou": cat(self.iou), "boundary_f": cat(self.boundary_f), "fg_mae_mm": fg,
                "full_mae_mm": full, "finger_iou_mean": fingers, "pose_error_mm": cat(self.pose)}

    def summary(self, reference_features: np.ndarray | None, pose_error_reference_mm: float, seed: int) -> dict:
        """The pooled metrics; KID against `reference_features` (None: not defined, left out)."""
        feats = np.concatenate(self.features) if self.features else np.zeros((0, 1))
        if reference_features is not None and len(feats) >= 2:
            kid_mean, kid_std = kid(feats, reference_features, seed=seed)
        else:
            kid_mean, kid_std = float("nan"), float("nan")
        rows = self.per_image()
        fingers = rows["finger_iou_mean"]
        per_finger = {f: nanmean(fingers[:, k]) for k, f in enumerate(FINGERS)}
        return {"silhouette_iou": nanmean(rows["silhouette_iou"]), "boundary_f": nanmean(rows["boundary_f"]),
                "fg_mae_mm": pooled_ratio(rows["fg_mae_mm"]), "full_mae_mm": pooled_ratio(rows["full_mae_mm"]),
                "finger_iou": per_finger, "finger_iou_mean": nanmean(np.array(list(per_finger.values()))),
                "ci95": bootstrap_ci95(rows, seed=seed),
                "pose_error_mm": nanmean(rows["pose_error_mm"]),
                "pose_error_reference_mm": pose_error_reference_mm,
                "kid": kid_mean, "kid_std": kid_std, "n": int(len(feats)),
                **({"full_frame": summarise_frames(np.concatenate(self.frames))} if self.frames else {})}


def evaluate(generator: nn.Module | InferenceGenerator, estimator: PoseNet, source: EvalSource, bank: CropBank,
             batch: int = 64, progress: ProgressFn | None = None, per_image: bool = False) -> dict:
    """Metrics of G's raw output, of its output after the cut (a model without a cut has none),
    of the view-aware nearest-pose baseline and (sim) of the simulator itself; see the module
    docstring. Non-finite outputs are counted once for both outputs (`non_finite_outputs`).
    per_image: also G's per-image rows under "per_image" ({"raw": ..., "cut": ...}; arrays, not
    JSON) for a paired comparison (engine.eval.paired)."""
    scores = {"raw": _Scores(), "cut": _Scores(), "nn_baseline": _Scores(), "simulator": _Scores(),
              "simulator_mean_hand": _Scores()}
    ref_features: list[np.ndarray] = []
    ref_pose_error: list[np.ndarray] = []
    done = non_finite = 0
    has_cut = True
    for b in source.batches:
        raw, cut = generate_raw_and_cut(generator, b.y_input, b.view, batch_size=batch, thickness=b.thickness)
        has_cut = cut is not None
        # A non-finite output is a failure, not a gap: it is scored as an empty crop (IoU 0, the
        # estimator's guess on nothing) and counted, so it cannot improve the mean by vanishing.
        # The cut would hide it (NaN compares false: background), so it is judged on the raw output.
        finite = np.isfinite(raw).reshape(len(raw), -1).all(axis=1)
        non_finite += int((~finite).sum())
        outputs = {"raw": raw, "cut": cut}
        for images in outputs.values():
            if images is not None:
                images[~finite] = BACKGROUND
        done += len(finite)
        if len(raw):
            outputs["nn_baseline"], _ = retrieve(bank, b.y, b.view)
            estimated_ref = estimate(estimator, b.reference)
            outputs["simulator"] = b.reference if source.labelled else None
            outputs["simulator_mean_hand"] = (np.stack([f.render_crop(MEAN_THICKNESS) for f in b.frames])
                                              if b.frames is not None else None)
            full = [f.render() for f in b.frames] if b.frames is not None else None
            for name, images in outputs.items():
                if images is None:
                    continue
                if full is not None and name not in ("nn_baseline", "simulator_mean_hand"):  # another pose's, another hand's
                    scores[name].frames.append(score_frames(images, b.frames, full))
                if name == "simulator":
                    scores[name].add(images, b, estimated_ref, b.labels)
                    continue
                labels = crop_part_labels(images, b.y_input, b.view) if source.labelled else None
                scores[name].add(images, b, estimate(estimator, images), labels)
            ref_features.append(estimated_ref[0])
            ref_pose_error.append(pose_error_mm(estimated_ref[1], b.y))
        if progress is not None:
            progress("evaluate", done, source.total)
    ref_feats = np.concatenate(ref_features) if ref_features else np.zeros((0, estimator.feature_dim))
    floor = nanmean(np.concatenate(ref_pose_error)) if ref_pose_error else float("nan")
    result = {name: scores[name].summary(ref_feats, floor, seed=0) for name in ("raw", "cut", "nn_baseline")}
    if not has_cut:
        del result["cut"]
    if per_image:
        result["per_image"] = {name: scores[name].per_image() for name in ("raw", "cut") if name in result}
    if source.labelled:
        # KID of the references against themselves says nothing: left out.
        result["simulator"] = scores["simulator"].summary(None, floor, seed=0)
    if scores["simulator_mean_hand"].iou:
        result["simulator_mean_hand"] = scores["simulator_mean_hand"].summary(ref_feats, floor, seed=0)
    result["skipped"] = dict(source.skipped)
    result["non_finite_outputs"] = non_finite
    return result


def outputs(result: dict) -> tuple[str, ...]:
    """The generator outputs a result scores: ("raw", "cut"), or ("raw",) for a model without a cut."""
    return tuple(k for k in ("raw", "cut") if k in result)


def bar_check(scored: dict, non_finite_outputs: int) -> dict:
    """The issue's bar for the default generator (meaningful on held-out sim poses) for one of
    the generator's outputs; any non-finite output fails it."""
    floor = scored["pose_error_reference_mm"]
    ratio = scored["pose_error_mm"] / floor if floor > 0 else float("nan")
    return {"silhouette_iou_min": BAR_SILHOUETTE_IOU, "fg_mae_mm_max": BAR_FG_MAE_MM,
            "pose_error_ratio_max": BAR_POSE_ERROR_RATIO, "pose_error_ratio": ratio,
            "non_finite_outputs": non_finite_outputs,
            "passed": bool(non_finite_outputs == 0
                           and scored["silhouette_iou"] >= BAR_SILHOUETTE_IOU
                           and scored["fg_mae_mm"] <= BAR_FG_MAE_MM
                           and ratio <= BAR_POSE_ERROR_RATIO)}


def beats_baseline(scored: dict, baseline: dict) -> dict[str, bool]:
    """Per metric: is this output better than the baseline? KID only when the difference is
    larger than either's kid_std: an unbiased KID can be negative, and a difference within its
    spread is no win (an undefined std is no win either)."""
    higher_better = ("silhouette_iou", "boundary_f", "finger_iou_mean")
    lower_better = ("fg_mae_mm", "full_mae_mm", "pose_error_mm")
    out = {k: bool(scored[k] > baseline[k]) for k in higher_better}
    out.update({k: bool(scored[k] < baseline[k]) for k in lower_better})
    spread = max(scored["kid_std"], baseline["kid_std"])
    out["kid"] = bool(math.isfinite(spread) and baseline["kid"] - scored["kid"] > spread)
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


def inference_backend(generator: nn.Module, backend: str) -> tuple[nn.Module | InferenceGenerator, dict]:
    """A SkeletonUNet built once as an InferenceGenerator on `backend` (int8 is calibrated at
    build, never per batch), and what ran: {"backend": ..., "backend_fallback": why, if not
    the one asked for}. Another generator runs as itself on torch."""
    if not isinstance(generator, SkeletonUNet):
        fallback = None if backend != "int8" else f"{type(generator).__name__} runs on torch only"
        return generator, {"backend": "torch", **({"backend_fallback": fallback} if fallback else {})}
    fast = InferenceGenerator(generator.eval(), backend=backend)
    return fast, {"backend": fast.backend, **({"backend_fallback": fast.fallback} if fast.fallback else {})}


def describe_path(path: Path | str) -> str:
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)
