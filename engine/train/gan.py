"""Train the conditional GAN G(y) → depth crop against D(x, y) with the design's objective.

One step (alternating, as designed; losses in engine.losses):
  1. D step: maximise log D(x, y) + log(1 - D(G(y), y)) on a real batch and G's output (detached).
  2. G step: minimise -log D(G(y), y) + lambda * ||x - G(y)||_F^2, or with --style the design's
     styled variant -log D(G(y), y) + L_ST(G(y); content x, style S) (engine.train.style_objective).
Both nets see the pose as one skeleton image per batch (engine.models.pose_encoding).

Data. Training crops are made once into RUN_DIR/cache/ (float16 depth, float32 pose and view, as
.npy files read by memory map, so DDP processes share one copy): `--data sim` draws them from the
simulator stream (engine.data.readers.sim.crop_sample, seed = the run's seed); a dataset spec
crops each Sample by the crop convention. Held-out evaluation poses come from the simulator with
another seed (EVAL_SEED_OFFSET), or for datasets from samples after the training ones.

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
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel as DDP

from engine.data.crop import (
    BACKGROUND,
    CROP_SIZE,
    CUBE_MM,
    crop_depth,
    make_transform,
    normalise_joints,
)
from engine.data.readers import open_dataset
from engine.data.readers.sim import SimConfig, crop_sample
from engine.eval.metrics import fg_mae_mm, nanmean, silhouette_iou
from engine.io_utils import atomic_write_json, fsync_dir, write_png
from engine.losses import discriminator_loss, generator_loss
from engine.models.checkpoint import read_checkpoint, save_checkpoint
from engine.models.discriminator import PatchCritic
from engine.models.generator import ENCODING_SIZE, SkeletonUNet
from engine.models.pose_encoding import VIEW_SIZE, crop_view, encode_pose
from engine.sim.sensors import SENSOR_NAMES
from engine.train import common
from engine.train.common import Dist
from engine.train.gan_options import DEFAULTS, MUTABLE
from engine.train.rng import restore_rng_state, rng_state
from engine.train.style_objective import (
    STYLE_LOG_COLUMNS, StyleObjective, check_style_options, describe_objective, load_style_target, loss_config)
from engine.train.warm_start import read_init

log = logging.getLogger(__name__)

EVAL_SEED_OFFSET = 1_000_003  # held-out simulator poses: seed + this, never drawn in training
CALIBRATION_SEED_OFFSET = 2_000_003  # crops that calibrate G's silhouette cut: neither train nor eval
# Candidate silhouette cuts (SkeletonUNet.cut_silhouette): window, edge fraction, hand maximum.
CUT_GRID = tuple((k, f, h) for k in (5, 7, 9, 11) for f in (0.4, 0.5, 0.6) for h in (0.8, 0.9))
# Candidate depth snapping of the cut (window, step in crop units), after (1, 0): off.
DEPTH_GRID = tuple((w, step) for w in (3, 5) for step in (0.0, 0.04, 0.08, 0.16, 0.24))
G_FILE, STATE_FILE, BEST_FILE = "generator.safetensors", "train_state.pt", "generator_best.safetensors"
D_FILE = "discriminator.safetensors"  # older run folders only: D now lives in the state file
STATE_FORMAT = 2  # 1 (no "format" key): optimisers only, G and D in their own files
LOG_COLUMNS = ("step", "epoch", "time_s", "lr_g", "lr_d", "loss_d", "loss_g", "loss_g_adv",
               "loss_g_l2", "d_real", "d_fake", "samples_per_s")

ProgressFactory = Callable[..., object]
# G's loss in place of the L2 objective: (D's logits on G(y), x, G(y)) -> (L_G, its named terms).
GeneratorObjective = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, dict[str, torch.Tensor]]]


@dataclass
class Crops:
    """Crops in the crop convention: depth (N, 128, 128), pose y (N, 21, 3), view (N, 5)."""

    depth: np.ndarray
    y: np.ndarray
    view: np.ndarray

    def __len__(self) -> int:
        return len(self.depth)

    def batch(self, idx: np.ndarray, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        order = np.sort(idx)  # memory-mapped reads in file order
        x = torch.from_numpy(np.asarray(self.depth[order], dtype=np.float32))[:, None]
        y = torch.from_numpy(np.asarray(self.y[order], dtype=np.float32))
        v = torch.from_numpy(np.asarray(self.view[order], dtype=np.float32))
        return x.to(device), y.to(device), v.to(device)


# ------------------------------------------------------------------------------- data cache

def sim_crops(config: SimConfig, start: int, count: int, clean: bool = False,
              progress: Callable[[int], None] | None = None) -> Crops:
    """`count` simulator crops from index `start`: the sensor's depth, or the clean render."""
    depth = np.empty((count, CROP_SIZE, CROP_SIZE), np.float16)
    y = np.empty((count, 21, 3), np.float32)
    view = np.empty((count, VIEW_SIZE), np.float32)
    for k in range(count):
        s = crop_sample(config, start + k)
        depth[k], y[k], view[k] = (s.clean if clean else s.depth), s.y, crop_view(s.transform)
        if progress is not None:
            progress(1)
    return Crops(depth, y, view)


def dataset_crops(spec: str, count: int, progress: Callable[[int], None] | None = None) -> Crops:
    """Up to `count` crops from a dataset reader, each by the crop convention around its joints."""
    depth, ys, views = [], [], []
    for sample in open_dataset(spec):
        if len(depth) >= count:
            break
        if not np.isfinite(sample.joints).all(axis=1).any():
            continue  # no labelled joint: nowhere to crop
        try:
            t = make_transform(sample.joints, sample.camera)
        except ValueError:
            continue  # centre behind the camera
        depth.append(crop_depth(sample.depth, t).astype(np.float16))
        ys.append(normalise_joints(sample.joints, t))
        views.append(crop_view(t))
        if progress is not None:
            progress(1)
    if not depth:
        raise ValueError(f"{spec}: no usable samples (none with labelled joints)")
    return Crops(np.stack(depth), np.stack(ys).astype(np.float32), np.stack(views))


def _cache_key(options: dict, part: str) -> dict:
    return {"part": part, "data": options["data"], "sensors": list(options["sensors"]),
            "cameras": list(options["cameras"]), "seed": options["seed"],
            "cache_size": options["cache_size"], "eval_count": options["eval_count"], "version": 1}


def _load_cached(folder: Path, key: dict) -> Crops | None:
    try:
        if json.loads((folder / "key.json").read_text(encoding="utf-8")) != key:
            return None
        return Crops(*(np.load(folder / f"{name}.npy", mmap_mode="r") for name in ("depth", "y", "view")))
    except (OSError, ValueError):
        return None


def _save_cached(folder: Path, key: dict, crops: Crops) -> None:
    """Write the arrays, flush them to the disk, then the key: a cache with a key is whole."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "key.json").unlink(missing_ok=True)  # incomplete until the key is written last
    fsync_dir(folder)
    for name in ("depth", "y", "view"):
        with (folder / f"{name}.npy").open("wb") as f:  # streamed: a cache can be GBs, no copy
            np.save(f, getattr(crops, name))
            f.flush()
            os.fsync(f.fileno())
    atomic_write_json(folder / "key.json", key)


def build_cache(run_dir: Path, options: dict,
                progress_factory: ProgressFactory | None = None) -> tuple[Crops, Crops, Crops]:
    """(training, held-out evaluation, calibration) crops of a run, made once into RUN_DIR/cache."""
    out = []
    for part in ("train", "eval", "calib"):
        folder, key = run_dir / "cache" / part, _cache_key(options, part)
        crops = _load_cached(folder, key)
        if crops is None:
            n = {"train": options["cache_size"], "eval": options["eval_count"], "calib": options["eval_count"]}[part]
            bar = progress_factory(total=n, desc=f"caching {part} crops", unit="crop") if progress_factory else None
            tick = bar.update if bar is not None else None
            crops = _make_crops(options, part, tick)
            if bar is not None:
                bar.close()
            _save_cached(folder, key, crops)
            crops = _load_cached(folder, key) or crops
        out.append(crops)
    return out[0], out[1], out[2]


def _make_crops(options: dict, part: str, tick: Callable[[int], None] | None) -> Crops:
    n_train, n_eval = options["cache_size"], options["eval_count"]
    if part == "calib":
        # As many clean simulator crops as are evaluated, from a third seed (for datasets too:
        # the cut is about the generator's silhouettes).
        config = SimConfig(seed=options["seed"] + CALIBRATION_SEED_OFFSET, cameras=tuple(options["cameras"]))
        return sim_crops(config, 0, n_eval, clean=True, progress=tick)
    if options["data"] == "sim":
        if part == "train":
            config = SimConfig(seed=options["seed"], sensors=tuple(options["sensors"]), cameras=tuple(options["cameras"]))
            return sim_crops(config, 0, n_train, progress=tick)
        # Held out: another seed, and always the clean render (the bar is against it).
        config = SimConfig(seed=options["seed"] + EVAL_SEED_OFFSET, cameras=tuple(options["cameras"]))
        return sim_crops(config, 0, n_eval, clean=True, progress=tick)
    crops = dataset_crops(options["data"], n_train + n_eval, progress=tick)
    if len(crops) <= n_eval:
        raise ValueError(f"{options['data']}: only {len(crops)} usable samples, need more than --eval-count {n_eval}")
    sl = slice(0, len(crops) - n_eval) if part == "train" else slice(len(crops) - n_eval, len(crops))
    return Crops(crops.depth[sl], crops.y[sl], crops.view[sl])


# ----------------------------------------------------------------------------------- metrics

def crop_metrics(generated: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Silhouette IoU and foreground MAE (mm) of crops (N, 128, 128) against targets, with the
    definitions of `python main.py evaluate` (engine.eval.metrics), plus the 10th-percentile IoU
    that shows the worst hands while training."""
    iou = silhouette_iou(generated, target)
    return {"iou": nanmean(iou), "iou_p10": float(np.nanpercentile(iou, 10)) if np.isfinite(iou).any() else float("nan"),
            "fg_mae_mm": fg_mae_mm(generated, target), "count": len(generated)}


@torch.no_grad()
def evaluate_generator(model: torch.nn.Module, crops: Crops, device: torch.device, batch: int = 50) -> dict[str, float]:
    """crop_metrics of a generator (eval mode: hardened silhouette) on held-out crops."""
    was_training = model.training
    model.eval()
    out = []
    for i in range(0, len(crops), batch):
        _, y, v = crops.batch(np.arange(i, min(i + batch, len(crops))), device)
        out.append(model(y, v)[:, 0].float().cpu().numpy())
    model.train(was_training)
    return crop_metrics(np.concatenate(out), np.asarray(crops.depth, dtype=np.float32))


@torch.no_grad()
def calibrate_silhouette_cut(model: SkeletonUNet, crops: Crops, device: torch.device,
                             batch: int = 50) -> dict[str, float]:
    """Set the generator's eval-mode silhouette cut from `crops` and return it with its metrics.

    The silhouette (window, fraction, hand maximum) is the CUT_GRID entry with the best IoU
    (ties: lower foreground MAE); then the depth snapping of DEPTH_GRID with the lowest
    foreground MAE (it leaves the silhouette alone).
    """
    was_training = model.training
    model.eval()
    raw = []
    for i in range(0, len(crops), batch):
        _, y, v = crops.batch(np.arange(i, min(i + batch, len(crops))), device)
        raw.append(model.forward_parts(y, v)[0].float())
    raw_all, target = torch.cat(raw), np.asarray(crops.depth, dtype=np.float32)

    def score(*cut: float) -> dict[str, float]:
        model.set_silhouette_cut(*cut)
        return crop_metrics(model.cut_silhouette(raw_all)[:, 0].cpu().numpy(), target)

    best: dict[str, float] | None = None
    for cut in CUT_GRID:
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
    x, y, v = crops.batch(idx, device)
    fake = model(y, v)[:, 0].float().cpu().numpy()
    enc = encode_pose(y, v)[:, :6].amax(1).cpu().numpy()
    model.train(was_training)
    rows = [np.hstack([(np.clip(e, 0, 1) * 255).astype(np.uint8), _gray(f), _gray(t[0])])
            for e, f, t in zip(enc, fake, x.cpu().numpy())]
    return np.vstack(rows)


# ------------------------------------------------------------------------------------ training

def build_models(options: dict) -> tuple[SkeletonUNet, PatchCritic]:
    return (SkeletonUNet(base=options["g_base"], levels=options["g_levels"], full_res=options["g_full"]),
            PatchCritic(base=options["d_base"]))


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
                     {"l2_weight": options["l2_weight"], "l2": "squared Frobenius norm, sum over pixels, mean over batch",
                      "adversarial": "-log D(G(y), y), patch-averaged, mean over batch"},
        "init": options.get("init"), "options": options, "eval": metrics or {},
    }


def gan_step(G: torch.nn.Module, D: torch.nn.Module, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
             scaler_g: torch.amp.GradScaler, scaler_d: torch.amp.GradScaler, x: torch.Tensor, y: torch.Tensor,
             view: torch.Tensor, l2_weight: float = 1.0,
             g_objective: GeneratorObjective | None = None) -> dict[str, float]:
    """One alternating update (D, then G) on a batch: crops x (B, 1, 128, 128), poses, views.

    G minimises `g_objective` when given (a styled run), else the design's adversarial + L2.
    Returns the batch's losses and D's mean probabilities on real and fake crops.
    """
    device = x.device
    with torch.no_grad():
        enc = encode_pose(y, view, size=ENCODING_SIZE).contiguous(memory_format=torch.channels_last)
    x = x.contiguous(memory_format=torch.channels_last)
    with common.autocast(device):
        fake = G(y, view, encoding=enc)
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
            loss_g, adv, l2 = generator_loss(fake_logits, x, fake, l2_weight)
            terms = {"loss_g_adv": adv, "loss_g_l2": l2}
        else:
            loss_g, terms = g_objective(fake_logits, x, fake)
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


def train_gan(run_dir: Path, given: dict, progress_factory: ProgressFactory | None = None,
              stop_after: float | None = None) -> dict:
    """Train (or resume) the GAN run in `run_dir`; returns a summary dict (rank 0's view).

    `given` maps option names (see DEFAULTS) to values, None for "not given". `stop_after`
    (seconds) ends a time-boxed run at the next logged step past it, with a checkpoint there,
    so running again resumes it.
    """
    d = common.setup_distributed(str(given.get("device") or DEFAULTS["device"]))
    try:
        return _train(run_dir, given, d, progress_factory, stop_after)
    finally:
        common.teardown_distributed()


def _train(run_dir: Path, given: dict, d: Dist, progress_factory: ProgressFactory | None,
           stop_after: float | None) -> dict:
    options, resuming = common.run_options(run_dir, given, DEFAULTS, MUTABLE)
    _check_options(options)
    # Everything a run reads from outside is checked before its folder is written.
    style = load_style_target(options) if options["style"] else None
    fresh = not (resuming and (run_dir / STATE_FILE).exists())
    init = read_init(options["init"], build_models(options)[0].config) if options["init"] and fresh else None
    if options["threads"]:
        torch.set_num_threads(int(options["threads"]))
    bar_factory = progress_factory if d.is_main else None
    if d.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        common.remove_stale_temps(run_dir, run_dir / "previews", *(run_dir / "cache").glob("*"))
        common.write_options(run_dir, options)
        build_cache(run_dir, options, bar_factory)
    common.barrier(d)
    train, held_out, calib = build_cache(run_dir, options, None)
    if len(train) < options["batch_size"] * d.world_size:
        raise ValueError(f"only {len(train)} training crops for a batch of {options['batch_size']} x {d.world_size} processes")

    dev = d.device
    torch.manual_seed(int(options["seed"]))  # same initial weights (and spectral-norm vectors) every run
    G, D = build_models(options)
    if init is not None:
        G.load_state_dict(init)
    G, D = G.to(dev).to(memory_format=torch.channels_last), D.to(dev).to(memory_format=torch.channels_last)
    betas = (0.5, 0.999)  # pix2pix / DCGAN's Adam settings for GANs
    opt_g = torch.optim.Adam(G.parameters(), lr=options["lr_g"], betas=betas)
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
    columns = LOG_COLUMNS + STYLE_LOG_COLUMNS if style is not None else LOG_COLUMNS
    run_log = common.RunLog(run_dir, columns, resume_step=step if resuming else None) if d.is_main else None
    objective = StyleObjective(style, loss_config(options), dev) if style is not None else None
    if run_log is not None and style is not None and not resuming:
        run_log.record({"step": 0, "style_target": style.describe()})
    if d.distributed:
        G = DDP(G, device_ids=[dev.index] if dev.type == "cuda" else None)
        D = DDP(D, device_ids=[dev.index] if dev.type == "cuda" else None, broadcast_buffers=False)

    total, batch = int(options["steps"]), int(options["batch_size"])
    per_epoch = len(train) // d.world_size // batch
    bar = bar_factory(total=total, initial=step, desc="train gan", unit="step") if bar_factory else None
    sums: dict[str, float] = {}
    n_sums = 0
    t_start, t_window, n_window = time.monotonic(), time.monotonic(), 0
    summary: dict = {"run_dir": str(run_dir), "resumed_from": step if resuming else None}
    G.train()
    D.train()
    while step < total:
        epoch, j = divmod(step, per_epoch)
        idx = _epoch_indices(len(train), options["seed"], epoch, d)[j * batch:(j + 1) * batch]
        x, y, v = train.batch(idx, dev)
        lr_g = common.cosine_lr(options["lr_g"], step, total)
        lr_d = common.cosine_lr(options["lr_d"], step, total)
        common.set_lr(opt_g, lr_g)
        common.set_lr(opt_d, lr_d)
        losses = gan_step(G, D, opt_g, opt_d, scaler_g, scaler_d, x, y, v, options["l2_weight"], objective)
        step += 1
        n_sums += 1
        n_window += len(x) * d.world_size
        for k, val in losses.items():
            sums[k] = sums.get(k, 0.0) + val
        if bar is not None:
            bar.update(1)
        if d.is_main and (step % options["log_every"] == 0 or step == total):
            now = time.monotonic()
            n = max(1, n_sums)
            row = {"step": step, "epoch": epoch, "time_s": round(elapsed + now - t_start, 2),
                   "lr_g": lr_g, "lr_d": lr_d, **{k: s / n for k, s in sums.items()},
                   "samples_per_s": round(n_window / max(now - t_window, 1e-9), 2)}
            run_log.row(row)
            if bar is not None:
                bar.set_postfix(d=f"{row['loss_d']:.3f}", l2=f"{row['loss_g_l2']:.1f}", adv=f"{row['loss_g_adv']:.2f}")
            t_window, n_window = now, 0
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
                                   held_out, calib, run_log, bar)
            common.barrier(d)
        if stop:
            break
    if bar is not None:
        bar.close()
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
    if o["l2_weight"] < 0:
        raise ValueError(f"--l2-weight must be >= 0, got {o['l2_weight']}")
    check_style_options(o)


def _checkpoint(run_dir: Path, options: dict, step: int, elapsed: float, best: dict,
                G: torch.nn.Module, D: torch.nn.Module, opt_g, opt_d, scaler_g, scaler_d,
                held_out: Crops, calib: Crops, run_log: common.RunLog, bar) -> dict:
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
    if bar is not None:
        bar.write(f"step {step}: held-out IoU {metrics['iou']:.3f}, fg MAE {metrics['fg_mae_mm']:.2f} mm")
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
