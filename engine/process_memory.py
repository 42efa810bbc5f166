"""Heap settings for a process that allocates and frees the same large frames thousands of
times (a dataset writer: a dozen 0.3-1.2 MB frames a sample).

Why: glibc's malloc hands blocks of this size back to the kernel when they are freed (from the
top of the heap once more than the trim threshold is free there, or as separate mappings above
the mmap threshold), so the next sample's frames are fresh pages: a page fault and a zeroed
page each. A Kinect-v1-styled dataset took 200,000 faults and 0.6 s of system time a 1,000
samples; with freed memory kept for reuse, 27,000 faults and 0.25 s. Off glibc (macOS, musl)
nothing is changed.
"""
from __future__ import annotations

import ctypes
import sys

_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 << 20  # glibc's largest: every frame comes from the heap
TRIM_THRESHOLD_BYTES = 64 << 20  # free memory kept at the heap's top before it is given back


def keep_freed_memory() -> bool:
    """Have malloc serve frame-sized blocks from the heap and keep up to TRIM_THRESHOLD_BYTES
    of freed memory for reuse, for this process and those it forks from now on. Returns
    whether the settings took (False where there is no glibc mallopt)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # Setting either one also stops glibc from moving both with the blocks freed.
    return mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1 and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1
