"""A GAN run SIGKILLed 20 times (at random moments and inside its atomic writes) and resumed each
time by the same command ends with exactly the weights of an uninterrupted run.

The reference and the last, finishing run are plain `python main.py train gan ...` processes;
the killed runs are the same command line in children forked by tests/train_kill_child.py (one
torch import for all twenty). Kill moments come from a seeded plan: some at the N-th atomic
write of a file (before or after its rename), the others SIGKILLed by this test a random delay
after a random training step began (those land in steps, evaluations, previews, logging or
writes). Run with -s to see where the kills landed.
"""
from __future__ import annotations

import csv
import json
import os
import random
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from engine.models.checkpoint import read_checkpoint

ROOT = Path(__file__).resolve().parents[1]
HELPER = Path(__file__).with_name("train_kill_child.py")
STEPS = 40
CHECKPOINT_EVERY = 2
KILLS = 20
EVENT_TIMEOUT_S = 300  # only a hung child reaches it
CHECKPOINT_FILES = ("train_state.pt", "generator.safetensors", "generator_best.safetensors")
# Injected kills: (file, highest N of its writes to stop at); each is written by every resumed
# run; the checkpoint's own files are drawn most often.
WRITE_TARGETS = (("train_state.pt", 2), ("train_state.pt", 2), ("train_state.pt", 2),
                 ("generator.safetensors", 2), ("generator.safetensors", 2), ("*", 5),
                 ("options.json", 1), ("log.csv", 1), ("log.jsonl", 1))
WALL_CLOCK_COLUMNS = {"time_s", "samples_per_s"}


def command(run: Path) -> list[str]:
    return ["train", "gan", "--data", "sim", "--out", str(run), "--steps", str(STEPS), "--seed", "5",
            "--g-base", "4", "--g-levels", "2", "--g-full", "4", "--d-base", "4", "--batch-size", "2",
            "--cache-size", "8", "--eval-count", "2", "--checkpoint-every", str(CHECKPOINT_EVERY), "--preview-every", "3",
            "--log-every", "1", "--threads", "1", "--no-progress"]


def run_main(args: list[str]) -> None:
    done = subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=EVENT_TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stderr[-3000:]


def kill_plan(step_s: float) -> list[dict]:
    """The first kill cuts the cache build, the second the first best-G export, the third the
    resume's log truncation between its two files; then a seeded mix of injected write kills
    and random-moment kills."""
    rng = random.Random(20240612)
    plan = [{"kill": {"file": "key.json", "nth": 1, "when": "before"}},
            {"kill": {"file": "generator_best.safetensors", "nth": 1, "when": "after"}},
            {"kill": {"file": "log.jsonl", "nth": 1, "when": "before"}}]
    rest = KILLS - len(plan)
    kinds = ["moment"] * (rest // 2) + ["write"] * (rest - rest // 2)
    rng.shuffle(kinds)
    for kind in kinds:
        if kind == "write":
            name, most = rng.choice(WRITE_TARGETS)
            plan.append({"kill": {"file": name, "nth": rng.randint(1, most),
                                  "when": rng.choice(("before", "after"))}})
        else:
            plan.append({"kill": None, "after_steps": rng.randint(1, 3), "delay_s": rng.uniform(0.0, 1.5) * step_s})
    return plan


class ForkServer:
    """tests/train_kill_child.py: one command at a time, in a forked child this test may kill."""

    def __init__(self, stderr_path: Path) -> None:
        self.stderr_path, self.stderr = stderr_path, stderr_path.open("wb")
        self.proc = subprocess.Popen([sys.executable, str(HELPER)], cwd=ROOT, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.proc.stdout, selectors.EVENT_READ)
        self.buffer, self.child = b"", None
        try:
            assert self.next_line(EVENT_TIMEOUT_S) == "ready", self.stderr_tail()
        except BaseException:
            self.proc.kill()
            self.close()
            raise

    def next_line(self, timeout: float) -> str | None:
        """The helper's next line, or None when none came within `timeout` seconds."""
        while b"\n" not in self.buffer:
            if not self.selector.select(timeout):
                return None
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            assert chunk, f"the helper ended: {self.stderr_tail()}"
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()

    def run(self, argv: list[str], kill: dict | None, after_steps: int = 0, delay_s: float = 0.0) -> int:
        """The child's exit status; with after_steps, SIGKILL it delay_s after that step began."""
        self.proc.stdin.write((json.dumps({"argv": argv, "kill": kill}) + "\n").encode())
        self.proc.stdin.flush()
        steps, deadline = 0, None
        while True:
            wait = EVENT_TIMEOUT_S if deadline is None else max(0.0, deadline - time.monotonic())
            line = self.next_line(wait)
            if line is None:
                assert deadline is not None, f"no word from the child: {self.stderr_tail()}"
                os.kill(self.child, signal.SIGKILL)  # the random moment came before the end
                deadline = None
            elif line.startswith("pid "):
                self.child = int(line.split()[1])
            elif line == "step":
                steps += 1
                if steps == after_steps:
                    deadline = time.monotonic() + delay_s
            elif line.startswith("exit "):
                self.child = None
                return int(line.split()[1])

    def stderr_tail(self) -> str:
        return self.stderr_path.read_text(errors="replace")[-3000:]

    def close(self) -> None:
        if self.child is not None:
            os.kill(self.child, signal.SIGKILL)
        self.proc.stdin.close()
        self.proc.wait(timeout=EVENT_TIMEOUT_S)
        self.selector.close()
        self.proc.stdout.close()
        self.stderr.close()


def assert_same(a: object, b: object, where: str) -> None:
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for k in a:
            assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def state_step(run: Path) -> int:
    return int(torch.load(run / "train_state.pt", weights_only=True)["step"])


def read_log(run: Path) -> tuple[list[dict], list[dict]]:
    with (run / "log.csv").open(newline="") as f:
        rows = [{k: v for k, v in r.items() if k not in WALL_CLOCK_COLUMNS} for r in csv.DictReader(f)]
    evals = [{"step": r["step"], "eval": r["eval"], "cut": r["silhouette_cut"]}
             for r in map(json.loads, (run / "log.jsonl").read_text().splitlines()) if "eval" in r]
    return rows, evals


def test_twenty_kills_resume_to_the_uninterrupted_weights(tmp_path):
    reference, run = tmp_path / "reference", tmp_path / "killed"
    run_main(command(reference))
    with (reference / "log.csv").open(newline="") as f:
        step_s = float(list(csv.DictReader(f))[-1]["time_s"]) / STEPS  # to place kills, not a check

    server = ForkServer(tmp_path / "helper_stderr.txt")
    landed = {"write": 0, "checkpoint write": 0, "random moment": 0, "random, inside a checkpoint write": 0}
    try:
        for i, spec in enumerate(kill_plan(step_s)):
            rc = server.run(command(run), spec["kill"], spec.get("after_steps", 0), spec.get("delay_s", 0.0))
            assert rc == -signal.SIGKILL, f"kill {i} {spec} did not happen (exit {rc}): {server.stderr_tail()}"
            if spec["kill"]:
                landed["write"] += 1
                landed["checkpoint write"] += spec["kill"]["file"] in CHECKPOINT_FILES
            else:
                landed["random moment"] += 1
                left = [p.name for p in run.glob(".*.tmp")]
                landed["random, inside a checkpoint write"] += any(p.startswith(f".{n}.") for p in left for n in CHECKPOINT_FILES)
        resumed_at = state_step(run)
        assert 0 < resumed_at < STEPS, "the kills left nothing to resume"
        # One more: train to the end, die before the last generator export. The state file is
        # then final and the product stale: only the resume's export can make them agree.
        last_export = 1 + (STEPS - resumed_at) // CHECKPOINT_EVERY  # the resume's own export first
        rc = server.run(command(run), {"file": "generator.safetensors", "nth": last_export, "when": "before"})
        assert rc == -signal.SIGKILL, server.stderr_tail()
    finally:
        server.close()
    print(f"\n{KILLS} kills {landed} left step {resumed_at} of {STEPS}; "
          "then 1 more kill before the last generator export")
    assert state_step(run) == STEPS and read_checkpoint(run / "generator.safetensors")[3]["step"] < STEPS
    run_main(command(run))

    mine, theirs = (torch.load(r / "train_state.pt", weights_only=True) for r in (run, reference))
    for key in ("step", "best", "generator", "discriminator", "opt_g", "opt_d", "scaler_g", "scaler_d"):
        assert_same(mine[key], theirs[key], key)
    for name in ("generator.safetensors", "generator_best.safetensors"):
        assert_same(load_file(run / name), load_file(reference / name), name)
    assert read_log(run) == read_log(reference)  # every step once, with the same losses and evaluations
    for png in sorted((reference / "previews").glob("*.png")):
        assert (run / "previews" / png.name).read_bytes() == png.read_bytes(), png.name
    assert not list(run.rglob("*.tmp")), "a killed write's temporary file was left behind"
