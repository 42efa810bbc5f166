"""Every `python main.py ...` command line in README.md runs as written (issue 12, section 3).

The commands are extracted from README.md's inline code spans, so a new or changed line is
tested without editing this file. Each runs in a subprocess in tmp_path (so relative outputs
such as `out/` and `runs/g` land there), as written, plus only the options below that make it
small: they shrink counts and sizes, never change what the command does.
  - the desktop app (`python main.py` alone) and `screenshot` need a display and a window;
    they are covered by tests/app and skipped here;
  - `--pose my_pose.json` gets a my_pose.json (the fist preset) in tmp_path;
  - `train gan`/`train pose`: 2 steps on a 16-crop cache (their full runs take an hour);
  - `evaluate`: 4 poses against an 8-image baseline bank cached in tmp_path;
  - `bench`: 20 poses per measurement; `dataset`: 4 samples; `stylize`: 2 steps;
    `train style`: 2 steps of 2 styles;
  - paths under `resources/` are the repository's (the README is read from its root).
"""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPAN = re.compile(r"`(python main\.py[^`]*)`")
NEEDS_A_WINDOW = ("screenshot",)
SMALLER: dict[str, list[str]] = {
    "train gan": ["--steps", "2", "--batch-size", "4", "--cache-size", "16", "--eval-count", "4",
                  "--g-base", "4", "--g-levels", "2", "--g-full", "4", "--d-base", "4", "--no-progress"],
    "train pose": ["--steps", "2", "--batch", "4", "--cache-size", "16", "--eval-count", "4"],
    "evaluate": ["--count", "4", "--bank-size", "8", "--cache-dir", "cache"],
    "bench": ["--count", "20"],
    "dataset": ["--count", "4"],
    "stylize": ["--steps", "2"],
    "train style": ["--steps", "2", "--batch-size", "2", "--cache-size", "8", "--no-progress"],
}


def readme_commands() -> list[str]:
    return sorted(set(SPAN.findall((ROOT / "README.md").read_text(encoding="utf-8"))))


def subcommand(argv: list[str]) -> str:
    words = [a for a in argv[:2] if not a.startswith("-")]
    return " ".join(words[:2]) if words[:1] == ["train"] else (words[0] if words else "")


def test_the_readme_has_commands():
    commands = readme_commands()
    assert len(commands) >= 8 and any("evaluate" in c for c in commands)


@pytest.mark.parametrize("line", readme_commands())
def test_readme_command_runs(line, tmp_path):
    argv = shlex.split(line)[2:]  # after "python main.py"
    name = subcommand(argv)
    if not argv or name in NEEDS_A_WINDOW:
        pytest.skip("opens a window: covered by tests/app")
    if "my_pose.json" in argv:
        shutil.copy(ROOT / "resources/poses/fist.json", tmp_path / "my_pose.json")
    argv = [str(ROOT / a) if a.startswith("resources/") else a for a in argv]
    extra = SMALLER.get(name, [])
    # an option the README sets itself keeps the README's value, except counts made smaller
    argv = [a for i, a in enumerate(argv) if not (a == "--count" or (i and argv[i - 1] == "--count"))] + extra
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), *argv], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, f"{line}\n{r.stderr[-2000:]}"
    assert "Traceback" not in r.stderr
