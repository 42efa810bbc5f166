"""Worker threads that run the shards of one CPU batch side by side, each on ONE torch thread.

Why not torch's own threads: a batch is G, the style stage and a lot of numpy between them
(the skeleton encoding, the cut, the style's composition), and numpy runs on the calling thread
alone. With two torch threads and one caller, the second core waits through every numpy step;
and torch's OpenMP threads spin at each barrier, so on a busy machine (other processes on the
cores) the bench's batches of 64 fell from ~280-350 img/s to 35-110, at 10-21 ms of CPU per
image against ~5 (measured on the shared 2-core machine). Here each shard runs the whole
pipeline on its own thread: the network calls, OpenCV and numpy's array loops release the GIL,
so the cores overlap one shard's numpy with the other's network, and no thread waits at an
OpenMP barrier for a descheduled peer: 356-369 img/s idle, 140-260 under the same load, at
4.2-4.9 ms of CPU per image.

Torch's intra-op thread count is per thread under OpenMP (`torch.set_num_threads` sets the
calling thread's, and stores the count that threads starting torch later take up), so each
worker sets 1 for itself, once, and the thread that made the pool sets its own count again so
that later threads still take that one. A shard's bytes are then those of one torch thread
whatever the caller's count (a network's output can differ in float32 rounding between one
thread and two, or between batch sizes: engine.runtime_batch splits where both hold).

The pool is made on first use and dropped in a forked child (its threads are not copied).
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

import torch

T = TypeVar("T")

_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def _drop_pool_in_child() -> None:
    global _pool, _pool_size, _pool_lock
    _pool, _pool_size, _pool_lock = None, 0, threading.Lock()


os.register_at_fork(after_in_child=_drop_pool_in_child)


def _one_torch_thread(ready: threading.Barrier) -> None:
    # torch sets a thread's count on its first parallel work, from the count stored last; asked
    # first, that is done here, and the 1 below is not overwritten later by the caller's count
    torch.get_num_threads()
    torch.set_num_threads(1)
    ready.wait()


def _workers(count: int) -> ThreadPoolExecutor:
    """A pool of at least `count` threads, each already on one torch thread (under _pool_lock)."""
    global _pool, _pool_size
    if _pool is None or _pool_size < count:
        if _pool is not None:  # its shards in flight finish; new ones go to the larger pool
            _pool.shutdown(wait=False)
        before = torch.get_num_threads()
        pool = ThreadPoolExecutor(count, thread_name_prefix="batch-shard")
        ready = threading.Barrier(count + 1)
        for _ in range(count):  # each task holds its thread until all exist: one per thread
            pool.submit(_one_torch_thread, ready)
        ready.wait()
        torch.set_num_threads(before)  # the count later threads take up stays this thread's
        _pool, _pool_size = pool, count
    return _pool


def run_shards(fn: Callable[..., T], shards: Sequence[tuple]) -> list[T]:
    """fn(*shard) for every shard, each on a worker thread of one torch thread, in order.
    An exception in any shard is raised here, after every shard has finished."""
    with _pool_lock:  # no other caller replaces the pool between finding it and submitting
        pool = _workers(len(shards))
        futures = [pool.submit(fn, *args) for args in shards]
    wait(futures)  # no shard left running behind a caller that goes on
    return [f.result() for f in futures]
