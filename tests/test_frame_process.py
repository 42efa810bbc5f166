"""engine.frame_process: a frame computed in the child is the frame computed in-thread, byte for
byte; the child's failures read as the runtime's own; a child that dies or has no generator
leaves the runtime computing frames itself."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from engine.camera import ICVL_MSRA, KINECT_V1
from engine.frame_process import FrameProcess
from engine.generator_loading import load_default_generator
from engine.hand.sampler import sample_pose_and_joints
from engine.runtime import DepthRuntime, FrameError, FrameRequest, compute_frame
from engine.style.registry import resolve_style

TIMEOUT_S = 120.0


def _nan_loader():
    """A generator that returns NaN: the child's FrameError must reach the runtime's caller."""
    return (lambda y, t, cut=True, thickness=1.0: np.full((128, 128), np.nan, np.float32)), "CPU", "NaN generator"


def _no_generator_loader():
    return None, "CPU", "No generator at nowhere.safetensors: simulator only"


@pytest.fixture(scope="module")
def generator():
    """The shipped generator as the app loads it: int8, on one torch thread (the loader sets the
    process's thread count, which the child does too; restored for the rest of the suite)."""
    threads = torch.get_num_threads()
    gen, _, message = load_default_generator()
    yield gen, message
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def process(generator):
    fp = FrameProcess()
    assert fp.wait_ready(TIMEOUT_S), fp.message
    yield fp
    fp.close()


def _requests(count: int, camera=KINECT_V1, seed: int = 0, **kwargs) -> list[FrameRequest]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        hand, joints = sample_pose_and_joints(rng, camera=camera)
        out.append(FrameRequest(joints=joints, camera=camera, thickness=hand.shape.thickness, seed=i,
                                use_generator=True, **kwargs))
    return out


def _assert_same_frame(a, b) -> None:
    assert np.array_equal(a.depth, b.depth)
    assert np.array_equal(a.generated, b.generated)
    assert np.array_equal(a.generated_labels, b.generated_labels)
    assert a.generated is None or (a.generated_labels is not None and a.generated_labels.dtype == np.uint8)
    assert np.array_equal(a.simulator, b.simulator)
    assert np.array_equal(a.clean, b.clean) and np.array_equal(a.labels, b.labels)
    assert np.array_equal(a.rendered.get().joints_2d, b.rendered.get().joints_2d)
    assert np.array_equal(a.transform.centre, b.transform.centre)
    assert (a.transform.u0, a.transform.v0, a.transform.size_px, a.transform.cube) == \
        (b.transform.u0, b.transform.v0, b.transform.size_px, b.transform.cube)
    assert a.range_warning == b.range_warning


def test_the_child_loads_the_apps_generator(process, generator):
    assert process.ready() and process.alive
    assert process.message == generator[1]


@pytest.mark.parametrize("style_name", [None, "kinect_v1", "sr305_palm_a"])
def test_a_frame_from_the_child_is_the_frame_computed_here(process, generator, style_name):
    style = None if style_name is None else resolve_style(style_name)
    # raw output and the cut, with and without the styled simulator, a second camera size
    requests = (_requests(2, style=style) + _requests(1, style=style, silhouette_cut=False)
                + _requests(1, style=style, with_simulator=True) + _requests(1, ICVL_MSRA, style=style))
    for i, request in enumerate(requests):
        remote = process.compute(request, i)
        assert remote.request_id == i and "process_total" in remote.timings_ms
        local = compute_frame(request, generator[0], i)
        # a whole render the child made comes back with the frame, not rendered again here
        assert remote.rendered.made == local.rendered.made
        _assert_same_frame(remote, local)


def test_switching_styles_back_and_forth_styles_each_frame_with_its_own(process, generator):
    kinect, tof = resolve_style("kinect_v1"), resolve_style("tof")
    for i, style in enumerate([kinect, tof, None, kinect]):
        request = _requests(1, seed=10 + i, style=style)[0]
        _assert_same_frame(process.compute(request, i), compute_frame(request, generator[0], i))


def test_the_childs_failure_is_the_runtimes_one_line_message():
    fp = FrameProcess(_nan_loader)
    try:
        assert fp.wait_ready(TIMEOUT_S)
        request = _requests(1)[0]
        with pytest.raises(FrameError) as remote:
            fp.compute(request, 1)
        with pytest.raises(FrameError) as local:
            compute_frame(request, _nan_loader()[0], 1)
        assert str(remote.value) == str(local.value) and "non-finite" in str(remote.value)
        # the child survives its frame's failure
        with pytest.raises(FrameError):
            fp.compute(request, 2)
        assert fp.alive
    finally:
        fp.close()
    assert not fp.alive


def _answer(runtime: DepthRuntime, request: FrameRequest):
    done = threading.Event()
    got = []
    runtime.submit(request, lambda r: (got.append(r), done.set()), lambda f: (got.append(f), done.set()))
    assert done.wait(TIMEOUT_S)
    return got[0]


def test_the_runtime_sends_generator_frames_to_the_process_and_keeps_simulator_frames(generator):
    runtime = DepthRuntime(generator[0])
    fp = FrameProcess()
    runtime.use_process(fp)
    try:
        assert fp.wait_ready(TIMEOUT_S) and runtime.computes_in_process
        request = _requests(1)[0]
        remote = _answer(runtime, request)
        assert "process_total" in remote.timings_ms
        _assert_same_frame(remote, compute_frame(request, generator[0]))
        from dataclasses import replace
        simulator = _answer(runtime, replace(request, use_generator=False))
        assert "process_total" not in simulator.timings_ms and simulator.generated is None
    finally:
        runtime.shutdown()
    assert runtime.process is None and not fp.alive


def test_a_child_that_dies_leaves_the_runtime_computing_its_frames(generator):
    runtime = DepthRuntime(generator[0])
    fp = FrameProcess()
    runtime.use_process(fp)
    try:
        assert fp.wait_ready(TIMEOUT_S)
        fp._process.kill()
        fp._process.join(TIMEOUT_S)
        request = _requests(1, seed=3)[0]
        frame = _answer(runtime, request)  # computed here, not a failure
        assert "process_total" not in frame.timings_ms
        _assert_same_frame(frame, compute_frame(request, generator[0]))
        assert runtime.process is None and not runtime.computes_in_process
        assert "process_total" not in _answer(runtime, request).timings_ms
    finally:
        runtime.shutdown()


def test_a_child_without_a_generator_is_dropped(generator):
    runtime = DepthRuntime(generator[0])
    fp = FrameProcess(_no_generator_loader)
    runtime.use_process(fp)
    try:
        assert fp.wait_ready(TIMEOUT_S) is False and "simulator only" in fp.message
        frame = _answer(runtime, _requests(1)[0])
        assert frame.generated is not None and "process_total" not in frame.timings_ms
        assert runtime.process is None
    finally:
        runtime.shutdown()
    assert not fp.alive


def test_a_process_given_to_a_shut_down_runtime_is_closed():
    runtime = DepthRuntime()
    runtime.shutdown()
    fp = FrameProcess(_no_generator_loader)
    runtime.use_process(fp)
    assert runtime.process is None and not fp.alive
