"""app/render_priority.py: which threads get a lower priority, and that nothing else moves."""
from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from app.render_priority import lower_software_gl_threads

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread names and nice per thread: Linux")


def _named_thread(name: str) -> tuple[threading.Thread, threading.Event]:
    """A live thread whose kernel name is `name` (as Mesa names its rasterizer threads)."""
    stop, started = threading.Event(), threading.Event()
    thread = threading.Thread(target=lambda: (started.set(), stop.wait()), daemon=True)
    thread.start()
    started.wait()
    Path(f"/proc/self/task/{thread.native_id}/comm").write_text(name)
    return thread, stop


def _nice(thread: threading.Thread) -> int:
    return os.getpriority(os.PRIO_PROCESS, thread.native_id)


def test_only_threads_with_the_prefix_are_lowered_and_never_raised():
    raster, stop_raster = _named_thread("testrast-0")
    other, stop_other = _named_thread("depth-worker")
    already_low, stop_low = _named_thread("testrast-1")
    os.setpriority(os.PRIO_PROCESS, already_low.native_id, 15)
    other_before, main_before = _nice(other), os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    try:
        lowered = lower_software_gl_threads(nice=10, prefix="testrast")
        assert sorted(lowered) == sorted([raster.native_id, already_low.native_id])
        assert _nice(raster) == max(10, other_before)
        assert _nice(already_low) == 15  # a nice value is only ever raised
        assert _nice(other) == other_before  # the worker and the GUI thread keep theirs
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main_before
        assert lower_software_gl_threads(nice=10, prefix="testrast") == lowered  # again: same, no error
    finally:
        for stop in (stop_raster, stop_other, stop_low):
            stop.set()


def test_no_such_threads_or_no_proc_is_a_no_op(tmp_path):
    assert lower_software_gl_threads(prefix="no-thread-is-named-this") == []
    assert lower_software_gl_threads(task_dir=tmp_path / "missing") == []
