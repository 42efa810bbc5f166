"""The latest-wins runtime: never blocks, drops stale requests, delivers in order."""
import threading
import time

import numpy as np
import pytest

from engine.camera import KINECT_V1
from engine.data.crop import CROP_SIZE, paste_crop
from engine.hand.model import HandPose
from engine.runtime import DepthRuntime, FrameRequest, compute_frame

JOINTS = HandPose().joints()


def slow_generator(delay: float):
    """A generator that takes `delay` seconds: a hand held half a crop's depth in front."""
    def generate(y, transform):
        time.sleep(delay)
        return np.where(np.hypot(*np.mgrid[-1:1:CROP_SIZE * 1j, -1:1:CROP_SIZE * 1j]) < 0.5, -0.5, 1.0)
    return generate


def test_simulator_frame_is_consistent():
    r = compute_frame(FrameRequest(JOINTS, KINECT_V1, sensor="none"))
    assert r.depth.shape == (480, 640) and r.crop.shape == (CROP_SIZE, CROP_SIZE)
    np.testing.assert_array_equal(r.depth, r.clean)
    assert ((r.labels > 0) == (r.clean > 0)).all()
    assert {"render", "sensor", "total"} <= set(r.timings_ms)
    noisy = compute_frame(FrameRequest(JOINTS, KINECT_V1, sensor="kinect_v1", seed=1))
    assert not np.array_equal(noisy.depth, noisy.clean)


def test_generator_frame_is_pasted_into_the_full_frame():
    gen = slow_generator(0.0)
    r = compute_frame(FrameRequest(JOINTS, KINECT_V1, use_generator=True), gen)
    np.testing.assert_array_equal(r.depth, paste_crop(gen(None, None), r.transform))
    assert "generator" in r.timings_ms


def test_submit_never_blocks_and_latest_wins():
    runtime = DepthRuntime(generator=slow_generator(0.2))
    delivered = []
    done = threading.Event()

    def on_frame(result):
        delivered.append(result.request_id)
        done.set()

    try:
        t0 = time.perf_counter()
        ids = [runtime.submit(FrameRequest(JOINTS + i, KINECT_V1, use_generator=True), on_frame) for i in range(20)]
        assert time.perf_counter() - t0 < 0.1  # 20 submits while a 0.2 s frame renders
        assert runtime.wait_until_idle(10)
        assert delivered[-1] == ids[-1]  # the newest pose is what ends up on screen
        assert len(delivered) <= 2 and runtime.dropped >= 18
        assert delivered == sorted(delivered)
    finally:
        runtime.shutdown()


def test_errors_do_not_kill_the_worker():
    def broken(y, transform):
        raise RuntimeError("boom")

    runtime = DepthRuntime(generator=broken)
    got = []
    try:
        runtime.submit(FrameRequest(JOINTS, KINECT_V1, use_generator=True), got.append)
        assert runtime.wait_until_idle(5)
        assert got == [] and "boom" in runtime.last_error
        runtime.submit(FrameRequest(JOINTS, KINECT_V1), got.append)
        assert runtime.wait_until_idle(5) and len(got) == 1
    finally:
        runtime.shutdown()


def test_shutdown_stops_the_worker():
    runtime = DepthRuntime()
    runtime.shutdown()
    with pytest.raises(RuntimeError):
        runtime.submit(FrameRequest(JOINTS, KINECT_V1), lambda r: None)


def test_strength_blends_the_sensor_and_keeps_it_seeded():
    def frame(strength, seed=2):
        return compute_frame(FrameRequest(JOINTS, KINECT_V1, sensor="realsense", seed=seed, strength=strength))

    full, none, half = frame(1.0), frame(0.0), frame(0.5)
    np.testing.assert_array_equal(none.depth, none.clean)
    assert not np.array_equal(full.depth, full.clean)
    hand = (half.clean > 0) & (full.depth > 0)
    err_half = np.abs(half.depth[hand] - half.clean[hand]).mean()
    err_full = np.abs(full.depth[hand] - full.clean[hand]).mean()
    assert 0.3 * err_full < err_half < 0.7 * err_full
    np.testing.assert_array_equal(half.depth, frame(0.5).depth)  # same seed, same frame


def test_generator_output_goes_through_the_requested_sensor():
    gen = slow_generator(0.0)
    r = compute_frame(FrameRequest(JOINTS, KINECT_V1, sensor="realsense", seed=3, use_generator=True), gen)
    np.testing.assert_array_equal(r.generated, paste_crop(gen(None, None), r.transform))
    assert not np.array_equal(r.depth, r.generated)
    assert np.abs(r.depth[r.depth > 0] - np.median(r.generated[r.generated > 0])).max() < 200


def test_strength_does_not_change_latest_wins():
    runtime = DepthRuntime()
    got = []
    try:
        ids = [runtime.submit(FrameRequest(JOINTS, KINECT_V1, sensor="tof", strength=s / 10), got.append)
               for s in range(10)]
        assert runtime.wait_until_idle(10)
        assert got[-1].request_id == ids[-1] and got[-1].request.strength == pytest.approx(0.9)
    finally:
        runtime.shutdown()
