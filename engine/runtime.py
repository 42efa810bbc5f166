"""The interactive runtime: pose in, finished depth frames out, latest request wins.

A frame is one pipeline: source (the simulator, and the generator G when asked) -> the
request's style (an engine.style.Style, prepared once, applied per frame) -> frame. The
simulator goes through the same style as G, so A/B compares like with like; when G's frame is
the one shown, the simulator's styled frame is made only when something asks for it
(`FrameResult.simulator`: the A/B view's third panel without a style image, a simulator export),
not on every frame of a drag.

The app calls `submit` on every mouse move. One worker thread renders; a request that arrives
while another waits replaces it (the stale one is dropped, never rendered), and a result older
than one already delivered is never delivered. `submit` never blocks, so a drag never waits for
the network. Callbacks run on the worker thread: a GUI marshals them to its own thread.

Every request that is rendered gets an answer: its frame, or (when the computation raises, the
generator returns NaN/inf, or the callback itself raises) a `FrameFailure` with its id and a
one-line message, so nothing that waits for a request id waits for a frame that never comes.
The worker survives every failure. `submit` copies the pose, so the caller may keep editing
its array while the frame waits.
Qt-free by design (napari's layer slicer is the model), so tests drive it directly with
`wait_until_idle` and `shutdown`.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Generic, Protocol, TypeVar

import numpy as np

from engine.camera import Camera
from engine.data.crop import CROP_SIZE, CropTransform, make_transform, normalise_joints
from engine.data.paste import back_face_mm, front_face_mm, paste_crop, surround_labels, unread_region
from engine.sim.render import RenderResult, render_hand
from engine.sim.surround import render_surround
from engine.style.base import Style

log = logging.getLogger(__name__)

# Turns one normalised pose y (21, 3) and its crop's placement in the frame (which fixes the
# perspective of the crop) into a normalised depth crop (128, 128) in [-1, 1]; the third argument
# says whether the generator's eval-mode silhouette cut is applied (False: the network's raw output).
# (y, transform, silhouette cut?, hand thickness) -> the crop (128, 128): a shape-aware G draws the
# thickness (engine.models.generator.SkeletonUNet.condition), one without it the mean hand.
CropGenerator = Callable[[np.ndarray, CropTransform, bool, float], np.ndarray]


@dataclass(frozen=True)
class FrameRequest:
    """Everything one displayed frame depends on."""

    joints: np.ndarray  # (21, 3) mm, camera frame
    camera: Camera
    thickness: float = 1.0
    style: Style | None = None  # None: the source's depth as it is; shared, never copied
    seed: int = 0  # of the style's random draws: the same seed, the same noise
    use_generator: bool = False
    strength: float = 1.0  # 0 = the source's depth .. 1 = the full style (Style.apply)
    silhouette_cut: bool = True  # the generator's cut (`generate --no-cut`, View > Silhouette cut)
    # A generator frame's styled simulator is made on first use; a caller that will show it (the
    # app's A/B view) asks for it here, so the worker makes it, not the thread that draws.
    with_simulator: bool = False
    # The style's range warning (FrameResult.range_warning); a writer that discards it (a
    # dataset) saves its look at the whole frame.
    with_range_warning: bool = True


class FrameError(ValueError):
    """A frame that must not be shown (e.g. the generator returned NaN or inf)."""


class FrameSourceLost(RuntimeError):
    """A frame process (engine.frame_process) died or stopped answering: the runtime computes
    the frame on its own thread instead, and every frame after it."""


@dataclass(frozen=True, eq=False)
class FrameFailure:
    """The answer to a request that produced no frame: why, in one line."""

    request_id: int
    request: FrameRequest
    message: str


T = TypeVar("T")


class Deferred(Generic[T]):
    """A value made on first use, once, by whichever thread asks first (a generator frame's
    clean render and styled simulator, which most frames never show)."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make: Callable[[], T] | None = make
        self._value: T | None = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, value: T) -> Deferred[T]:
        """One that holds `value` already (`made`: a frame process hands it back without a remake)."""
        deferred = cls(lambda: value)
        deferred.get()
        return deferred

    @property
    def made(self) -> bool:
        """Whether the array exists already (reading it then costs nothing)."""
        with self._lock:
            return self._make is None

    def get(self) -> T:
        with self._lock:
            if self._make is not None:
                self._value = self._make()
                self._make = None
            return self._value


@dataclass(frozen=True, eq=False)
class FrameResult:
    request_id: int
    request: FrameRequest
    depth: np.ndarray  # full frame float32 mm shown to the user (generator's or simulator's)
    simulated: Deferred[np.ndarray]  # `simulator`, made when first asked for on a generator frame
    rendered: Deferred[RenderResult]  # `clean` and `labels`, rendered when first asked for on one
    transform: CropTransform
    timings_ms: dict[str, float] = field(default_factory=dict)  # wall ms per stage; total_cpu: CPU ms
    generated: np.ndarray | None = None  # full frame, the generator's output before the style
    # generator frames: the simulator's labels where `generated` is its render unchanged (outside
    # G's window, engine.data.paste.surround_labels), 0 elsewhere
    generated_labels: np.ndarray | None = None
    range_warning: str | None = None  # the style's word on a hand outside its camera's range

    @property
    def clean(self) -> np.ndarray:
        """Full frame, the clean simulator render (the A/B reference). On a generator frame the
        worker rendered only what the paste reads (engine.sim.surround); the whole render is
        made here, on first use, by the thread that asks (a render's cost, 2-3 ms)."""
        return self.rendered.get().depth

    @property
    def labels(self) -> np.ndarray:
        """Part labels of `clean`."""
        return self.rendered.get().labels

    @property
    def simulator(self) -> np.ndarray:
        """Full frame, the simulator through the request's style. On a generator frame it is
        styled here, on first use, by the thread that asks (a style's cost, a few ms)."""
        return self.simulated.get()


def styled(depth: np.ndarray, request: FrameRequest) -> np.ndarray:
    """`depth` through the request's style at its strength and seed; `depth` itself without one."""
    if request.style is None:
        return depth
    return request.style.apply(depth, request.camera, request.seed, request.strength)


def render_surround_of(joints: np.ndarray, camera: Camera, thickness: float,
                       transform: CropTransform) -> tuple[np.ndarray, np.ndarray]:
    """(depth, labels): the simulator's render where a paste of G's crop at `transform` reads it
    (engine.sim.surround), and its part labels, whole (the caller keeps them where the paste
    shows the render unchanged: engine.data.paste.surround_labels)."""
    return render_surround(joints, camera, thickness, unread_region(transform), front_face_mm(transform),
                           back_face_mm(transform))


def compute_frame(request: FrameRequest, generator: CropGenerator | None = None, request_id: int = 0) -> FrameResult:
    """One frame, synchronously: simulator -> style, or generator -> style when asked and loaded.

    With the generator, `depth` is its output through the style and `generated` the output
    before it (the crop pasted with the clean render outside the cube, engine.data.paste);
    `simulator` is always the simulator through the same style, styled when first asked for.
    The paste needs the clean render only where it reads it (`render_surround`), so the whole
    render (`clean`, `labels`) is made when first asked for, unless the request needs it anyway.
    """
    timings: dict[str, float] = {}
    t0, cpu0 = time.perf_counter(), time.thread_time()
    transform = make_transform(request.joints, request.camera)
    with_generator = request.use_generator and generator is not None
    warns = _has_range_warning(request)
    if with_generator and not (request.with_simulator or warns):
        surround, surround_parts = render_surround_of(request.joints, request.camera, request.thickness, transform)
        rendered = Deferred(lambda: render_hand(request.joints, request.camera, request.thickness))
    else:
        render = render_hand(request.joints, request.camera, request.thickness)
        surround, surround_parts, rendered = render.depth, render.labels, Deferred.of(render)
    t1 = time.perf_counter()
    timings["render"] = (t1 - t0) * 1e3
    generated = generated_labels = None
    if with_generator:
        crop = np.asarray(generator(normalise_joints(request.joints, transform), transform, request.silhouette_cut,
                                    request.thickness), np.float32)
        if crop.shape != (CROP_SIZE, CROP_SIZE):
            raise FrameError(f"generator returned shape {crop.shape}, expected ({CROP_SIZE}, {CROP_SIZE})")
        bad = int((~np.isfinite(crop)).sum())
        if bad:  # pasted, NaN would read as a plausible depth nowhere and inf as a wall
            raise FrameError(f"generator returned {bad} non-finite values (NaN/inf) in its "
                             f"{CROP_SIZE}x{CROP_SIZE} crop; frame not shown")
        # Outside the cube G draws nothing: the clean render continues the forearm there.
        generated = paste_crop(crop, transform, surround=surround)
        generated_labels = surround_labels(surround_parts, transform)
        t3 = time.perf_counter()
        timings["generator"] = (t3 - t1) * 1e3
        depth = styled(generated, request)
        timings["generator style"] = (time.perf_counter() - t3) * 1e3
        simulated = Deferred(lambda: styled(rendered.get().depth, request))
        if request.with_simulator:
            t4 = time.perf_counter()
            simulated.get()
            timings["style"] = (time.perf_counter() - t4) * 1e3
    else:
        depth = styled(surround, request)
        timings["style"] = (time.perf_counter() - t1) * 1e3
        simulated = Deferred.of(depth)
    if not np.isfinite(depth).all():
        raise FrameError("the depth frame has non-finite values (NaN/inf); frame not shown")
    warning = request.style.range_warning(rendered.get().depth) if warns else None
    timings["total"] = (time.perf_counter() - t0) * 1e3
    # This thread's CPU time over the same span: total - total_cpu is time spent waiting for a
    # core or the GIL (in the app, beside the GUI thread and the 3D view's software GL).
    timings["total_cpu"] = (time.thread_time() - cpu0) * 1e3
    return FrameResult(request_id=request_id, request=request, depth=depth, simulated=simulated,
                       rendered=rendered, transform=transform, timings_ms=timings, generated=generated,
                       generated_labels=generated_labels, range_warning=warning)


def _has_range_warning(request: FrameRequest) -> bool:
    """Whether the request asks for a range warning from a style that gives one (a sensor's: it
    reads every hand pixel of the whole clean render). Style's own says nothing whatever the
    render, so asking it would only make a generator frame render the whole hand for nothing."""
    style = request.style
    return (style is not None and request.with_range_warning
            and type(style).range_warning is not Style.range_warning)


Callback = Callable[[FrameResult], None]
ErrorCallback = Callable[[FrameFailure], None]


def frozen_request(request: FrameRequest) -> FrameRequest:
    """`request` with its own read-only copy of the joints: later edits to the caller's array
    cannot reach a queued frame."""
    joints = np.array(request.joints, dtype=np.float64, copy=True)
    joints.setflags(write=False)
    return replace(request, joints=joints)


class FrameProcessLike(Protocol):
    """engine.frame_process.FrameProcess, as the runtime uses it (that module imports this one)."""

    message: str

    def ready(self) -> bool | None: ...  # None: still starting; False: it will never answer

    def wait_ready(self, timeout_s: float) -> bool | None: ...

    def compute(self, request: FrameRequest, request_id: int) -> FrameResult: ...

    def close(self) -> None: ...


class DepthRuntime:
    """One worker thread behind a latest-wins `submit`; the frames themselves are computed on
    that thread, or, once one is attached and ready (`use_process`), in a frame process."""

    def __init__(self, generator: CropGenerator | None = None) -> None:
        self.generator = generator
        self._lock = threading.Condition()
        self._pending: tuple[int, FrameRequest, Callback, ErrorCallback | None] | None = None
        self._next_id = 1
        self._busy = False
        self._delivered_id = 0
        self._closed = False
        self.dropped = 0  # requests replaced before they were rendered
        self.failed = 0  # requests answered with a FrameFailure
        self.last_error: str | None = None
        self._process: FrameProcessLike | None = None
        self._thread = threading.Thread(target=self._work, name="depth-runtime", daemon=True)
        self._thread.start()

    def submit(self, request: FrameRequest, callback: Callback, on_error: ErrorCallback | None = None) -> int:
        """Queue a frame, replacing any frame still waiting; returns the request id at once.

        `callback` gets the frame, or `on_error` a FrameFailure when there is none (both on the
        worker thread). A request replaced before it was rendered gets neither.
        """
        request = frozen_request(request)
        with self._lock:
            if self._closed:
                raise RuntimeError("the runtime has been shut down")
            request_id = self._next_id
            self._next_id += 1
            if self._pending is not None:
                self.dropped += 1
            self._pending = (request_id, request, callback, on_error)
            self._lock.notify_all()
        return request_id

    def use_process(self, process: FrameProcessLike) -> None:
        """Compute generator frames in `process` from the first one after it is ready, as long as
        this runtime has a generator of its own (the in-thread fallback, and the say on whether
        there is one); simulator frames stay here (about 3 ms, and no style to send)."""
        with self._lock:
            old, self._process = self._process, (None if self._closed else process)
        for stale in {old, process} - {self._process, None}:
            stale.close()

    @property
    def process(self) -> FrameProcessLike | None:
        """The frame process attached (ready or still starting), None without one."""
        return self._process

    @property
    def computes_in_process(self) -> bool:
        """Whether the next generator frame goes to a frame process."""
        process = self._process
        return process is not None and bool(process.ready()) and self.generator is not None

    def wait_until_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing is pending or rendering (for tests and batch use)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending is not None or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the worker after the frame in flight; pending requests are dropped."""
        with self._lock:
            self._closed = True
            self._pending = None
            self._lock.notify_all()
        self._thread.join(timeout)
        with self._lock:
            process, self._process = self._process, None
        if process is not None:
            process.close()

    def _work(self) -> None:
        while True:
            with self._lock:
                while self._pending is None and not self._closed:
                    self._lock.wait()
                if self._closed:
                    return
                request_id, request, callback, on_error = self._pending
                self._pending = None
                self._busy = True
            try:
                self._answer(request_id, request, callback, on_error)
            finally:
                with self._lock:
                    self._busy = False
                    self._lock.notify_all()

    def _answer(self, request_id: int, request: FrameRequest, callback: Callback,
                on_error: ErrorCallback | None) -> None:
        """Render one request and hand over its frame or its failure; never raises."""
        try:
            result = self._compute(request, request_id)
        except Exception as e:  # a bad frame must not kill the worker; the app shows it
            self._fail(request_id, request, on_error, f"{e.__class__.__name__}: {e}", e)
            return
        with self._lock:
            fresh = request_id > self._delivered_id and not self._closed
            if fresh:
                self._delivered_id = request_id
        if not fresh:
            return
        try:
            callback(result)
        except Exception as e:  # the caller's bug; the next frame still comes
            # no id in the text: the same fault on every frame is one message, said once
            self._fail(request_id, request, on_error, f"showing the frame failed: {e.__class__.__name__}: {e}", e)

    def _compute(self, request: FrameRequest, request_id: int) -> FrameResult:
        """The frame, in the frame process when one is ready and the request needs the generator
        (the process's own test), else here. A process that is lost is dropped for good."""
        process = self._process
        if process is not None and self.generator is not None and request.use_generator:
            state = process.ready()
            if state:
                try:
                    return process.compute(request, request_id)
                except FrameSourceLost as e:
                    self._drop_process(process, str(e))
            elif state is False:
                self._drop_process(process, process.message)
        return compute_frame(request, self.generator, request_id)

    def _drop_process(self, process: FrameProcessLike, why: str) -> None:
        log.warning("frames are computed in the app again: %s", why)
        with self._lock:
            if self._process is process:
                self._process = None
        process.close()

    def _fail(self, request_id: int, request: FrameRequest, on_error: ErrorCallback | None,
              message: str, error: Exception) -> None:
        message = " ".join(message.split())  # one line, whatever the exception said
        # The traceback once per distinct error, not once per frame of a drag.
        log.log(logging.DEBUG if message == self.last_error else logging.ERROR,
                "frame %d failed: %s", request_id, message, exc_info=error)
        with self._lock:
            self.failed += 1
            self.last_error = message
            if self._closed or on_error is None:
                return
        try:
            on_error(FrameFailure(request_id, request, message))
        except Exception:
            log.exception("the error callback of frame %d failed", request_id)
