"""Plumbing shared by the trainers: processes (torchrun/DDP), run folders, logs, optimiser state.

Generic on purpose (no GAN in here), so every trainer resumes, logs and scales the same way:
- `setup_distributed()` reads torchrun's RANK / WORLD_SIZE / LOCAL_RANK, starts the process group
  (NCCL on CUDA, gloo on CPU) and picks the device; a plain `python` run is a world of one.
- `RunLog` appends rows to RUN_DIR/log.csv and records to RUN_DIR/log.jsonl, and on resume drops
  what was logged after the checkpoint being resumed (and lines a kill cut short), so a log
  never holds a step twice. Trainers log a step before they write its state file.
- `save_state` / `load_state` keep a trainer's whole resume point (weights, optimiser states,
  counters, RNG states) in ONE torch file, written atomically and durably, that holds tensors
  and plain containers only, so it loads with weights_only=True (nothing unpickled). One file
  means a kill at any moment leaves either the previous resume point or the new one.
- `run_options` stores a run's options beside its checkpoints and checks a resume against them.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import math
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist

from engine.io_utils import atomic_write_bytes, atomic_write_json

log = logging.getLogger(__name__)

OPTIONS_FILE = "options.json"
LOG_CSV = "log.csv"
LOG_JSONL = "log.jsonl"


@dataclass(frozen=True)
class Dist:
    """Where this process sits: rank among world_size processes, and its device."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def pick_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    """'auto' → this process's CUDA device when there is one, else the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("--device cuda: no CUDA device is available")
        return torch.device("cuda", local_rank)
    if name != "cpu":
        raise ValueError(f"unknown device {name!r}; use auto, cpu or cuda")
    return torch.device("cpu")


def setup_distributed(device: str = "auto") -> Dist:
    """Join torchrun's process group when launched by it (WORLD_SIZE > 1), else a world of one."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    dev = pick_device(device, local_rank)
    if world > 1 and not dist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return Dist(rank=rank, world_size=world, local_rank=local_rank, device=dev)


def teardown_distributed() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier(d: Dist) -> None:
    if d.distributed:
        dist.barrier()


def broadcast_flag(d: Dist, value: bool) -> bool:
    """Rank 0's value of a flag on every rank (e.g. 'stop now')."""
    if not d.distributed:
        return value
    t = torch.tensor([1 if value else 0], device=d.device if d.device.type == "cuda" else "cpu")
    dist.broadcast(t, src=0)
    return bool(t.item())


def autocast(device: torch.device, enabled: bool = True) -> contextlib.AbstractContextManager:
    """Mixed precision (float16) on CUDA; a no-op elsewhere, so the CPU stays in float32."""
    if enabled and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def grad_scaler(device: torch.device) -> torch.amp.GradScaler:
    """A loss scaler that is active on CUDA only (disabled scalers pass losses through)."""
    return torch.amp.GradScaler("cuda", enabled=device.type == "cuda")


def cosine_lr(base: float, step: int, total: int, floor: float = 0.05) -> float:
    """Cosine decay from base to floor * base over `total` steps (constant after)."""
    frac = min(max(step / max(total, 1), 0.0), 1.0)
    return base * (floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * frac)))


def set_lr(optimiser: torch.optim.Optimizer, lr: float) -> None:
    """Every group at `lr`, times the group's own "lr_scale" where it has one."""
    for group in optimiser.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The module inside a DistributedDataParallel wrapper (or the module itself)."""
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


# ---------------------------------------------------------------- run folder: options and state

def run_options(run_dir: Path, given: Mapping[str, object], defaults: Mapping[str, object],
                mutable: frozenset[str] = frozenset()) -> tuple[dict, bool]:
    """(options, resuming) for a run folder.

    `given` holds the options the user set (None = not given). A new run fills the rest from
    `defaults` and writes RUN_DIR/options.json. An existing run takes its saved options; a given
    option that differs is an error unless it is in `mutable` (e.g. the number of steps), in
    which case the new value is kept and saved.
    """
    path = run_dir / OPTIONS_FILE
    if not path.exists():
        options = {k: (given.get(k) if given.get(k) is not None else v) for k, v in defaults.items()}
        return options, False
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: cannot read the run's options ({e.__class__.__name__})") from None
    options = {**defaults, **saved}
    conflicts = []
    for key, value in given.items():
        if value is None or _same(options.get(key), value):
            continue
        if key in mutable:
            options[key] = value
        else:
            conflicts.append(f"--{key.replace('_', '-')} {_show(value)} (run has {_show(options.get(key))})")
    if conflicts:
        raise ValueError(f"{run_dir} is an existing run with other options: {'; '.join(conflicts)}; "
                         "drop those options to resume it, or use a new --out")
    return options, True


def start_run(run_dir: Path, given: Mapping[str, object], defaults: Mapping[str, object],
              mutable: frozenset[str], check: Callable[[dict], None]) -> tuple[dict, bool]:
    """(options, resuming) of a single-process trainer's run folder, after what every such trainer
    does first: the options checked (`check` raises ValueError), the folder made, a killed run's
    temporary files removed, options.json written, torch's CPU threads set (--threads > 0)."""
    options, resuming = run_options(run_dir, given, defaults, mutable)
    check(options)
    run_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(run_dir)
    write_options(run_dir, options)
    if options["threads"] > 0:
        torch.set_num_threads(int(options["threads"]))
    return options, resuming


def _same(a: object, b: object) -> bool:
    norm = lambda v: list(v) if isinstance(v, (list, tuple)) else v
    return norm(a) == norm(b)


def _show(v: object) -> str:
    return ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)


def write_options(run_dir: Path, options: Mapping[str, object]) -> None:
    atomic_write_json(run_dir / OPTIONS_FILE, dict(options))


def remove_stale_temps(*folders: Path) -> None:
    """Delete the temporary files of atomic writes that a killed process left behind
    (engine.io_utils names them .NAME.XXXXXXXX.tmp); they were never renamed, so never in use."""
    for folder in folders:
        for tmp in folder.glob(".*.tmp") if folder.is_dir() else ():
            tmp.unlink(missing_ok=True)


def save_state(path: Path, state: Mapping[str, object]) -> None:
    """torch.save of tensors and plain containers (optimiser state_dicts, counters), atomically."""
    buf = io.BytesIO()
    torch.save(dict(state), buf)
    atomic_write_bytes(path, buf.getvalue())


def load_state(path: Path, map_location: str | torch.device = "cpu") -> dict:
    """The dict written by save_state, loaded with weights_only=True."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except Exception as e:  # noqa: BLE001 - any unpickling failure is one message
        raise ValueError(f"{path}: not a training state file ({e.__class__.__name__})") from None


# ---------------------------------------------------------------------------------- logs

class RunLog:
    """Training log of one run: CSV rows (fixed columns) and JSON-lines records."""

    def __init__(self, run_dir: Path, columns: tuple[str, ...], resume_step: int | None = None) -> None:
        self.csv_path, self.jsonl_path, self.columns = run_dir / LOG_CSV, run_dir / LOG_JSONL, columns
        if resume_step is None:
            for p in (self.csv_path, self.jsonl_path):
                p.unlink(missing_ok=True)
        else:
            self._truncate_after(resume_step)
        if not self.csv_path.exists():
            buf = io.StringIO()
            csv.writer(buf).writerow(columns)
            atomic_write_bytes(self.csv_path, buf.getvalue().encode("utf-8"))

    def _truncate_after(self, step: int) -> None:
        """Forget rows logged after `step` (they are about to be trained again) and rows a kill
        cut short (wrong field count, unreadable step): the log then holds each step once."""
        if self.csv_path.exists():
            with self.csv_path.open(newline="", encoding="utf-8") as f:
                rows = list(csv.reader(f))
            # The header is written again too: a kill may have cut the first one short.
            keep = [list(self.columns)] + [r for r in rows[1:] if len(r) == len(self.columns) and 0 <= _int(r[0]) <= step]
            buf = io.StringIO()
            csv.writer(buf).writerows(keep)
            atomic_write_bytes(self.csv_path, buf.getvalue().encode("utf-8"))
        if self.jsonl_path.exists():
            lines = self.jsonl_path.read_text(encoding="utf-8", errors="replace").splitlines()
            keep_lines = [ln for ln in lines if 0 <= _int(_json_step(ln)) <= step]
            atomic_write_bytes(self.jsonl_path, "".join(ln + "\n" for ln in keep_lines).encode("utf-8"))

    def row(self, values: Mapping[str, object]) -> None:
        buf = io.StringIO()  # one write per row: a kill leaves at most one partial line
        csv.writer(buf).writerow([_fmt(values.get(c, "")) for c in self.columns])
        with self.csv_path.open("a", newline="", encoding="utf-8") as f:
            f.write(buf.getvalue())
        self.record(values)

    def record(self, record: Mapping[str, object]) -> None:
        with self.jsonl_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(dict(record)) + "\n")

    def records(self) -> Iterator[dict]:
        if self.jsonl_path.exists():
            for ln in self.jsonl_path.read_text(encoding="utf-8").splitlines():
                if ln.strip():
                    yield json.loads(ln)


def _fmt(v: object) -> object:
    return f"{v:.6g}" if isinstance(v, float) else v


def _int(s: object) -> int:
    try:
        return int(s)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return -1


def _json_step(line: str) -> object:
    """The record's step, or None for a line that is not a whole JSON object with an int step."""
    try:
        step = json.loads(line).get("step")
    except (json.JSONDecodeError, AttributeError):
        return None
    return step if isinstance(step, int) and not isinstance(step, bool) else None
