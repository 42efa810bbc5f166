"""Train the pose estimator (engine.models.pose_net) on simulator crops; resumable.

Data: the sim stream with clean and noisy sensors mixed, so the estimator and its features hold
on both the renderer's clean depth and a sensor's (and, later, a generator's) output. The first
`cache_size` samples are rendered once into the run folder (engine.data.crop_bank) and
batches are drawn from them. With `data` a reader spec (e.g. own:DIR, a `dataset` folder), the
first `cache_size` of its samples are cropped by the same convention instead (read again on a
resume: the readers are deterministic); the held-out report stays on the sim stream.

Run folder (plumbing from engine.train.common, shared with the GAN trainer):
    options.json               the run's options (so a checkpoint explains itself; checked on resume)
    cache/                     the rendered crops (memory-mapped .npy)
    train_state.pt             weights + Adam state + step + RNG states, one weights_only torch
                               file replaced atomically: the resume point (a kill leaves the
                               previous one or the new one)
    pose_estimator.safetensors the model alone, loadable by engine.models.checkpoint.load_model
    log.csv, log.jsonl         step, loss_mm, lr, images_per_s, wall_s
    metrics.json               held-out error per sensor, written when training ends

Step s's batch is drawn from np.random.default_rng([seed, s]), so a resumed run sees the same
batches an uninterrupted one would have; a step logs before it checkpoints, and a resume drops
the log lines after its step. metrics.json and the exported model are written after the last
step from the final state, so a kill during them is repaired by running the command again.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from engine.seeds import TEST_SEED, check_not_test_seed
from engine.data.crop_bank import open_bank
from engine.eval.estimator import held_out_pose_error
from engine.eval.metrics import HALF_CUBE_MM
from engine.io_utils import atomic_write_json
from engine.models.checkpoint import read_checkpoint, save_checkpoint
from engine.models.pose_net import ARCHITECTURE, VGG19_BLOCK_CONVS, VGG19_LAYERS, PoseNet, fold_batch_norm
from engine.sim.sensors import SENSOR_NAMES
from engine.train.common import (
    RunLog,
    cosine_lr,
    load_state,
    pick_device,
    remove_stale_temps,
    run_options,
    save_state,
    set_lr,
    write_options,
)
from engine.data.crop_cache import dataset_crops
from engine.data.readers import open_dataset
from engine.train.options import from_json
from engine.progress import Progress, silent
from engine.train.pose_options import MODEL_FILE, MUTABLE, PoseTrainConfig
from engine.train.rng import restore_rng_state, rng_state

STATE_FILE = "train_state.pt"
LOG_COLUMNS = ("step", "loss_mm", "lr", "images_per_s", "wall_s")

# Linear warm-up, then cosine decay to FINAL_LR_FRACTION of the peak (Loshchilov & Hutter,
# SGDR, ICLR 2017): warm-up tames Adam's first large steps on a plain (no batch norm) deep net.
WARMUP_STEPS = 100
FINAL_LR_FRACTION = 0.02

# A checkpoint every CHECKPOINT_EVERY steps, and at least every CHECKPOINT_SECONDS of training
# on a slow or shared CPU, so a kill loses minutes, not a quarter of an hour. When it happens does
# not change the result: step s's batch depends on s alone and the RNG states are saved.
CHECKPOINT_EVERY = 250
CHECKPOINT_SECONDS = 180.0
LOG_EVERY = 25


def lr_at(step: int, config: PoseTrainConfig) -> float:
    if step < WARMUP_STEPS:
        return config.lr * (step + 1) / WARMUP_STEPS
    return cosine_lr(config.lr, step - WARMUP_STEPS, config.steps - WARMUP_STEPS, floor=FINAL_LR_FRACTION)


def joint_distance_loss(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean Euclidean joint distance (the reported metric itself), skipping NaN targets."""
    valid = torch.isfinite(y).all(dim=-1)
    diff = torch.where(valid[..., None], pred - torch.nan_to_num(y), torch.zeros_like(pred))
    # eps keeps the gradient of the norm finite at a perfect prediction.
    dist = torch.sqrt((diff * diff).sum(dim=-1) + 1e-8)
    return (dist * valid).sum() / valid.sum().clamp(min=1)


def read_init(path: str | Path, config: PoseTrainConfig) -> dict[str, torch.Tensor]:
    """The weights a run given --init starts from: the exported pose estimator's VGG-19 trunk
    (`features.*`), checked to fit the run's network (ValueError otherwise), and its head's
    tensors where the run's head has one of the same name and shape. Read before anything is
    rendered or written.

    Why a trunk: a new head or objective need not learn depth features from scratch on a CPU
    budget. Why the head where it fits: a longer schedule or a 32 x 32 refinement
    (engine.models.integral_head) then continues from the estimator instead of a fresh head.
    With batch norm, each conv gets the saved weights and its batch norm starts as identity.
    """
    weights, arch, saved, _ = read_checkpoint(path)
    if arch != ARCHITECTURE:
        raise ValueError(f"{path}: a {arch} checkpoint, not a pose estimator (--init needs one)")
    if list(saved.get("widths", [])) != list(config.widths) or saved.get("in_channels", 1) != 1:
        raise ValueError(f"{path}: trunk widths {saved.get('widths')} differ from the run's {list(config.widths)}")
    if saved.get("batch_norm"):
        raise ValueError(f"{path}: an unfolded (batch-norm) estimator; --init needs an exported one")
    own = PoseNet(**config.model_config()).state_dict()
    trunk = {k: v for k, v in weights.items() if k.startswith("features.")}
    expected = {k for k in own if k.startswith("features.") and ".bn." not in k}
    if expected - set(trunk):
        raise ValueError(f"{path}: its trunk lacks {sorted(expected - set(trunk))[0]}")
    head = {k: v for k, v in weights.items()
            if not k.startswith("features.") and k in own and own[k].shape == v.shape}
    return {**trunk, **head}


def freeze_blocks(model: PoseNet, blocks: int) -> None:
    """Freeze the trunk's first `blocks` blocks: no parameter gradients and, as the crop needs
    none either, no backward pass through them (their batch norms, if any, in eval mode)."""
    end = VGG19_LAYERS[f"pool{blocks}"] + 1 if blocks else 0
    model.features[:end].requires_grad_(False).eval()


def resolve_options(out: Path, given: Mapping[str, object]) -> tuple[PoseTrainConfig, bool]:
    """(config, resuming): a new run's options from `given` (None = default), or a saved run's."""
    defaults = PoseTrainConfig().to_json()
    unknown = set(given) - set(defaults)
    if unknown:
        raise ValueError(f"unknown pose training option {sorted(unknown)[0]!r}")
    options, resuming = run_options(out, given, defaults, mutable=MUTABLE)
    return from_json(PoseTrainConfig, options), resuming


def train_pose(out: str | Path, given: Mapping[str, object] | None = None, device: str = "auto",
               progress: Progress = silent) -> dict:
    """Train (or resume) the run in `out`; returns the held-out metrics written to metrics.json.

    `given`: the options the caller set (PoseTrainConfig's fields; None or absent = default, or
    the saved run's value when resuming). `progress` (engine.progress) counts the stages
    "cache", "train" and "eval".
    """
    out = Path(out)
    config, resuming = resolve_options(out, given or {})
    check_not_test_seed(config.seed, "pose training")
    if config.steps < 1 or config.batch < 1 or config.cache_size < config.batch:
        raise ValueError("steps and batch must be at least 1, and cache_size at least batch")
    if not 0 <= config.freeze <= len(VGG19_BLOCK_CONVS):
        raise ValueError(f"--freeze counts trunk blocks: 0 to {len(VGG19_BLOCK_CONVS)}, got {config.freeze}")
    if config.heatmap != 16 and config.head != "integral":
        raise ValueError(f"--heatmap {config.heatmap} needs --head integral (the fc head has no heatmaps)")
    # Only a run that starts now takes --init (a resume takes its state file); checked up front.
    init = read_init(config.init, config) if config.init and not (out / STATE_FILE).exists() else None
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out)
    write_options(out, config.to_json())
    dev = pick_device(device)

    if config.data == "sim":
        bank = open_bank(out / "cache", config.sim_config(), config.cache_size,
                         progress=lambda d, n: progress("cache", d, n, {}))
    else:
        # The estimator learns the labels themselves: a fitted joint is not a measurement.
        bank = dataset_crops(open_dataset(config.data), config.cache_size, config.data, completed=False)
        if len(bank) < config.batch:
            raise ValueError(f"{config.data}: {len(bank)} usable samples, fewer than --batch {config.batch}")

    torch.manual_seed(config.seed)
    model = PoseNet(**config.model_config()).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    step, wall_s = 0, 0.0
    state_path = out / STATE_FILE
    if resuming and state_path.exists():
        state = load_state(state_path, map_location=dev)
        try:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimiser"])
            step, wall_s = int(state["step"]), float(state["wall_s"])
        except (KeyError, TypeError, RuntimeError) as e:
            raise ValueError(f"{state_path}: not a state file of this run ({e.__class__.__name__})") from None
        if "rng" in state:  # older runs have none
            restore_rng_state(state["rng"])
    elif init is not None:  # a new run (or one killed before its first checkpoint)
        model.load_state_dict(init, strict=False)
    log = RunLog(out, LOG_COLUMNS, resume_step=step if resuming else None)

    def checkpoint() -> None:
        save_state(state_path, {"model": model.state_dict(), "optimiser": opt.state_dict(),
                                "step": step, "wall_s": wall_s, "rng": rng_state()})

    model.train()
    freeze_blocks(model, config.freeze)
    window_loss, window_n, window_t = 0.0, 0, time.perf_counter()
    saved_at = wall_s
    progress("train", step, config.steps, {})
    while step < config.steps:
        t0 = time.perf_counter()
        idx = np.sort(np.random.default_rng([config.seed, step]).choice(
            len(bank), size=config.batch, replace=False))
        x = torch.from_numpy(bank.depth[idx].astype(np.float32)).unsqueeze(1).to(dev)
        y = torch.from_numpy(np.asarray(bank.y[idx], dtype=np.float32)).to(dev)
        lr = lr_at(step, config)
        set_lr(opt, lr)
        loss = joint_distance_loss(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        wall_s += time.perf_counter() - t0
        window_loss += float(loss.detach()) * HALF_CUBE_MM
        window_n += 1
        if step % LOG_EVERY == 0 or step == config.steps:
            now = time.perf_counter()
            stats = {"step": step, "loss_mm": window_loss / window_n, "lr": lr,
                     "images_per_s": window_n * config.batch / max(now - window_t, 1e-9),
                     "wall_s": round(wall_s, 1)}
            log.row(stats)
            progress("train", step, config.steps, stats)
            window_loss, window_n, window_t = 0.0, 0, now
        if step % CHECKPOINT_EVERY == 0 or step == config.steps or wall_s - saved_at >= CHECKPOINT_SECONDS:
            checkpoint()
            saved_at = wall_s

    model = fold_batch_norm(model.eval())
    errors = held_out_pose_error(model, config.eval_count, sensors=SENSOR_NAMES,
                                 progress=lambda d, n: progress("eval", d, n, {}))
    metrics = {"held_out_seed": TEST_SEED, "eval_count_per_sensor": config.eval_count,
               "pose_error_mm": errors, "steps": step, "train_wall_s": round(wall_s, 1),
               "device": dev.type, "threads": torch.get_num_threads()}
    atomic_write_json(out / "metrics.json", metrics)
    info = {"trained_by": "python main.py train pose", "options": config.to_json(), "metrics": metrics,
            "input": "crop convention (engine.data.crop): 1x128x128 in [-1, 1], background +1",
            "output": "pose y (21, 3) in cube half-sides"}
    save_checkpoint(out / MODEL_FILE, model.cpu(), model.config, info)
    return metrics
