"""The latest-wins runtime: never blocks, drops stale requests, delivers in order, and answers
every rendered request (frame or failure) however the frame computation or the callback fails.

Nothing here is timed: a frame that must take a while blocks on a threading.Event that the test
releases, and the test waits for events, never for the clock.
"""
import threading

import numpy as np
import pytest

from engine.camera import KINECT_V1
from engine.data.crop import CROP_SIZE
from engine.data.paste import paste_crop
from engine.hand.model import HandPose
from engine.runtime import DepthRuntime, FrameError, FrameFailure, FrameRequest, compute_frame
from engine.sim.sensors import apply_sensor
from engine.style.base import Style
from engine.style.sensor import SensorStyle

JOINTS = HandPose().joints()
EVENT_TIMEOUT_S = 30.0  # generous: only a hang reaches it


def disk_crop() -> np.ndarray:
    """A hand held half a crop's depth in front: a disk in the crop."""
    return np.where(np.hypot(*np.mgrid[-1:1:CROP_SIZE * 1j, -1:1:CROP_SIZE * 1j]) < 0.5, -0.5, 1.0)


def instant_generator(y, transform, cut=True, thickness=1.0):
    return disk_crop()


class GatedGenerator:
    """A generator that blocks until the test opens the gate; says when it has started."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.gate = threading.Event()
        self.calls = 0

    def __call__(self, y, transform, cut=True, thickness=1.0):
        self.calls += 1
        self.started.set()
        assert self.gate.wait(EVENT_TIMEOUT_S), "the test never opened the gate"
        return disk_crop()


class Answers:
    """Collects a runtime's frames and failures (worker thread) and signals each one."""

    def __init__(self) -> None:
        self.frames: list = []
        self.failures: list[FrameFailure] = []
        self.answered = threading.Event()

    def frame(self, result) -> None:
        self.frames.append(result)
        self.answered.set()

    def failure(self, failure: FrameFailure) -> None:
        self.failures.append(failure)
        self.answered.set()


class RecordingStyle(Style):
    """A style that adds its seed to every measured pixel and records each call it gets."""

    def __init__(self) -> None:
        super().__init__("recording", "Recording", "a test style")
        self.prepares = 0
        self.applies: list[tuple[int | None, float, tuple[int, ...]]] = []

    def _prepare(self) -> None:
        self.prepares += 1

    def _apply(self, depth, camera, seed, strength):
        self.applies.append((seed, strength, depth.shape))
        return np.where(depth > 0, depth + float(seed) * strength, 0.0).astype(np.float32)


@pytest.fixture
def runtime():
    rt = DepthRuntime()
    yield rt
    rt.shutdown()


def test_simulator_frame_is_consistent():
    r = compute_frame(FrameRequest(JOINTS, KINECT_V1, style=None))
    assert r.depth.shape == (480, 640) and r.transform.size_px > 0
    np.testing.assert_array_equal(r.depth, r.clean)
    assert ((r.labels > 0) == (r.clean > 0)).all()
    assert {"render", "style", "total", "total_cpu"} <= set(r.timings_ms)
    cpu = r.timings_ms["total_cpu"]  # the worker's CPU time was recorded (its value is bench app's)
    assert np.isfinite(cpu) and cpu >= 0
    noisy = compute_frame(FrameRequest(JOINTS, KINECT_V1, style=SensorStyle("kinect_v1"), seed=1))
    np.testing.assert_array_equal(noisy.depth, apply_sensor(noisy.clean, KINECT_V1, "kinect_v1", 1))


def test_the_style_is_prepared_once_and_applied_per_frame_with_the_requests_seed_and_strength(runtime):
    style = RecordingStyle()
    got = []
    for seed, strength in ((3, 1.0), (4, 0.5), (5, 0.25)):
        runtime.submit(FrameRequest(JOINTS, KINECT_V1, style=style, seed=seed, strength=strength),
                       got.append)
        assert runtime.wait_until_idle(EVENT_TIMEOUT_S)
    assert style.prepares == 1
    assert style.applies == [(3, 1.0, (480, 640)), (4, 0.5, (480, 640)), (5, 0.25, (480, 640))]
    last = got[-1]
    hand = last.clean > 0
    np.testing.assert_allclose(last.depth[hand] - last.clean[hand], 5 * 0.25)
    assert last.request.style is style  # shared, not copied: its prepared state is kept


def test_the_generator_and_the_simulator_go_through_the_same_style():
    style = RecordingStyle()
    r = compute_frame(FrameRequest(JOINTS, KINECT_V1, style=style, seed=7, use_generator=True),
                      instant_generator)
    assert [call[0] for call in style.applies] == [7]  # G's frame only: the simulator's waits
    np.testing.assert_array_equal(r.generated, paste_crop(disk_crop(), r.transform, surround=r.clean))
    hand = r.generated > 0
    np.testing.assert_allclose(r.depth[hand] - r.generated[hand], 7.0)
    np.testing.assert_allclose(r.simulator[r.clean > 0] - r.clean[r.clean > 0], 7.0)
    assert [call[0] for call in style.applies] == [7, 7]  # styled when asked for, same seed
    assert r.simulator is r.simulator and len(style.applies) == 2  # and only once
    assert {"generator", "generator style"} <= set(r.timings_ms)


def test_a_generator_frames_simulator_is_styled_once_whichever_threads_ask():
    class SlowStyle(RecordingStyle):
        """Holds its first apply until a second thread is waiting for the same frame."""

        def __init__(self) -> None:
            super().__init__()
            self.entered = threading.Event()
            self.gate = threading.Event()

        def _apply(self, depth, camera, seed, strength):
            if self.applies:  # G's frame went through already: this is the simulator's
                self.entered.set()
                assert self.gate.wait(EVENT_TIMEOUT_S), "the test never opened the gate"
            return super()._apply(depth, camera, seed, strength)

    style = SlowStyle()
    r = compute_frame(FrameRequest(JOINTS, KINECT_V1, style=style, seed=3, use_generator=True),
                      instant_generator)
    got = []
    threads = [threading.Thread(target=lambda: got.append(r.simulator)) for _ in range(2)]
    threads[0].start()
    assert style.entered.wait(EVENT_TIMEOUT_S)
    threads[1].start()
    style.gate.set()
    for t in threads:
        t.join(EVENT_TIMEOUT_S)
    assert len(got) == 2 and got[0] is got[1] and len(style.applies) == 2


def test_a_frame_that_will_show_the_simulator_gets_it_styled_by_the_worker():
    """The A/B view asks for it: the worker styles it, so the drawing thread does not."""
    style = RecordingStyle()
    r = compute_frame(FrameRequest(JOINTS, KINECT_V1, style=style, seed=6, use_generator=True,
                                   with_simulator=True), instant_generator)
    assert [call[0] for call in style.applies] == [6, 6] and "style" in r.timings_ms and r.simulated.made
    r.simulator
    assert len(style.applies) == 2  # already made: reading it styles nothing


def test_a_simulator_frames_simulator_is_its_depth():
    style = RecordingStyle()
    r = compute_frame(FrameRequest(JOINTS, KINECT_V1, style=style, seed=4), instant_generator)
    assert r.simulator is r.depth and len(style.applies) == 1 and r.generated is None


def test_strength_zero_shows_the_sources_depth_unstyled():
    style = RecordingStyle()
    r = compute_frame(FrameRequest(JOINTS, KINECT_V1, style=style, seed=9, strength=0.0,
                                   use_generator=True), instant_generator)
    np.testing.assert_array_equal(r.simulator, r.clean)
    np.testing.assert_array_equal(r.depth, r.generated)
    assert style.applies == [] and style.prepares == 0  # nothing of the style ran


def test_a_failing_style_is_a_failed_frame_and_the_worker_survives(runtime):
    class BrokenStyle(RecordingStyle):
        def _prepare(self) -> None:
            raise ValueError("style.png: not an image")

    answers = Answers()
    message = _failing_then_rendering(runtime, answers, FrameRequest(JOINTS, KINECT_V1, style=BrokenStyle()))
    assert message == "ValueError: style.png: not an image"


def test_the_styles_range_warning_comes_with_the_frame():
    far = JOINTS + np.array([0.0, 0.0, 5000.0]) - JOINTS[9] * [0, 0, 1]  # 5 m away
    r = compute_frame(FrameRequest(far, KINECT_V1, style=SensorStyle("realsense")))
    assert r.range_warning is not None and "realsense range" in r.range_warning
    assert compute_frame(FrameRequest(JOINTS, KINECT_V1, style=RecordingStyle())).range_warning is None
    # a writer that discards the warning does not have it looked for
    quiet = compute_frame(FrameRequest(far, KINECT_V1, style=SensorStyle("realsense"), with_range_warning=False))
    assert quiet.range_warning is None and np.array_equal(quiet.depth, r.depth)


def test_generator_frame_is_pasted_into_the_full_frame():
    gen = instant_generator
    r = compute_frame(FrameRequest(JOINTS, KINECT_V1, use_generator=True), gen)
    np.testing.assert_array_equal(r.depth, paste_crop(gen(None, None), r.transform, surround=r.clean))
    assert "generator" in r.timings_ms


def test_submit_never_blocks_and_latest_wins(runtime):
    gen = GatedGenerator()
    runtime.generator = gen
    answers = Answers()
    first = runtime.submit(FrameRequest(JOINTS, KINECT_V1, use_generator=True), answers.frame)
    assert gen.started.wait(EVENT_TIMEOUT_S)  # the worker is now stuck inside frame `first`
    ids: list[int] = []

    def submit_all():
        ids.extend(runtime.submit(FrameRequest(JOINTS + i, KINECT_V1, use_generator=True), answers.frame)
                   for i in range(1, 21))

    submitter = threading.Thread(target=submit_all)
    submitter.start()
    # Had submit waited for the worker, it would wait for the gate, which opens only after this.
    submitter.join(EVENT_TIMEOUT_S)
    assert not submitter.is_alive() and len(ids) == 20
    gen.gate.set()
    assert runtime.wait_until_idle(EVENT_TIMEOUT_S)
    assert [r.request_id for r in answers.frames] == [first, ids[-1]]  # the newest pose is shown
    assert runtime.dropped == 19 and gen.calls == 2


def test_the_pose_is_copied_at_submit(runtime):
    gen = GatedGenerator()
    runtime.generator = gen
    answers = Answers()
    runtime.submit(FrameRequest(JOINTS, KINECT_V1, use_generator=True), answers.frame)
    assert gen.started.wait(EVENT_TIMEOUT_S)
    joints = JOINTS.copy()
    runtime.submit(FrameRequest(joints, KINECT_V1), answers.frame)
    joints += 300.0  # the caller goes on editing its array while the frame waits
    gen.gate.set()
    assert runtime.wait_until_idle(EVENT_TIMEOUT_S)
    queued = answers.frames[-1]
    np.testing.assert_array_equal(queued.request.joints, JOINTS)
    np.testing.assert_array_equal(queued.depth, compute_frame(FrameRequest(JOINTS, KINECT_V1)).depth)
    assert not queued.request.joints.flags.writeable


def _failing_then_rendering(runtime, answers, request, callback=None):
    """Submit a request that fails, then a good one: the failure and the next frame both come."""
    bad_id = runtime.submit(request, callback or answers.frame, answers.failure)
    assert runtime.wait_until_idle(EVENT_TIMEOUT_S)  # returns although the frame failed
    assert [f.request_id for f in answers.failures] == [bad_id]
    good_id = runtime.submit(FrameRequest(JOINTS, KINECT_V1), answers.frame, answers.failure)
    assert runtime.wait_until_idle(EVENT_TIMEOUT_S)
    assert answers.frames[-1].request_id == good_id and len(answers.failures) == 1
    message = answers.failures[0].message
    assert "\n" not in message and message == runtime.last_error
    return message


def test_a_raising_frame_computation_is_answered_and_the_worker_survives(runtime):
    def broken(y, transform, cut=True, thickness=1.0):
        raise RuntimeError("boom\nsecond line")

    runtime.generator = broken
    answers = Answers()
    message = _failing_then_rendering(runtime, answers, FrameRequest(JOINTS, KINECT_V1, use_generator=True))
    assert message == "RuntimeError: boom second line" and answers.frames[0].request_id == 2


def test_a_raising_callback_is_answered_and_the_worker_survives(runtime):
    answers = Answers()

    def broken_view(result):
        raise KeyError("view gone")

    message = _failing_then_rendering(runtime, answers, FrameRequest(JOINTS, KINECT_V1), broken_view)
    assert "showing the frame failed" in message and "view gone" in message


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_non_finite_generator_output_is_a_failed_frame_not_a_picture(runtime, bad):
    def broken(y, transform, cut=True, thickness=1.0):
        crop = disk_crop()
        crop[10:20, 10:20] = bad
        return crop

    runtime.generator = broken
    answers = Answers()
    message = _failing_then_rendering(runtime, answers, FrameRequest(JOINTS, KINECT_V1, use_generator=True))
    assert "100 non-finite values" in message and "not shown" in message
    assert [r.request_id for r in answers.frames] == [2]  # nothing of the NaN frame was shown
    with pytest.raises(FrameError):
        compute_frame(FrameRequest(JOINTS, KINECT_V1, use_generator=True), broken)


def test_a_failure_without_an_error_callback_still_leaves_the_runtime_working(runtime):
    runtime.generator = lambda y, transform, cut=True, thickness=1.0: np.full((CROP_SIZE, CROP_SIZE), np.nan)
    got = []
    runtime.submit(FrameRequest(JOINTS, KINECT_V1, use_generator=True), got.append)
    assert runtime.wait_until_idle(EVENT_TIMEOUT_S)
    assert got == [] and runtime.failed == 1 and "non-finite" in runtime.last_error
    runtime.submit(FrameRequest(JOINTS, KINECT_V1), got.append)
    assert runtime.wait_until_idle(EVENT_TIMEOUT_S) and len(got) == 1


def test_a_raising_error_callback_does_not_kill_the_worker(runtime):
    runtime.generator = lambda y, transform, cut=True, thickness=1.0: 1 / 0
    got = []

    def broken_handler(failure):
        raise RuntimeError("handler bug")

    runtime.submit(FrameRequest(JOINTS, KINECT_V1, use_generator=True), got.append, broken_handler)
    assert runtime.wait_until_idle(EVENT_TIMEOUT_S)
    runtime.submit(FrameRequest(JOINTS, KINECT_V1), got.append, broken_handler)
    assert runtime.wait_until_idle(EVENT_TIMEOUT_S) and len(got) == 1


def test_shutdown_stops_the_worker():
    runtime = DepthRuntime()
    runtime.shutdown()
    with pytest.raises(RuntimeError):
        runtime.submit(FrameRequest(JOINTS, KINECT_V1), lambda r: None)


def test_strength_blends_the_sensor_and_keeps_it_seeded():
    style = SensorStyle("realsense")

    def frame(strength, seed=2):
        return compute_frame(FrameRequest(JOINTS, KINECT_V1, style=style, seed=seed, strength=strength))

    full, none, half = frame(1.0), frame(0.0), frame(0.5)
    np.testing.assert_array_equal(none.depth, none.clean)
    assert not np.array_equal(full.depth, full.clean)
    hand = (half.clean > 0) & (full.depth > 0)
    err_half = np.abs(half.depth[hand] - half.clean[hand]).mean()
    err_full = np.abs(full.depth[hand] - full.clean[hand]).mean()
    assert 0.3 * err_full < err_half < 0.7 * err_full
    np.testing.assert_array_equal(half.depth, frame(0.5).depth)  # same seed, same frame


def test_generator_output_goes_through_the_requested_sensor_style():
    gen = instant_generator
    r = compute_frame(FrameRequest(JOINTS, KINECT_V1, style=SensorStyle("realsense"), seed=3,
                                   use_generator=True), gen)
    np.testing.assert_array_equal(r.generated, paste_crop(gen(None, None), r.transform, surround=r.clean))
    assert not np.array_equal(r.depth, r.generated)
    assert np.abs(r.depth[r.depth > 0] - np.median(r.generated[r.generated > 0])).max() < 200


def test_strength_does_not_change_latest_wins(runtime):
    got = []
    tof = SensorStyle("tof")
    ids = [runtime.submit(FrameRequest(JOINTS, KINECT_V1, style=tof, strength=s / 10), got.append)
           for s in range(10)]
    assert runtime.wait_until_idle(EVENT_TIMEOUT_S)
    assert got[-1].request_id == ids[-1] and got[-1].request.strength == pytest.approx(0.9)
