"""engine.process_memory: with the settings, freeing and allocating frame-sized arrays reuses
the heap's pages instead of faulting in fresh ones (counted by the kernel, not timed)."""
from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import resource, sys
import numpy as np
if sys.argv[1] == "keep":
    from engine.process_memory import keep_freed_memory
    assert keep_freed_memory()
def churn():
    for _ in range(100):  # a sample's worth of frames, made and dropped, a hundred times
        frames = [np.ones((480, 640), np.float32) for _ in range(4)] + [np.ones((600, 700), np.float32)]
        del frames
churn()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
churn()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    return int(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_frames_are_reused_instead_of_faulted_in_again():
    plain, kept = faults("plain"), faults("keep")
    # 100 rounds of 6.3 MB: ~100,000 page faults when each round's frames come fresh
    assert kept < 2000 < plain


def test_off_linux_nothing_is_changed(monkeypatch):
    from engine import process_memory

    monkeypatch.setattr(process_memory.sys, "platform", "darwin")
    assert process_memory.keep_freed_memory() is False
