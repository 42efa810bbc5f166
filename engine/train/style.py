"""Train the real-time style stage (engine.models.style_net) over a large bank of styles.

Styles (one per batch item):
  simulated  a randomised sensor theta (engine.style.random_sensor): the style image is one
             clean crop through theta, the training pair another pose's clean crop and the same
             theta's output of it. Supervised: hole BCE on the content's measured pixels, and
             the Gaussian NLL of theta's depth error under the predicted noise std.
  real       a crop of a real frame (shared/data/real_depth_samples: SR305, NYU Kinect v1),
             jittered, with probability real_share. Unpaired: no per-pixel truth, so only the
             hole rates (edge band, interior) are pulled to the frame's own, and L_ST.
Every item also gets the design's L_ST (engine.style.losses: content relu4_2, Gram relu1_1 ..
relu5_1 against its own style crop, TV) on the pose-trunk features, applied to the expected
output: the content with the holes composited towards background by their probability and the
noise drawn once per step. Its VGG pass costs ~4x the rest of a step on a CPU, so it
runs every st_every steps with its weight scaled by st_every (the same weight on average).
`exclude` leaves a real sensor's frames out (leave-one-out).

Run folder: options.json, style_stage.safetensors (the last checkpoint, loadable as is),
train_state.pt (optimiser, step, wall time), log.csv + log.jsonl. The same command on an
existing folder resumes; every step's randomness comes from (seed, step), so a resumed run
draws what an uninterrupted one would have.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.camera import Camera
from engine.data.crop import crop_camera
from engine.data.readers.sim import SimConfig, crop_sample
from engine.models.checkpoint import save_checkpoint, load_model
from engine.models.style_net import StyleStage
from engine.models.vgg import load_pose_trunk
from engine.sim.sensor_match import read_style_image
from engine.style.compose import RESIDUAL_MAX_MM
from engine.style.learned import crop_to_mm
from engine.style.losses import StyleLossConfig, StyleTransferLoss, gram_matrix
from engine.style.random_sensor import apply_params, random_params
from engine.style.stats import edge_band
from engine.style.style_crop import HALF_CUBE_MM, StyleCrop, style_crop
from engine.train import common
from engine.train.style_options import DEFAULTS, MUTABLE, REAL_SOURCES

REAL_SAMPLES_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "real_depth_samples"
# Where each real sensor's frames are, and their unit (the samples' README: SR305 mm = raw / 8).
REAL_FRAMES = {"sr305": ("sr305/*/*.png", 0.125), "nyu": ("nyu/*.png", None)}
STAGE_FILE, STATE_FILE = "style_stage.safetensors", "train_state.pt"
LOG_COLUMNS = ("step", "time_s", "lr", "loss", "hole_bce", "noise_nll", "rate", "l_st", "samples_per_s")
NOISE_FLOOR_MM = 0.05  # the NLL's std floor: a clean pixel's error is exactly 0
JITTER_PX, ZOOM = 6.0, (0.9, 1.1)  # real style crops are jittered so a frame is many styles
HOLE_WEIGHT, NOISE_WEIGHT, RATE_WEIGHT = 1.0, 0.2, 5.0

ProgressFactory = Callable[..., object]


@dataclass
class Content:
    """A clean training crop: mm, normalised, its camera and hand masks."""

    mm: np.ndarray
    norm: np.ndarray
    camera: Camera
    band: np.ndarray
    interior: np.ndarray


def real_frames(exclude: list[str], root: Path = REAL_SAMPLES_DIR) -> list[tuple[str, np.ndarray]]:
    """(source, depth mm) of every real frame not excluded; a frame without a hand is skipped."""
    out = []
    for source, (pattern, scale) in REAL_FRAMES.items():
        if source in exclude:
            continue
        for path in sorted(root.glob(pattern)):
            depth = read_style_image(path, scale).depth
            try:
                style_crop(depth)
            except ValueError:
                continue
            out.append((f"{source}:{path.relative_to(root)}", depth))
    return out


def make_contents(seed: int, count: int) -> list[Content]:
    cfg = SimConfig(seed=seed)
    out = []
    for i in range(count):
        s = crop_sample(cfg, i)
        mm = crop_to_mm(s.clean, float(s.transform.centre[2]))
        mask = mm > 0
        band = edge_band(mask)
        out.append(Content(mm, s.clean, crop_camera(s.transform), band, mask & ~band))
    return out


@dataclass
class Batch:
    x: torch.Tensor
    style: torch.Tensor
    stats: torch.Tensor
    holes: torch.Tensor  # hole truth (simulated items)
    hole_where: torch.Tensor  # content pixels with truth
    error: torch.Tensor  # theta's depth error, mm (clipped)
    error_where: torch.Tensor
    band: torch.Tensor
    interior: torch.Tensor
    rate_target: torch.Tensor  # (B, 2) edge and interior hole rates of real items
    real: torch.Tensor  # (B,) 1 for a real item


def _t(arrays: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(arrays).astype(np.float32))[:, None]


def make_batch(rng: np.random.Generator, contents: list[Content], reals: list[tuple[str, np.ndarray]],
               size: int, real_share: float) -> Batch:
    xs, styles, stats, holes, hw, err, ew, bands, ints, rates, real = ([] for _ in range(11))
    for _ in range(size):
        c = contents[rng.integers(len(contents))]
        zero = np.zeros_like(c.mm)
        if reals and rng.random() < real_share:
            _, frame = reals[rng.integers(len(reals))]
            crop = style_crop(frame, tuple(rng.uniform(-JITTER_PX, JITTER_PX, 2)), rng.uniform(*ZOOM))
            holes.append(zero), hw.append(zero), err.append(zero), ew.append(zero)
            rates.append([crop.stats.edge_hole_ratio, crop.interior_hole_ratio]), real.append(1.0)
        else:
            crop, target = _simulated(rng, contents, c)
            valid = c.mm > 0
            both = valid & (target > 0)
            holes.append((valid & (target <= 0)).astype(np.float32)), hw.append(valid.astype(np.float32))
            err.append(np.clip(np.where(both, target - c.mm, 0.0), -RESIDUAL_MAX_MM, RESIDUAL_MAX_MM))
            ew.append(both.astype(np.float32)), rates.append([0.0, 0.0]), real.append(0.0)
        xs.append(c.norm), styles.append(crop.norm), stats.append(crop.features())
        bands.append(c.band.astype(np.float32)), ints.append(c.interior.astype(np.float32))
    return Batch(_t(xs), _t(styles), torch.from_numpy(np.stack(stats)), _t(holes), _t(hw), _t(err),
                 _t(ew), _t(bands), _t(ints), torch.tensor(rates, dtype=torch.float32),
                 torch.tensor(real, dtype=torch.float32))


def _simulated(rng: np.random.Generator, contents: list[Content], c: Content) -> tuple[StyleCrop, np.ndarray]:
    """A random theta's style crop (from another pose) and its output on content c."""
    while True:
        theta = random_params(rng)
        other = contents[rng.integers(len(contents))]
        try:
            crop = style_crop(apply_params(other.mm, other.camera, theta, rng))
        except ValueError:
            continue  # theta dropped the whole hand: draw another
        return crop, apply_params(c.mm, c.camera, theta, rng)


def losses(model: StyleStage, st_loss: StyleTransferLoss | None, b: Batch,
           gen: torch.Generator) -> dict[str, torch.Tensor]:
    """The loss terms of one batch; L_ST only when `st_loss` is given (0 otherwise)."""
    code = model.encode(b.style, b.stats)
    logit, noise = model(b.x, code)
    sup = b.hole_where
    hole_bce = (F.binary_cross_entropy_with_logits(logit, b.holes, reduction="none") * sup).sum() / sup.sum().clamp_min(1)
    sigma = noise + NOISE_FLOOR_MM
    nll = torch.log(sigma) + b.error ** 2 / (2 * sigma ** 2)
    noise_nll = (nll * b.error_where).sum() / b.error_where.sum().clamp_min(1)
    p = torch.sigmoid(logit)
    rate_e = (p * b.band).sum((1, 2, 3)) / b.band.sum((1, 2, 3)).clamp_min(1)
    rate_i = (p * b.interior).sum((1, 2, 3)) / b.interior.sum((1, 2, 3)).clamp_min(1)
    rate = (b.real * ((rate_e - b.rate_target[:, 0]) ** 2 + (rate_i - b.rate_target[:, 1]) ** 2)).sum() \
        / b.real.sum().clamp_min(1)
    if st_loss is None:
        return {"hole_bce": hole_bce, "noise_nll": noise_nll, "rate": rate, "l_st": torch.zeros(())}
    hand = (b.x < 1.0).float()
    n = torch.randn(b.x.shape, generator=gen)
    out = (1 - p * hand) * (b.x + hand * noise * n / HALF_CUBE_MM).clamp(-1, 1) + p * hand
    with torch.no_grad():
        feats = st_loss.extractor(b.style, st_loss.config.style_layers)
        grams = {k: gram_matrix(f) for k, f in feats.items()}
    l_st = st_loss(out, b.x, grams).total
    return {"hole_bce": hole_bce, "noise_nll": noise_nll, "rate": rate, "l_st": l_st}


def train_style(run_dir: Path, given: dict, progress_factory: ProgressFactory | None = None,
                stop_after: float | None = None) -> dict:
    """Train (or resume) a run; returns {step, wall_s, finished}."""
    run_dir = Path(run_dir)
    opts, resuming = common.run_options(run_dir, given, DEFAULTS, MUTABLE)
    bad = [s for s in opts["exclude"] if s not in REAL_SOURCES]
    if bad:
        raise ValueError(f"--exclude {bad[0]!r}: not a real source ({', '.join(REAL_SOURCES)})")
    if opts["steps"] < 1 or opts["batch_size"] < 1 or opts["cache_size"] < 2:
        raise ValueError("--steps and --batch-size must be at least 1, --cache-size at least 2")
    if opts["threads"]:
        torch.set_num_threads(int(opts["threads"]))
    run_dir.mkdir(parents=True, exist_ok=True)
    common.write_options(run_dir, opts)
    torch.manual_seed(opts["seed"])
    arch = {k: int(opts[k]) for k in ("width", "full_width", "code", "encoder_width")}
    model = StyleStage(**arch)
    optimiser = torch.optim.Adam(model.parameters(), lr=opts["lr"])
    step, wall = 0, 0.0
    if resuming and (run_dir / STATE_FILE).exists():
        loaded, _, _ = load_model(run_dir / STAGE_FILE)
        model.load_state_dict(loaded.state_dict())
        state = common.load_state(run_dir / STATE_FILE)
        optimiser.load_state_dict(state["optimiser"])
        step, wall = int(state["step"]), float(state["wall_s"])
    model.train()
    run_log = common.RunLog(run_dir, LOG_COLUMNS, resume_step=step if resuming else None)
    reals = real_frames(list(opts["exclude"]))
    contents = make_contents(opts["seed"], int(opts["cache_size"]))
    st_loss = StyleTransferLoss(load_pose_trunk(), StyleLossConfig())
    info = {"options": opts, "training_data": {
        "sim_seed": opts["seed"], "sim_crops": len(contents), "styles": "randomised sensor models "
        "(engine.style.random_sensor) + real frames", "real_frames": [name for name, _ in reals],
        "excluded": list(opts["exclude"])}}

    def checkpoint() -> None:
        save_checkpoint(run_dir / STAGE_FILE, model, arch, {**info, "step": step, "wall_s": round(wall, 1)})
        common.save_state(run_dir / STATE_FILE, {"optimiser": optimiser.state_dict(), "step": step, "wall_s": wall})

    bar = progress_factory(total=opts["steps"], initial=step, desc="train style") if progress_factory else None
    started, t_log, n_log = time.monotonic(), time.monotonic(), 0
    base_wall = wall
    last_st = float("nan")  # L_ST runs every st_every steps; the log shows its latest value
    while step < opts["steps"]:
        rng = np.random.default_rng([opts["seed"], step])
        gen = torch.Generator().manual_seed(int(rng.integers(2 ** 31)))
        batch = make_batch(rng, contents, reals, int(opts["batch_size"]), float(opts["real_share"]))
        lr = common.cosine_lr(opts["lr"], step, opts["steps"])
        common.set_lr(optimiser, lr)
        with_st = step % opts["st_every"] == 0
        terms = losses(model, st_loss if with_st else None, batch, gen)
        total = (HOLE_WEIGHT * terms["hole_bce"] + NOISE_WEIGHT * terms["noise_nll"]
                 + RATE_WEIGHT * terms["rate"] + opts["st_weight"] * opts["st_every"] * terms["l_st"])
        if not torch.isfinite(total):
            raise ValueError(f"training diverged at step {step} (loss {total.item()})")
        optimiser.zero_grad(set_to_none=True)
        total.backward()
        optimiser.step()
        if with_st:
            last_st = terms["l_st"].item()
        step += 1
        n_log += 1
        wall = base_wall + time.monotonic() - started
        if bar is not None:
            bar.update(1)
        if step % opts["log_every"] == 0 or step == opts["steps"]:
            now = time.monotonic()
            run_log.row({"step": step, "time_s": round(wall, 1), "lr": lr, "loss": total.item(),
                         **{k: v.item() for k, v in terms.items()}, "l_st": last_st,
                         "samples_per_s": n_log * opts["batch_size"] / max(now - t_log, 1e-9)})
            t_log, n_log = now, 0
        stop = stop_after is not None and time.monotonic() - started >= stop_after
        if step % opts["checkpoint_every"] == 0 or step == opts["steps"] or stop:
            checkpoint()
        if stop:
            break
    if bar is not None:
        bar.close()
    return {"step": step, "wall_s": wall, "finished": step >= opts["steps"]}
