"""Distil a narrower G (student) from a trained one (teacher) for real-time inference on a CPU.

Why: the shipped G costs 1.04 GFLOP per crop, ~22 ms on one core even with its BatchNorm folded
(engine.models.inference), over the real-time budget; half the channels is about a quarter of
the arithmetic.

Student initialisation (network slimming, Liu et al., ICCV 2017): the student is a SkeletonUNet
with fewer channels, and each of its layers starts as the teacher's layer restricted to the
channels whose BatchNorm scale |gamma| is largest (a channel with a small gamma contributes
little after normalisation). The student then starts near the teacher's function instead of
from noise, which on a shared 2-core CPU is the difference between minutes and hours.

Objective per batch: mean over pixels of (x_s - x_t)^2 + truth_weight * (x_s - x)^2, where x_s
and x_t are the student's and the teacher's raw output x_hat (before the eval-mode cut) and x
the clean simulator crop: the teacher carries what the GAN learned, the truth keeps the student
from copying the teacher's errors. Then the student's own silhouette cut is calibrated exactly
as the GAN trainer does (engine.train.calibration.calibrate_silhouette_cut, on its calibration seed).

Data and files as `train gan`'s (same cache layout and seeds, engine.data.crop_cache.build_cache):
RUN_DIR/options.json, cache/, train_state.pt (the resume point: student, optimiser, step, wall
time, RNG states, written atomically), log.csv + log.jsonl, generator.safetensors (the student
at the last checkpoint, with its cut and held-out scores). Running again resumes.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.data.crop_cache import CALIBRATION_SEED_OFFSET, DEVELOPMENT_SEED_OFFSET, build_cache
from engine.models.checkpoint import save_checkpoint
from engine.models.generator import ENCODING_SIZE, SkeletonUNet, load_generator
from engine.models.inference import fold_generator
from engine.models.pose_encoding import encode_pose
from engine.train import common
from engine.train.distill_options import DEFAULTS, MUTABLE
from engine.train.calibration import calibrate_silhouette_cut, evaluate_generator
from engine.train.gan import checkpoint_info
from engine.progress import Progress, note, silent
from engine.train.rng import restore_rng_state, rng_state

STATE_FILE, G_FILE = "train_state.pt", "generator.safetensors"
LOG_COLUMNS = ("step", "time_s", "lr", "loss", "loss_teacher", "loss_truth", "samples_per_s")


# ------------------------------------------------------------------------ student from teacher

def _keep(bn: torch.nn.BatchNorm2d, count: int) -> torch.Tensor:
    """Indices (sorted) of the `count` channels with the largest |gamma|."""
    return torch.sort(torch.topk(bn.weight.detach().abs(), count).indices).values


def _slim_block(src: torch.nn.Sequential, dst: torch.nn.Sequential, c_in: torch.Tensor) -> torch.Tensor:
    """Copy teacher block `src` (conv-BN-ReLU x2) into the narrower `dst`, input channels c_in;
    returns the output channels kept."""
    mid = _keep(src[1], dst[0].out_channels)
    out = _keep(src[4], dst[3].out_channels)
    with torch.no_grad():
        dst[0].weight.copy_(src[0].weight[mid][:, c_in])
        dst[3].weight.copy_(src[3].weight[out][:, mid])
        for s_bn, d_bn, idx in ((src[1], dst[1], mid), (src[4], dst[4], out)):
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(d_bn, name).copy_(getattr(s_bn, name)[idx])
    return out


def slim_student(teacher: SkeletonUNet, base: int, levels: int, full_res: int) -> SkeletonUNet:
    """A SkeletonUNet(base, levels, full_res) initialised from the teacher's strongest channels."""
    if teacher.output != "soft" or teacher.full_stage != "upsample":
        raise ValueError("distillation needs a soft-output teacher with the full-resolution stage "
                         f"(this one: output {teacher.output}, full stage {teacher.full_stage}); e.g. "
                         "resources/models/generator_soft.safetensors")
    if levels != teacher.config["levels"]:
        raise ValueError(f"the student must have the teacher's {teacher.config['levels']} levels, got {levels}")
    student = SkeletonUNet(base=base, levels=levels, full_res=full_res, max_channels=teacher.config["max_channels"])
    enc = torch.arange(teacher.down[0][0].in_channels)
    c_in, kept = enc, []
    for src, dst in zip(teacher.down, student.down):
        c_in = _slim_block(src, dst, c_in)
        kept.append(c_in)
    for src, dst, skip in zip(teacher.up, student.up, reversed(kept[:-1])):
        # the block's input is cat(upsampled h, skip): the skip's channels follow h's
        h_width = src[0].in_channels - src[4].num_features
        c_in = _slim_block(src, dst, torch.cat([c_in, h_width + skip]))
    h_width = teacher.full[0].in_channels - enc.numel()
    c_in = _slim_block(teacher.full, student.full, torch.cat([c_in, h_width + enc]))
    with torch.no_grad():
        student.head.weight.copy_(teacher.head.weight[:, c_in])
        student.head.bias.copy_(teacher.head.bias)
    student.set_silhouette_cut(teacher.edge_window, teacher.edge_fraction, teacher.hand_max,
                               teacher.depth_window, teacher.depth_step)
    return student


# ----------------------------------------------------------------------------------- training

def distill_step(student: SkeletonUNet, teacher_net: SkeletonUNet, optimiser: torch.optim.Optimizer,
                 x: torch.Tensor, y: torch.Tensor, view: torch.Tensor, truth_weight: float) -> dict[str, float]:
    """One update on a batch: crops x (B, 1, 128, 128), poses y, views; returns the losses."""
    encoding = encode_pose(y, view, size=ENCODING_SIZE)
    with torch.no_grad():
        target, _ = teacher_net.forward_parts(y, view, encoding)
    soft, _ = student.forward_parts(y, view, encoding)
    loss_teacher = F.mse_loss(soft, target)
    loss_truth = F.mse_loss(soft, x)
    loss = loss_teacher + truth_weight * loss_truth
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()
    return {"loss": loss.item(), "loss_teacher": loss_teacher.item(), "loss_truth": loss_truth.item()}


def distill(run_dir: Path, given: dict, progress: Progress = silent, stop_after: float | None = None) -> dict:
    """Train (or resume) a student in run_dir; returns {step, wall_s, eval}."""
    run_dir = Path(run_dir)
    options, resuming = common.start_run(run_dir, given, DEFAULTS, MUTABLE, _check_options)
    teacher, teacher_info = load_generator(options["teacher"])
    teacher_net = fold_generator(teacher)
    train, held_out, calib = build_cache(run_dir, {**options, "data": "sim"}, progress)
    torch.manual_seed(options["seed"])
    student = slim_student(teacher, options["base"], options["levels"], options["full_res"]).train()
    optimiser = torch.optim.Adam(student.parameters(), lr=options["lr"])
    step, elapsed = 0, 0.0
    state_path = run_dir / STATE_FILE
    if resuming and state_path.exists():
        state = common.load_state(state_path)
        student.load_state_dict(state["student"])
        optimiser.load_state_dict(state["optimiser"])
        step, elapsed = int(state["step"]), float(state["elapsed_s"])
        restore_rng_state(state["rng"])
    run_log = common.RunLog(run_dir, LOG_COLUMNS, resume_step=step if resuming else None)
    total = int(options["steps"])
    progress("distill", step, total, {})
    started, window_t, window_n = time.monotonic() - elapsed, time.monotonic(), 0
    metrics: dict = {}
    while step < total:
        epoch, offset = divmod(step * options["batch_size"], len(train))
        order = np.random.default_rng([options["seed"], epoch]).permutation(len(train))
        idx = order[offset:offset + options["batch_size"]]
        x, y, v, _ = train.batch(idx, torch.device("cpu"))  # the soft teacher draws the mean hand
        common.set_lr(optimiser, common.cosine_lr(options["lr"], step, total))
        losses = distill_step(student, teacher_net, optimiser, x, y, v, options["truth_weight"])
        step += 1
        window_n += len(idx)
        shown: dict[str, float] = {}
        if step % options["log_every"] == 0 or step == total:
            now = time.monotonic()
            shown = {**losses, "samples_per_s": round(window_n / max(now - window_t, 1e-9), 1)}
            run_log.row({"step": step, "time_s": round(now - started, 1), "lr": optimiser.param_groups[0]["lr"],
                         **shown})
            window_t, window_n = now, 0
        progress("distill", step, total, shown)
        out_of_time = stop_after is not None and time.monotonic() - started - elapsed >= stop_after
        if step % options["checkpoint_every"] == 0 or step == total or out_of_time:
            metrics = _checkpoint(run_dir, options, teacher_info, step, time.monotonic() - started,
                                  student, optimiser, held_out, calib, run_log)
            student.train()
            note(progress, f"step {step}", {"held-out IoU": metrics["iou"], "fg MAE mm": metrics["fg_mae_mm"]})
        if out_of_time:
            break
    return {"step": step, "wall_s": time.monotonic() - started, "eval": metrics}


def _check_options(o: dict) -> None:
    if o["data"] != "sim":
        raise ValueError("distillation draws its poses from the simulator: --data must be sim")
    for key in ("steps", "batch_size", "cache_size", "eval_count", "base", "full_res", "checkpoint_every", "log_every"):
        if int(o[key]) < 1:
            raise ValueError(f"--{key.replace('_', '-')} must be at least 1, got {o[key]}")
    if not o["lr"] > 0 or not o["truth_weight"] >= 0:
        raise ValueError("--lr must be positive and --truth-weight not negative")


def _checkpoint(run_dir: Path, options: dict, teacher_info: dict, step: int, elapsed: float,
                student: SkeletonUNet, optimiser: torch.optim.Optimizer, held_out, calib,
                run_log: common.RunLog) -> dict:
    """Calibrate the student's cut, score it on held-out crops, log, write the state, export."""
    device = torch.device("cpu")
    cut = calibrate_silhouette_cut(student, calib, device)
    metrics = evaluate_generator(student, held_out, device)
    run_log.record({"step": step, "eval": metrics, "silhouette_cut": cut, "time_s": round(elapsed, 1)})
    common.save_state(run_dir / STATE_FILE, {"step": step, "elapsed_s": float(elapsed), "student": student.state_dict(),
                                             "optimiser": optimiser.state_dict(), "rng": rng_state()})
    info = checkpoint_info({**options, "l2_weight": None}, step, metrics)
    info["objective"] = {"distillation": "mean (x_s - x_teacher)^2 + truth_weight * mean (x_s - x)^2 on raw x_hat",
                         "truth_weight": options["truth_weight"], "teacher": options["teacher"],
                         "teacher_step": teacher_info.get("step")}
    info["silhouette_cut"] = {**cut, "calibrated_on": f"{len(calib)} clean sim crops, seed {options['seed']} + "
                                                      f"{CALIBRATION_SEED_OFFSET}"}
    info["held_out"] = f"{len(held_out)} clean sim crops, seed {options['seed']} + {DEVELOPMENT_SEED_OFFSET}"
    info["wall_s"] = round(elapsed, 1)
    save_checkpoint(run_dir / G_FILE, student, student.config, info)
    return metrics
