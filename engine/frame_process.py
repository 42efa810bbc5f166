"""The runtime's frames computed in a child process of their own (issue 14).

Why: in the app, a frame computed on a thread beside the GUI waited for the GIL whenever the
GUI thread ran Python (the IK on every mouse move, vispy's scene updates): a frame of 7 ms of
CPU took 18-21 ms at p95. A child process has its own interpreter, so it waits for a core, never
for the GUI's GIL; the parent's runtime thread only sends the request and unpickles the frame.

The child loads its own generator with the same loader as the app (`load_default_generator`),
keeps the last style it was sent (a style is pickled prepared, once, when the request's style
object changes: engine.style.base.Style.__getstate__) and answers each request with the pieces
of a FrameResult (`compute_frame` there, unchanged). Whatever the child did not make (a
generator frame's whole render, its styled simulator) is made in the parent on first use, as
in-thread frames do. A child that dies or stops answering raises FrameSourceLost, and the
runtime goes back to computing frames on its own thread (engine.runtime.DepthRuntime).
Spawned, not forked: the parent is a Qt app with threads, which fork would copy half-way.
"""
from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from multiprocessing import shared_memory
from multiprocessing.connection import Connection

import numpy as np

from engine.generator_loading import load_default_generator
from engine.runtime import (CropGenerator, Deferred, FrameError, FrameRequest, FrameResult, FrameSourceLost,
                            compute_frame, styled)
from engine.sim.render import RenderResult, render_hand

log = logging.getLogger(__name__)

# (generator or None, device name, status text): engine.generator_loading.load_default_generator
GeneratorLoader = Callable[[], tuple[CropGenerator | None, str, str]]
# A frame the child has not answered after this long is lost: the child is stopped and the runtime
# computes frames itself. A frame is milliseconds; a learned style's first (its preparation) 1 s.
ANSWER_TIMEOUT_S = 30.0
CLOSE_TIMEOUT_S = 2.0
# The arrays handed back through shared memory (a pipe moves 1.2 MB in 64 kB turns, each one
# a wake-up of this process and a take of its GIL): float32 depth, G's output, the styled
# simulator and the clean render, and the uint8 labels of that render and of G's frame, each
# aligned to ALIGN bytes.
FRAME_ARRAYS = ("depth", "generated", "simulated", "clean", "labels", "generated_labels")
BYTES_PER_PIXEL = 4 * 4 + 2
ALIGN = 64


class FrameProcess:
    """One spawned child computing frames for one runtime thread (calls are not thread-safe:
    `compute` from that thread only; `close` from any, once that thread is done with it)."""

    def __init__(self, load: GeneratorLoader = load_default_generator) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child_end = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child_end, load), name="depth-frames", daemon=True)
        self._process.start()
        child_end.close()
        self._style_sent: object | None = None  # the style object the child holds now
        self._memory: shared_memory.SharedMemory | None = None  # the frames' arrays, written by the child
        self._ready: bool | None = None  # None while the child loads its generator
        self._start_lock = threading.Lock()
        self.message = "the frame process is starting"  # then the child's loader's status line

    def ready(self) -> bool | None:
        """Without waiting: True once the child has its generator and answers frames, False when
        it never will (its loader found none, or it ended), None while it is still starting (or
        another thread is in `wait_ready`)."""
        if not self._start_lock.acquire(blocking=False):
            return None
        try:
            return self._read_ready(0.0)
        finally:
            self._start_lock.release()

    def wait_ready(self, timeout_s: float = 60.0) -> bool | None:
        """`ready()`, waiting up to `timeout_s` for the child to finish starting."""
        with self._start_lock:
            return self._read_ready(timeout_s)

    def _read_ready(self, timeout_s: float) -> bool | None:
        if self._ready is None:
            try:
                if self._conn.poll(timeout_s):
                    self._ready, self.message = self._conn.recv()
            except (EOFError, OSError) as e:
                self._ready, self.message = False, f"the frame process ended while starting ({e.__class__.__name__})"
        return self._ready

    def compute(self, request: FrameRequest, request_id: int = 0) -> FrameResult:
        """`compute_frame(request, <the child's generator>, request_id)`, computed in the child.
        timings_ms: "total" is the whole round trip seen from here, "process_total" the child's
        own, "total_cpu" the child's CPU plus this thread's."""
        t0, cpu0 = time.perf_counter(), time.thread_time()
        new_style = request.style is not self._style_sent
        new_memory = self._grow_memory(request.camera.width * request.camera.height)
        try:
            self._conn.send((request_id, replace(request, style=None), new_style,
                             request.style.prepare() if new_style and request.style is not None else None,
                             new_memory))
            if new_style:
                self._style_sent = request.style
            if not self._conn.poll(ANSWER_TIMEOUT_S):
                raise FrameSourceLost(f"the frame process did not answer within {ANSWER_TIMEOUT_S:.0f} s")
            answer = self._conn.recv()
        except (EOFError, OSError) as e:
            raise FrameSourceLost(f"the frame process ended ({e.__class__.__name__})") from e
        if len(answer) == 2:  # the child's compute_frame raised: the same one line here
            raise _child_error(*answer)
        layout, transform, timings, warning, joints_2d = answer
        arrays = _take(self._memory.buf, layout)
        depth, generated, simulated = arrays["depth"], arrays["generated"], arrays["simulated"]
        if joints_2d is None:
            rendered = Deferred(lambda: render_hand(request.joints, request.camera, request.thickness))
        else:
            rendered = Deferred.of(RenderResult(arrays["clean"], arrays["labels"], joints_2d))
        if generated is None:  # a simulator frame: its depth is the styled simulator
            sim = Deferred.of(depth)
        elif simulated is None:
            sim = Deferred(lambda: styled(rendered.get().depth, request))
        else:
            sim = Deferred.of(simulated)
        timings = {**timings, "process_total": timings["total"], "total": (time.perf_counter() - t0) * 1e3,
                   "total_cpu": timings["total_cpu"] + (time.thread_time() - cpu0) * 1e3}
        return FrameResult(request_id=request_id, request=request, depth=depth, simulated=sim,
                           rendered=rendered, transform=transform, timings_ms=timings,
                           generated=generated, generated_labels=arrays["generated_labels"],
                           range_warning=warning)

    def _grow_memory(self, pixels: int) -> str | None:
        """The name of a new shared block when the frame's arrays would not fit the present one
        (the first frame, a larger camera); None when they fit."""
        size = pixels * BYTES_PER_PIXEL + len(FRAME_ARRAYS) * ALIGN
        if self._memory is not None and self._memory.size >= size:
            return None
        if self._memory is not None:
            self._memory.close()
            self._memory.unlink()
        self._memory = shared_memory.SharedMemory(create=True, size=size)
        return self._memory.name

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    def close(self) -> None:
        """Ask the child to stop; kill it if it does not within CLOSE_TIMEOUT_S."""
        try:
            self._conn.send(None)
        except (OSError, ValueError):
            pass
        self._process.join(CLOSE_TIMEOUT_S)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(CLOSE_TIMEOUT_S)
        self._conn.close()
        if self._memory is not None:
            self._memory.close()
            self._memory.unlink()
            self._memory = None


def _child_error(name: str, message: str) -> FrameError:
    """The child's exception as a FrameError of the same class name, so the runtime's one-line
    message ("ValueError: ...") reads as it would for a frame computed in-thread."""
    if name == FrameError.__name__:
        return FrameError(message)
    return type(name, (FrameError,), {})(message)


def _serve(conn: Connection, load: GeneratorLoader) -> None:
    """The child: load the generator, then answer requests until told to stop or orphaned."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in the terminal is the parent's to handle
    generator, _, message = load()
    conn.send((generator is not None, message))
    style, memory = None, None
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if item is None:
            return
        request_id, request, new_style, sent, new_memory = item
        if new_style:
            style = sent
        if new_memory is not None:
            if memory is not None:
                memory.close()
            memory = shared_memory.SharedMemory(name=new_memory)
        try:
            conn.send(_answer(compute_frame(replace(request, style=style), generator, request_id), memory))
        except Exception as e:  # noqa: BLE001  (the parent reports it as the runtime would)
            conn.send((e.__class__.__name__, str(e)))


def _answer(result: FrameResult, memory: shared_memory.SharedMemory) -> tuple:
    """The frame's arrays written into `memory`, and the rest of it to pickle."""
    render = result.rendered.get() if result.rendered.made else None
    arrays = {"depth": result.depth, "generated": result.generated,
              "simulated": result.simulated.get() if result.simulated.made else None,
              "clean": None if render is None else render.depth,
              "labels": None if render is None else render.labels,
              "generated_labels": result.generated_labels}
    return (_put(memory.buf, arrays), result.transform, result.timings_ms, result.range_warning,
            None if render is None else render.joints_2d)


def _put(buffer: memoryview, arrays: dict[str, np.ndarray | None]) -> dict[str, tuple | None]:
    """Copy `arrays` into `buffer` one after another; returns where each lies (offset, shape,
    dtype), the same place for the same array object, None for None."""
    layout: dict[str, tuple | None] = {}
    placed: dict[int, tuple] = {}
    offset = 0
    for key, array in arrays.items():
        if array is None or id(array) in placed:
            layout[key] = None if array is None else placed[id(array)]
            continue
        a = np.ascontiguousarray(array)
        if offset + a.nbytes > len(buffer):
            raise ValueError(f"a frame of {offset + a.nbytes} bytes does not fit the {len(buffer)}-byte block")
        np.ndarray(a.shape, a.dtype, buffer=buffer, offset=offset)[...] = a
        layout[key] = placed[id(array)] = (offset, a.shape, a.dtype.str)
        offset += -(-a.nbytes // ALIGN) * ALIGN
    return layout


def _take(buffer: memoryview, layout: dict[str, tuple | None]) -> dict[str, np.ndarray | None]:
    """The arrays `_put` placed, each copied out once (the block is rewritten by the next frame)."""
    copies: dict[tuple, np.ndarray] = {}
    for where in layout.values():
        if where is not None and where not in copies:
            offset, shape, dtype = where
            copies[where] = np.ndarray(shape, dtype, buffer=buffer, offset=offset).copy()
    return {key: None if where is None else copies[where] for key, where in layout.items()}
