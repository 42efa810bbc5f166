"""Quantization-aware distillation: fine-tune a trained G so that the CPU runtime's int8 keeps
what its float32 computes.

Why: the runtime runs G's body in int8 (engine.models.int8), quantized after training at load.
Its rounding costs what is thinnest: a candidate G that beat the shipped one in float32 lost
0.0043 per-finger IoU in int8 (development seed, generator_default.md), and so could not ship.
Trained against that rounding, the weights learn to keep the silhouette's sign and the depth
where the rounding would move them.

Objective: the student starts as the teacher (the same G) and is trained as the runtime runs
it: BatchNorm folded (eval mode), through `int8.simulate_body`, the runtime's own rounding in
float32 with straight-through gradients. Per batch of poses, on the head output,
    KL(sigmoid(m_t) || sigmoid(m_s))  +  depth_weight * mean_{teacher's hand} (tanh d_s - tanh d_t)^2
where m is the silhouette logit, d the depth before tanh, t the frozen float32 teacher and s the
simulated-int8 student: the teacher's output is the target, not the render, so the student
learns to round like the teacher and nothing else. The KL weighs a pixel by how far the two
silhouette probabilities are apart, so it acts where int8 would flip the silhouette's sign: the
fingers' edges.

The runtime's activation scales are calibrated from the weights at load; here they are
recalibrated the same way (`quantize_body` on its calibration poses) every `recalibrate_every`
steps and saved with the state, so a resumed run is the run it continues.

Data: poses only (G sees a pose and its camera, no render): step k trains on samples
k*batch .. of the teacher's training stream (`seed`), drawn as inference draws them, so a run
needs no cache and never repeats a pose. Compared: int8 against the teacher's float32 on
`eval_count` poses of the development stream, before training and at each checkpoint.

Files: RUN_DIR/options.json, train_state.pt (the resume point, written atomically), log.csv +
log.jsonl, generator.safetensors: the student un-folded into the teacher's architecture with the
teacher's BatchNorm statistics (`unfold_into`), so it is an ordinary G that folds back to the
trained weights, keeps the teacher's silhouette cut, and `train gan --init` can continue.
"""
from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.models.checkpoint import save_checkpoint
from engine.models.fast_encoding import encode_pose_numpy
from engine.models.generator import ENCODING_SIZE, SkeletonUNet, load_generator
from engine.models.inference import InferenceGenerator, fold_generator
from engine.models.int8 import int8_unavailable, quantize_body, runtime_qparams, simulate_body, stream_poses
from engine.progress import Progress, note, silent
from engine.seeds import DEVELOPMENT_SEED_OFFSET, check_not_test_seed
from engine.train import common
from engine.train.quant_aware_options import DEFAULTS, MUTABLE

STATE_FILE, G_FILE = "train_state.pt", "generator.safetensors"
LOG_COLUMNS = ("step", "time_s", "lr", "loss", "loss_silhouette", "loss_depth", "poses_per_s")
HALF_CUBE_MM = 125.0  # one crop unit
HAND_BELOW = 0.98  # a crop pixel is hand below this (background is 1), as the int8 tests count it


# ------------------------------------------------------------------------ folded <-> checkpoint

def _folded_pairs(model: SkeletonUNet, folded: SkeletonUNet):
    """(conv, BatchNorm, folded conv) for every conv-BN pair of `model` and its folded copy."""
    blocks = [*zip(model.down, folded.down), *zip(model.up, folded.up), (model.full, folded.full)]
    for block, folded_block in blocks:  # generator._block: conv BN ReLU conv BN ReLU -> conv ReLU conv ReLU
        yield block[0], block[1], folded_block[0]
        yield block[3], block[4], folded_block[2]


def unfold_into(teacher: SkeletonUNet, folded: SkeletonUNet) -> SkeletonUNet:
    """A copy of `teacher` whose eval-mode network is `folded`'s: each convolution takes the
    folded weight divided by its BatchNorm's scale s = gamma / sqrt(var + eps), and each
    BatchNorm's shift becomes b + mean * s, its statistics kept. Folding it again
    (inference.fold_generator) gives `folded` back to float32 rounding."""
    out = copy.deepcopy(teacher).eval()
    with torch.no_grad():
        for conv, bn, trained in _folded_pairs(out, folded):
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            conv.weight.copy_(trained.weight / scale[:, None, None, None])
            bn.bias.copy_(trained.bias + bn.running_mean * scale)
        out.head.load_state_dict(folded.head.state_dict())
        if out.refine is not None:
            out.refine.load_state_dict(folded.refine.state_dict())
    return out


# ----------------------------------------------------------------------------------- objective

def quant_aware_loss(student_out: torch.Tensor, teacher_out: torch.Tensor,
                     depth_weight: float) -> tuple[torch.Tensor, dict[str, float]]:
    """The objective on head outputs (B, 2, 128, 128) (see the module docstring)."""
    target = torch.sigmoid(teacher_out[:, :1])
    silhouette = (F.binary_cross_entropy_with_logits(student_out[:, :1], target)
                  - F.binary_cross_entropy_with_logits(teacher_out[:, :1], target))  # KL: 0 when equal
    hand = (teacher_out[:, :1] > 0).float()
    depth_error = (torch.tanh(student_out[:, 1:]) - torch.tanh(teacher_out[:, 1:])) ** 2
    depth = (depth_error * hand).sum() / hand.sum().clamp(min=1.0)
    loss = silhouette + depth_weight * depth
    return loss, {"loss": loss.item(), "loss_silhouette": silhouette.item(), "loss_depth": depth.item()}


def train_step(student: SkeletonUNet, teacher: SkeletonUNet, qparams: dict, optimiser: torch.optim.Optimizer,
               encoding: torch.Tensor, depth_weight: float) -> dict[str, float]:
    """One update of the folded student on a batch of encodings; returns the losses."""
    with torch.no_grad():
        target = teacher.body(encoding)
    loss, parts = quant_aware_loss(simulate_body(student, qparams, encoding), target, depth_weight)
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()
    return parts


def int8_agreement(model: SkeletonUNet, reference: tuple[np.ndarray, np.ndarray],
                   y: np.ndarray, view: np.ndarray, thickness: np.ndarray | None = None) -> dict[str, float]:
    """How far `model` in int8 lies from `reference` (the teacher's float32 raw and cut crops on
    poses y, view, thickness): the silhouette's disagreement (fraction of pixels hand in one cut
    only), the mean depth difference where both cuts have hand, and the raw output's over the crop."""
    raw, cut = InferenceGenerator(model, backend="int8").raw_and_cut(y, view, thickness)
    raw_ref, cut_ref = reference
    hand, hand_ref = cut < HAND_BELOW, cut_ref < HAND_BELOW
    both = hand & hand_ref
    return {"silhouette_disagreement": float((hand != hand_ref).mean()),
            "depth_mm": float(np.abs(cut - cut_ref)[both].mean() * HALF_CUBE_MM) if both.any() else 0.0,
            "raw_mm": float(np.abs(raw - raw_ref).mean() * HALF_CUBE_MM)}


# ------------------------------------------------------------------------------------ the run

def train_quant_aware(run_dir: Path, given: dict, progress: Progress = silent,
                      stop_after: float | None = None) -> dict:
    """Train (or resume) in run_dir; returns {step, wall_s, before, agreement}."""
    run_dir = Path(run_dir)
    options, resuming = common.start_run(run_dir, given, DEFAULTS, MUTABLE, _check_options)
    teacher_model, teacher_info = load_generator(options["teacher"])
    teacher = fold_generator(teacher_model)
    student = fold_generator(teacher_model).requires_grad_(True)
    optimiser = torch.optim.Adam(student.parameters(), lr=options["lr"])
    dev_poses = stream_poses(options["seed"] + DEVELOPMENT_SEED_OFFSET, 0, options["eval_count"])
    reference = InferenceGenerator(teacher_model).raw_and_cut(*dev_poses)
    step, elapsed, qparams, before = 0, 0.0, None, None
    state_path = run_dir / STATE_FILE
    if resuming and state_path.exists():
        state = common.load_state(state_path)
        student.load_state_dict(state["student"])
        optimiser.load_state_dict(state["optimiser"])
        step, elapsed, before = int(state["step"]), float(state["elapsed_s"]), state["before"]
        qparams = {k: (float(s), int(z)) for k, (s, z) in state["qparams"].items()}
    if before is None:
        before = int8_agreement(teacher_model, reference, *dev_poses)
    run_log = common.RunLog(run_dir, LOG_COLUMNS, resume_step=step if resuming else None)
    total, batch = int(options["steps"]), int(options["batch_size"])
    progress("qat", step, total, {})
    started, window_t, window_n = time.monotonic() - elapsed, time.monotonic(), 0
    agreement: dict = {}
    while step < total:
        if qparams is None or step % options["recalibrate_every"] == 0:
            qparams = runtime_qparams(quantize_body(student))
        y, view, thickness = stream_poses(options["seed"], step * batch, batch)
        encoding = student.condition(torch.from_numpy(encode_pose_numpy(y, view, size=ENCODING_SIZE)),
                                     torch.from_numpy(thickness))
        common.set_lr(optimiser, common.cosine_lr(options["lr"], step, total))
        losses = train_step(student, teacher, qparams, optimiser, encoding, options["depth_weight"])
        step += 1
        window_n += batch
        shown: dict[str, float] = {}
        if step % options["log_every"] == 0 or step == total:
            now = time.monotonic()
            shown = {**losses, "poses_per_s": round(window_n / max(now - window_t, 1e-9), 1)}
            run_log.row({"step": step, "time_s": round(now - started, 1), "lr": optimiser.param_groups[0]["lr"], **shown})
            window_t, window_n = now, 0
        progress("qat", step, total, shown)
        out_of_time = stop_after is not None and time.monotonic() - started - elapsed >= stop_after
        if step % options["checkpoint_every"] == 0 or step == total or out_of_time:
            model = unfold_into(teacher_model, student)
            agreement = int8_agreement(model, reference, *dev_poses)
            _checkpoint(run_dir, options, teacher_info, model, step, time.monotonic() - started, before, agreement)
            common.save_state(state_path, {"step": step, "elapsed_s": float(time.monotonic() - started),
                                           "student": student.state_dict(), "optimiser": optimiser.state_dict(),
                                           "qparams": {k: [s, z] for k, (s, z) in qparams.items()}, "before": before})
            run_log.record({"step": step, "agreement": agreement, "before": before})
            note(progress, f"step {step}", {"int8 silhouette disagreement %": round(100 * agreement["silhouette_disagreement"], 4),
                                            "before %": round(100 * before["silhouette_disagreement"], 4)})
        if out_of_time:
            break
    return {"step": step, "wall_s": time.monotonic() - started, "before": before, "agreement": agreement}


def _check_options(o: dict) -> None:
    reason = int8_unavailable()
    if reason is not None:  # nothing here would run int8: say so before any work
        raise ValueError(f"train qat trains for the int8 runtime, which cannot run here: {reason}")
    check_not_test_seed(int(o["seed"]), "quantization-aware training")
    for key in ("steps", "batch_size", "recalibrate_every", "eval_count", "checkpoint_every", "log_every"):
        if int(o[key]) < 1:
            raise ValueError(f"--{key.replace('_', '-')} must be at least 1, got {o[key]}")
    if not o["lr"] > 0 or not o["depth_weight"] >= 0:
        raise ValueError("--lr must be positive and --depth-weight not negative")


def _checkpoint(run_dir: Path, options: dict, teacher_info: dict, model: nn.Module, step: int, elapsed: float,
                before: dict, agreement: dict) -> None:
    """generator.safetensors: the teacher's record, its scores kept as the teacher's, and this run's."""
    info = {k: v for k, v in teacher_info.items() if k not in ("eval", "wall_s", "quant_aware")}
    if "eval" in teacher_info:  # a teacher trained for int8 already carries its own teacher's scores
        info["teacher_eval"] = teacher_info["eval"]
    info["quant_aware"] = {
        **({"teacher_quant_aware": teacher_info["quant_aware"]} if "quant_aware" in teacher_info else {}),
        "objective": "KL of the silhouette + depth_weight * mean squared tanh-depth difference on the teacher's hand, "
                     "simulated int8 student vs float32 teacher (engine.train.quant_aware)",
        "teacher": options["teacher"], "teacher_step": teacher_info.get("step"), "step": step,
        "wall_s": round(elapsed, 1), "options": dict(options),
        "compared_on": f"{options['eval_count']} poses of the development stream, seed {options['seed']} + "
                       f"{DEVELOPMENT_SEED_OFFSET}: int8 against the teacher's float32",
        "before": before, "after": agreement}
    save_checkpoint(run_dir / G_FILE, model, model.config, info)
