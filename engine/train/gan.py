"""Train the conditional GAN G(y) → depth crop against D(x, y) with the design's objective.

One step (alternating, as designed; losses in engine.losses):
  1. D step: maximise log D(x, y) + log(1 - D(G(y), y)) on a real batch and G's output (detached).
  2. G step: minimise -log D(G(y), y) + lambda * ||x - G(y)||_F^2, or with --style the design's
     styled variant -log D(G(y), y) + L_ST(G(y); content x, style S) (engine.train.style_objective).
     With --mask-weight / --depth-weight (not the design's; 0 by default), G's silhouette logit and
     depth head are also supervised directly (engine.losses.head_loss), so that with --g-output
     mask the network's own eval-mode output, d where m > 0, is a sharp silhouette. --gap-weight / --step-weight
     up-weight those terms on the pixels that separate fingers (engine.separation_weights), and
     --part-weight adds the cross-entropy of the part labels that the depth head's points get
     (engine.part_loss), the labels per-finger IoU is scored on.
Both nets see the pose as one skeleton image per batch (engine.models.pose_encoding).

Pieces. This module is the loop, its checkpoints and previews; the crops it trains, evaluates
and calibrates on are made once into RUN_DIR/cache/ by engine.data.crop_cache; each checkpoint
sets G's silhouette cut and scores it with engine.train.calibration; the options are
engine.train.gan_options.GanOptions; progress goes out through engine.progress.

Run folder (RUN_DIR): options.json, cache/, train_state.pt (the resume point), the products
generator.safetensors (G at the last checkpoint) and generator_best.safetensors (best held-out
IoU so far), log.csv + log.jsonl (losses; evaluations), previews/step_NNNNNN.png (skeleton |
G(y) | x). Running again on an existing RUN_DIR resumes from its last checkpoint.

Surviving kills. A checkpoint is ONE file, train_state.pt, replaced atomically and durably: G and
D weights (spectral-norm and batch-norm buffers included), both optimisers and loss scalers, the
step, wall time, the best-so-far record, G's calibrated silhouette cut and every RNG state. A
checkpoint logs its evaluation first, then writes that file, then exports the products from it; a
resume redoes the exports of the checkpoint it resumes, so they never need to be in step with the
state file, and the logs lose whatever came after it. Model initialisation is seeded (--seed),
the batches of a step follow from (seed, epoch) and the learning rate from the step, so on the
CPU with the same --threads a resumed run ends with bit-identical weights to an uninterrupted
one (tests/test_train_kill_resume.py kills it 20 times to check). Not reproduced exactly: CUDA
runs (cuDNN and atomics pick reduction orders at run time; the float16 loss scaler follows them),
another --threads value (float sums in another order) and another number of torchrun processes
(other shards per step); wall-time columns (time_s, samples_per_s) differ by nature.

Processes. Under `torchrun --nproc_per_node N`, each process trains on its own shard of every
epoch's shuffled indices with --batch-size samples per step (the global batch is N times that);
G and D are DistributedDataParallel; only rank 0 writes files.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel as DDP

from engine.data.crop import BACKGROUND, CROP_SIZE, CUBE_MM
from engine.data.crop_cache import CALIBRATION_SEED_OFFSET, Crops, build_cache
from engine.io_utils import write_png
from engine.losses import discriminator_loss, generator_loss, head_loss
from engine.models.checkpoint import read_checkpoint, save_checkpoint
from engine.models.discriminator import PatchCritic
from engine.models.generator import ENCODING_SIZE, SkeletonUNet
from engine.models.pose_encoding import encode_pose
from engine.part_loss import part_label_ce
from engine.sim.sensors import SENSOR_NAMES
from engine.train import common
from engine.train.calibration import calibrate_silhouette_cut, evaluate_generator
from engine.train.common import Dist
from engine.train.gan_options import DEFAULTS, MUTABLE
from engine.progress import Progress, note, silent
from engine.train.rng import restore_rng_state, rng_state
from engine.train.style_objective import (
    STYLE_LOG_COLUMNS, StyleObjective, check_style_options, describe_objective, load_style_target, loss_config)
from engine.train.warm_start import read_init

log = logging.getLogger(__name__)

G_FILE, STATE_FILE, BEST_FILE = "generator.safetensors", "train_state.pt", "generator_best.safetensors"
D_FILE = "discriminator.safetensors"  # older run folders only: D now lives in the state file
STATE_FORMAT = 2  # 1 (no "format" key): optimisers only, G and D in their own files
LOG_COLUMNS = ("step", "epoch", "time_s", "lr_g", "lr_d", "loss_d", "loss_g", "loss_g_adv",
               "loss_g_l2", "d_real", "d_fake", "samples_per_s")
HEAD_LOG_COLUMNS = ("loss_g_mask", "loss_g_depth")  # runs with supervised heads

# G's loss in place of the L2 objective: (D's logits on G(y), x, G(y)) -> (L_G, its named terms).
GeneratorObjective = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, dict[str, torch.Tensor]]]


# ------------------------------------------------------------------------------------ previews

def _gray(crop: np.ndarray) -> np.ndarray:
    """Crop in [-1, 1] → uint8, near bright, background black."""
    img = np.clip((1.0 - crop) * 0.5, 0.0, 1.0) * 255.0
    return img.astype(np.uint8)


@torch.no_grad()
def preview_image(model: torch.nn.Module, crops: Crops, device: torch.device, count: int = 4) -> np.ndarray:
    """Rows of [skeleton encoding | G(y) | x] for the first `count` held-out crops (uint8 gray)."""
    was_training = model.training
    model.eval()
    idx = np.arange(min(count, len(crops)))
    x, y, v, thickness = crops.batch(idx, device)
    fake = model(y, v, thickness=thickness)[:, 0].float().cpu().numpy()
    enc = encode_pose(y, v)[:, :6].amax(1).cpu().numpy()
    model.train(was_training)
    rows = [np.hstack([(np.clip(e, 0, 1) * 255).astype(np.uint8), _gray(f), _gray(t[0])])
            for e, f, t in zip(enc, fake, x.cpu().numpy())]
    return np.vstack(rows)


# ------------------------------------------------------------------------------------ training

def build_models(options: dict) -> tuple[SkeletonUNet, PatchCritic]:
    return (SkeletonUNet(base=options["g_base"], levels=options["g_levels"], full_res=options["g_full"],
                         output=options["g_output"], full_stage=options["g_full_stage"],
                         shape_input=options.get("g_shape_input", False), refine=options.get("g_refine", 0),
                         refine_stage=options.get("g_refine_stage", "full")),
            PatchCritic(base=options["d_base"]))


def generator_param_groups(G: torch.nn.Module, options: dict) -> list[dict]:
    """G's parameters as one optimiser group, or two when its output stage has its own learning
    rate (--g-refine-lr): the stage's group keeps that rate's ratio to --lr-g (common.set_lr)."""
    stage = getattr(common.unwrap(G), "refine", None)
    if not options.get("g_refine_lr") or stage is None:
        return [{"params": list(G.parameters())}]
    own = {id(p) for p in stage.parameters()}
    return [{"params": [p for p in G.parameters() if id(p) not in own]},
            {"params": list(stage.parameters()), "lr": options["g_refine_lr"],
             "lr_scale": options["g_refine_lr"] / options["lr_g"]}]


def checkpoint_info(options: dict, step: int, metrics: dict | None = None) -> dict:
    """What a generator file says about itself besides its architecture config."""
    return {
        "kind": "generator", "step": step,
        "crop": {"cube_mm": CUBE_MM, "crop_size": CROP_SIZE, "background": BACKGROUND,
                 "depth": "(z - z_c) / (cube / 2), clipped to [-1, 1]; pose y = (joints - c) / (cube / 2)",
                 "view": "(c_x / c_z, c_y / c_z, (cube / 2) / c_z, du, dv): engine.models.pose_encoding.crop_view"},
        "training_data": {"data": options["data"], "sensors": list(options["sensors"]),
                          "cameras": list(options["cameras"]), "seed": options["seed"],
                          "cache_size": options["cache_size"]},
        "objective": describe_objective(options) if options.get("style") else
                     {"l2_weight": options["l2_weight"], "adv_weight": options.get("adv_weight", 1.0),
                      "l2": "squared Frobenius norm, sum over pixels, mean over batch",
                      "adversarial": "-log D(G(y), y), patch-averaged, mean over batch",
                      **({"mask_weight": options["mask_weight"], "depth_weight": options["depth_weight"],
                          "mask": "BCE of the silhouette logit vs the true silhouette, mean over pixels",
                          "depth": "L1 of the depth head inside the true silhouette, mean over those pixels"}
                         if _supervised_heads(options) else {}),
                      **({"gap_weight": options["gap_weight"], "step_weight": options["step_weight"],
                          "separation": "BCE x (1 + gap_weight) on background inside a closing of the "
                                        "silhouette; L1 x (1 + step_weight) at depth steps: "
                                        "engine.separation_weights"}
                         if _separation_weights(options) else {}),
                      **({"part_weight": options["part_weight"],
                          "part": "cross-entropy of the depth head's part labels vs the target's, mean over "
                                  "hand pixels: engine.part_loss"}
                         if options.get("part_weight", 0.0) > 0 else {})},
        "init": options.get("init"), "options": options, "eval": metrics or {},
    }


def gan_step(G: torch.nn.Module, D: torch.nn.Module, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
             scaler_g: torch.amp.GradScaler, scaler_d: torch.amp.GradScaler, x: torch.Tensor, y: torch.Tensor,
             view: torch.Tensor, l2_weight: float = 1.0,
             g_objective: GeneratorObjective | None = None, mask_weight: float = 0.0,
             depth_weight: float = 0.0, adv_weight: float = 1.0, gap_weight: float = 0.0,
             step_weight: float = 0.0, part_weight: float = 0.0,
             thickness: torch.Tensor | None = None) -> dict[str, float]:
    """One alternating update (D, then G) on a batch: crops x (B, 1, 128, 128), poses, views,
    and the hands' thicknesses (B,) for a shape-aware G (SkeletonUNet.condition).

    G minimises `g_objective` when given (a styled run), else the design's adversarial + L2;
    either plus the supervised-head terms when a weight of theirs is set (engine.losses.head_loss).
    Returns the batch's losses and D's mean probabilities on real and fake crops.
    """
    heads = mask_weight > 0 or depth_weight > 0
    device = x.device
    with torch.no_grad():
        enc = encode_pose(y, view, size=ENCODING_SIZE).contiguous(memory_format=torch.channels_last)
    x = x.contiguous(memory_format=torch.channels_last)
    with common.autocast(device):
        if heads:
            fake, logit, depth = G(y, view, encoding=enc, heads=True, thickness=thickness)
        else:
            fake = G(y, view, encoding=enc, thickness=thickness)
        # D step: real and fake in one forward, so each backward follows exactly one forward
        # (what DDP and spectral norm's in-place power iteration need).
        logits = D(torch.cat([x, fake.detach()]), y, encoding=torch.cat([enc, enc]))
        loss_d = discriminator_loss(logits[:len(x)], logits[len(x):])
    opt_d.zero_grad(set_to_none=True)
    scaler_d.scale(loss_d).backward()
    scaler_d.step(opt_d)
    scaler_d.update()
    with common.autocast(device):
        fake_logits = D(fake, y, encoding=enc)
        if g_objective is None:
            loss_g, adv, l2 = generator_loss(fake_logits, x, fake, l2_weight, adv_weight)
            terms = {"loss_g_adv": adv, "loss_g_l2": l2}
        else:
            loss_g, terms = g_objective(fake_logits, x, fake)
        if heads:
            supervised, bce, l1 = head_loss(logit, depth, x, mask_weight, depth_weight, gap_weight, step_weight)
            loss_g = loss_g + supervised
            terms = {**terms, "loss_g_mask": bce, "loss_g_depth": l1}
        if part_weight > 0:
            part = part_label_ce(depth, x, y, view)
            loss_g = loss_g + part_weight * part
            terms = {**terms, "loss_g_part": part}
    opt_g.zero_grad(set_to_none=True)
    scaler_g.scale(loss_g).backward()  # also fills D's grads; the next D step zeroes them first
    scaler_g.step(opt_g)
    scaler_g.update()
    with torch.no_grad():
        return {"loss_d": float(loss_d), "loss_g": float(loss_g), **{k: float(t) for k, t in terms.items()},
                "d_real": float(torch.sigmoid(logits[:len(x)].float()).mean()),
                "d_fake": float(torch.sigmoid(logits[len(x):].float()).mean())}


def _epoch_indices(n: int, seed: int, epoch: int, d: Dist) -> np.ndarray:
    perm = np.random.default_rng([seed, 0x6A5, epoch]).permutation(n)
    return perm[d.rank::d.world_size]


def _order_seed(options: Mapping) -> int:
    """The seed of the training crops' order: --order-seed, else --seed (and so for runs whose
    options.json predates the option)."""
    given = options.get("order_seed")
    return int(options["seed"] if given is None else given)


def train_gan(run_dir: Path, given: dict, progress: Progress = silent,
              stop_after: float | None = None) -> dict:
    """Train (or resume) the GAN run in `run_dir`; returns a summary dict (rank 0's view).

    `given` maps option names (see DEFAULTS) to values, None for "not given". `stop_after`
    (seconds) ends a time-boxed run at the next logged step past it, with a checkpoint there,
    so running again resumes it.
    """
    d = common.setup_distributed(str(given.get("device") or DEFAULTS["device"]))
    try:
        return _train(run_dir, given, d, progress, stop_after)
    finally:
        common.teardown_distributed()


def _train(run_dir: Path, given: dict, d: Dist, progress: Progress, stop_after: float | None) -> dict:
    options, resuming = common.run_options(run_dir, given, DEFAULTS, MUTABLE)
    _check_options(options)
    # Everything a run reads from outside is checked before its folder is written.
    style = load_style_target(options) if options["style"] else None
    fresh = not (resuming and (run_dir / STATE_FILE).exists())
    init = read_init(options["init"], build_models(options)[0]) if options["init"] and fresh else None
    if options["threads"]:
        torch.set_num_threads(int(options["threads"]))
    progress = progress if d.is_main else silent
    if d.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        common.remove_stale_temps(run_dir, run_dir / "previews", *(run_dir / "cache").glob("*"))
        common.write_options(run_dir, options)
        build_cache(run_dir, options, progress)
    common.barrier(d)
    train, held_out, calib = build_cache(run_dir, options)
    if len(train) < options["batch_size"] * d.world_size:
        raise ValueError(f"only {len(train)} training crops for a batch of {options['batch_size']} x {d.world_size} processes")

    dev = d.device
    torch.manual_seed(int(options["seed"]))  # same initial weights (and spectral-norm vectors) every run
    G, D = build_models(options)
    if init is not None:
        G.load_state_dict(init)
    G, D = G.to(dev).to(memory_format=torch.channels_last), D.to(dev).to(memory_format=torch.channels_last)
    betas = (0.5, 0.999)  # pix2pix / DCGAN's Adam settings for GANs
    opt_g = torch.optim.Adam(generator_param_groups(G, options), lr=options["lr_g"], betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=options["lr_d"], betas=betas)
    scaler_g, scaler_d = common.grad_scaler(dev), common.grad_scaler(dev)
    step, elapsed, best = 0, 0.0, {"iou": -1.0}
    if resuming and (run_dir / STATE_FILE).exists():
        step, elapsed, best, info = _restore(run_dir, G, D, opt_g, opt_d, scaler_g, scaler_d, dev)
        log.info("resuming %s at step %d", run_dir, step)
        if d.is_main and info is not None:
            _export(run_dir, G, info, best, step)  # finish the exports a kill may have cut off
    elif resuming:
        resuming = False  # options written but no checkpoint yet: a fresh start
    columns = LOG_COLUMNS + (STYLE_LOG_COLUMNS if style is not None else ()) + \
        (HEAD_LOG_COLUMNS if _supervised_heads(options) else ())
    run_log = common.RunLog(run_dir, columns, resume_step=step if resuming else None) if d.is_main else None
    objective = StyleObjective(style, loss_config(options), dev) if style is not None else None
    if run_log is not None and style is not None and not resuming:
        run_log.record({"step": 0, "style_target": style.describe()})
    if d.distributed:
        G = DDP(G, device_ids=[dev.index] if dev.type == "cuda" else None)
        D = DDP(D, device_ids=[dev.index] if dev.type == "cuda" else None, broadcast_buffers=False)

    total, batch = int(options["steps"]), int(options["batch_size"])
    per_epoch = len(train) // d.world_size // batch
    progress("train gan", step, total, {})
    sums: dict[str, float] = {}
    n_sums = 0
    t_start, t_window, n_window = time.monotonic(), time.monotonic(), 0
    summary: dict = {"run_dir": str(run_dir), "resumed_from": step if resuming else None}
    G.train()
    D.train()
    while step < total:
        epoch, j = divmod(step, per_epoch)
        idx = _epoch_indices(len(train), _order_seed(options), epoch, d)[j * batch:(j + 1) * batch]
        x, y, v, thickness = train.batch(idx, dev)
        lr_g = common.cosine_lr(options["lr_g"], step, total)
        lr_d = common.cosine_lr(options["lr_d"], step, total)
        common.set_lr(opt_g, lr_g)
        common.set_lr(opt_d, lr_d)
        losses = gan_step(G, D, opt_g, opt_d, scaler_g, scaler_d, x, y, v, options["l2_weight"], objective,
                          options["mask_weight"], options["depth_weight"], options["adv_weight"],
                          options["gap_weight"], options["step_weight"], options["part_weight"], thickness)
        step += 1
        n_sums += 1
        n_window += len(x) * d.world_size
        for k, val in losses.items():
            sums[k] = sums.get(k, 0.0) + val
        shown: dict[str, float] = {}
        if d.is_main and (step % options["log_every"] == 0 or step == total):
            now = time.monotonic()
            n = max(1, n_sums)
            row = {"step": step, "epoch": epoch, "time_s": round(elapsed + now - t_start, 2),
                   "lr_g": lr_g, "lr_d": lr_d, **{k: s / n for k, s in sums.items()},
                   "samples_per_s": round(n_window / max(now - t_window, 1e-9), 2)}
            run_log.row(row)
            shown = {k: row[k] for k in ("loss_d", "loss_g", "samples_per_s")}
            t_window, n_window = now, 0
        progress("train gan", step, total, shown)
        if step % options["log_every"] == 0 or step == total:
            sums, n_sums = {}, 0
        if d.is_main and step % options["preview_every"] == 0:
            (run_dir / "previews").mkdir(exist_ok=True)
            write_png(run_dir / "previews" / f"step_{step:06d}.png", preview_image(common.unwrap(G), held_out, dev))
        boundary = step % options["checkpoint_every"] == 0 or step == total
        stop = False
        if stop_after is not None and (boundary or step % options["log_every"] == 0):
            # Rank 0's clock decides, at a step every rank reaches, so all stop together.
            stop = common.broadcast_flag(d, time.monotonic() - t_start >= stop_after)
        if boundary or stop:
            if d.is_main:
                best = _checkpoint(run_dir, options, step, elapsed + time.monotonic() - t_start, best,
                                   common.unwrap(G), common.unwrap(D), opt_g, opt_d, scaler_g, scaler_d,
                                   held_out, calib, run_log, progress)
            common.barrier(d)
        if stop:
            break
    summary.update(step=step, wall_s=round(elapsed + time.monotonic() - t_start, 1), best=best,
                   finished=step >= total)
    return summary


def _check_options(o: dict) -> None:
    for key in ("steps", "batch_size", "cache_size", "checkpoint_every", "preview_every", "log_every",
                "g_base", "g_levels", "g_full", "d_base"):
        if int(o[key]) < 1:
            raise ValueError(f"--{key.replace('_', '-')} must be at least 1, got {o[key]}")
    if int(o["eval_count"]) < 1:
        raise ValueError(f"--eval-count must be at least 1, got {o['eval_count']}")
    bad = [s for s in o["sensors"] if s not in SENSOR_NAMES]
    if bad:
        raise ValueError(f"unknown sensor {bad[0]!r}; choose from {', '.join(SENSOR_NAMES)}")
    for key in ("l2_weight", "adv_weight", "mask_weight", "depth_weight", "gap_weight", "step_weight", "part_weight"):
        if o[key] < 0:
            raise ValueError(f"--{key.replace('_', '-')} must be >= 0, got {o[key]}")
    for key, term, acts in (("gap_weight", "mask_weight", "weights the mask term"),
                            ("step_weight", "depth_weight", "weights the depth term"),
                            ("part_weight", "depth_weight", "labels the depth head's points")):
        if o[key] > 0 and o[term] == 0:
            raise ValueError(f"--{key.replace('_', '-')} {acts}: it needs --{term.replace('_', '-')} > 0")
    if o["style"] and o["adv_weight"] != 1.0:
        raise ValueError("--adv-weight applies to the L2 objective only, not to --style runs")
    if o.get("g_refine", 0) < 0:
        raise ValueError(f"--g-refine must be >= 0, got {o['g_refine']}")
    if o.get("g_refine_stage", "full") != "full" and not o.get("g_refine"):
        raise ValueError("--g-refine-stage is the --g-refine stage's form: it needs --g-refine > 0")
    if o.get("g_refine_lr") is not None and (not o.get("g_refine") or not o["g_refine_lr"] > 0):
        raise ValueError("--g-refine-lr is the --g-refine stage's learning rate: it needs --g-refine > 0 and a rate > 0")
    check_style_options(o)


def _supervised_heads(options: dict) -> bool:
    """Does the run supervise G's heads (options of other trainers have no such keys)?"""
    return options.get("mask_weight", 0.0) > 0 or options.get("depth_weight", 0.0) > 0


def _separation_weights(options: dict) -> bool:
    """Does the run up-weight the pixels between fingers (older runs' options have no such keys)?"""
    return options.get("gap_weight", 0.0) > 0 or options.get("step_weight", 0.0) > 0


def _checkpoint(run_dir: Path, options: dict, step: int, elapsed: float, best: dict,
                G: torch.nn.Module, D: torch.nn.Module, opt_g, opt_d, scaler_g, scaler_d,
                held_out: Crops, calib: Crops, run_log: common.RunLog, progress: Progress) -> dict:
    """Calibrate G's silhouette cut and evaluate on held-out crops; log that, write the state
    file (the resume point), then export the products from it. Returns the best record."""
    t0 = time.monotonic()
    device = next(G.parameters()).device
    cut = calibrate_silhouette_cut(G, calib, device)
    metrics = evaluate_generator(G, held_out, device)
    eval_s = time.monotonic() - t0
    info = checkpoint_info(options, step, metrics)
    info["silhouette_cut"] = {**cut, "calibrated_on": f"{len(calib)} clean sim crops, seed {options['seed']} + {CALIBRATION_SEED_OFFSET}"}
    info["wall_s"] = round(elapsed, 1)
    if metrics["iou"] > best.get("iou", -1.0):
        best = {**metrics, "step": step}
    # Logged before the state file: a resume from an older state drops this record again.
    run_log.record({"step": step, "eval": metrics, "silhouette_cut": cut, "eval_s": round(eval_s, 2),
                    "time_s": round(elapsed, 1)})
    common.save_state(run_dir / STATE_FILE, {
        "format": STATE_FORMAT, "step": step, "elapsed_s": float(elapsed), "best": json.dumps(best),
        "export_info": json.dumps(info), "generator": G.state_dict(), "discriminator": D.state_dict(),
        "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
        "scaler_g": scaler_g.state_dict(), "scaler_d": scaler_d.state_dict(), "rng": rng_state()})
    _export(run_dir, G, info, best, step)
    note(progress, f"step {step}", {"held-out IoU": metrics["iou"], "fg MAE mm": metrics["fg_mae_mm"]})
    return best


def _export(run_dir: Path, G: SkeletonUNet, info: dict, best: dict, step: int) -> None:
    """Write the users' files of the checkpoint at `step`: G, and G as the best one when it is.

    Called after the state file and again on resume, so a kill between the two only delays them.
    """
    save_checkpoint(run_dir / G_FILE, G, G.config, info)
    if best.get("step") == step:
        save_checkpoint(run_dir / BEST_FILE, G, G.config, info)


def _restore(run_dir: Path, G, D, opt_g, opt_d, scaler_g, scaler_d, dev) -> tuple[int, float, dict, dict | None]:
    """Load the state file into the models and optimisers: (step, elapsed, best, export info).

    Older run folders (state file without weights, G and D in their own files) still resume when
    those files hold the state's step; their export info is None (nothing to redo).
    """
    path = run_dir / STATE_FILE
    state = common.load_state(path)
    version = state.get("format", 1)
    if version not in (1, STATE_FORMAT):
        raise ValueError(f"{path}: state format {version!r} is not one this version reads (1 or {STATE_FORMAT})")
    try:
        step = int(state["step"])
        if version == STATE_FORMAT:
            G.load_state_dict(state["generator"])
            D.load_state_dict(state["discriminator"])
            info = json.loads(state["export_info"])
            cut = info["silhouette_cut"]
            G.set_silhouette_cut(cut["edge_window"], cut["edge_fraction"], cut["hand_max"],
                                 cut["depth_window"], cut["depth_step"])
        else:
            _restore_legacy_weights(run_dir, G, D, step)
            info = None
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        scaler_g.load_state_dict(state["scaler_g"])
        scaler_d.load_state_dict(state["scaler_d"])
        best = json.loads(state.get("best", "{}")) or {"iou": -1.0}
    except (KeyError, TypeError, RuntimeError, json.JSONDecodeError) as e:
        first = str(e).splitlines()[0] if str(e) else ""
        raise ValueError(f"{path}: not a state file of this run ({e.__class__.__name__} {first})") from None
    if "rng" in state:
        restore_rng_state(state["rng"])
    for opt in (opt_g, opt_d):  # optimiser moments onto the model's device
        for s in opt.state.values():
            for k, t in s.items():
                if isinstance(t, torch.Tensor) and k != "step":
                    s[k] = t.to(dev)
    return step, float(state.get("elapsed_s", 0.0)), best, info


def _restore_legacy_weights(run_dir: Path, G, D, step: int) -> None:
    for model, name in ((G, G_FILE), (D, D_FILE)):
        weights, _, _, info = read_checkpoint(run_dir / name)
        if int(info.get("step", -1)) != step:
            raise ValueError(f"{run_dir / name}: holds step {info.get('step')}, the state file step {step}; "
                             "this older run folder cannot resume (start it again with a new --out)")
        model.load_state_dict(weights)
