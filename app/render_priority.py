"""The software OpenGL rasterizer's threads yield the CPU to the depth worker (Linux, Mesa llvmpipe).

Why: on a 2-core machine without a GPU the 3D view is drawn by Mesa's llvmpipe, whose
rasterizer threads (one per core, named "llvmpipe-N") wake in bursts that fill every core. A
generator frame measured in the app at p50 25-37 ms against 11-12 ms alone; its CPU time was the
same (12-13 ms), the rest was time runnable but waiting for a core (p50 8-14 ms, from
/proc/<tid>/schedstat), not the GIL (p50 1-4 ms). Lowering these threads' priority cut that
wait to ~6 ms: runtime frame p50 36.6 -> 18.8 ms, pose to screen p50 76 -> 54 ms,
frames/s 23 -> 28 (interleaved runs, load ~4; the 3D view's raster fills the gaps instead).

A nice value only ever goes up without privileges, and only threads of this process are touched;
with a hardware OpenGL driver there are no such threads and nothing happens.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

# Mesa names its llvmpipe rasterizer threads "llvmpipe-0", "llvmpipe-1", ... (lp_rast.c).
SOFTWARE_GL_THREAD_PREFIX = "llvmpipe"
# Weight 110 against a default thread's 1024 (the kernel's nice table): about a tenth of a shared
# core while the depth worker or the GUI thread wants it, all of it otherwise. Measured against
# the default (0): see the module docstring.
SOFTWARE_GL_NICE = 10
TASK_DIR = Path("/proc/self/task")


def lower_software_gl_threads(nice: int = SOFTWARE_GL_NICE, prefix: str = SOFTWARE_GL_THREAD_PREFIX,
                              task_dir: Path = TASK_DIR) -> list[int]:
    """Raise the nice value of this process's threads named `prefix`* to at least `nice`; returns
    their thread ids (empty where there are none or the platform has no /proc). Never raises:
    this is a speed-up, the app runs the same without it."""
    lowered = []
    try:
        tasks = list(task_dir.iterdir())
    except OSError:
        return lowered
    for task in tasks:
        try:
            if not (task / "comm").read_text().startswith(prefix):
                continue
            tid = int(task.name)
            if os.getpriority(os.PRIO_PROCESS, tid) < nice:
                os.setpriority(os.PRIO_PROCESS, tid, nice)
            lowered.append(tid)
        except (OSError, ValueError) as e:  # a thread that ended meanwhile, or no permission
            log.debug("could not lower the priority of thread %s: %s", task.name, e)
    return lowered
