"""A CPU batch split across worker threads (engine.batch_threads) gives the bytes one thread
gives, leaves the caller's torch thread count alone, and says a shard's failure."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from engine import batch_threads, runtime_batch
from engine.camera import KINECT_V1
from engine.data.readers.sim import SimConfig, crop_sample
from engine.models.generator import load_generator
from engine.models.inference import InferenceGenerator
from engine.runtime_batch import SHARD_ALIGN, generate_batch
from engine.style.learned import LearnedStyle, crop_to_mm
from engine.style.registry import resolve_style


@pytest.fixture(scope="module")
def int8_generator():
    return InferenceGenerator(load_generator()[0], backend="int8")


@pytest.fixture(scope="module")
def learned():
    s = crop_sample(SimConfig(seed=321, sensors=("kinect_v1",)), 0)
    return LearnedStyle(crop_to_mm(s.depth, float(s.transform.centre[2])), name="kinect").prepare()


@pytest.fixture(scope="module")
def joints():
    """2 * SHARD_ALIGN + 1 poses: two full shards and a shard of one."""
    from engine.data.crop import denormalise_joints

    samples = [crop_sample(SimConfig(seed=13), i) for i in range(2 * SHARD_ALIGN + 1)]
    return np.stack([np.asarray(denormalise_joints(s.y, s.transform), np.float64) for s in samples])


@pytest.fixture
def threads():
    """Run the test at a given torch thread count, then restore the suite's."""
    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)


def _spy_shards(monkeypatch) -> list[int]:
    sizes: list[int] = []
    run = batch_threads.run_shards
    monkeypatch.setattr(runtime_batch, "run_shards",
                        lambda fn, shards: sizes.extend(len(s[1]) for s in shards) or run(fn, shards))
    return sizes


@pytest.mark.parametrize("frames", [False, True])
def test_a_batch_split_across_threads_is_the_bytes_of_one_thread(int8_generator, learned, joints, threads,
                                                                 monkeypatch, frames):
    style = learned if not frames else resolve_style("realsense").prepare()
    sizes = _spy_shards(monkeypatch)
    threads(1)
    one = generate_batch(int8_generator, joints, KINECT_V1, style, seeds=3, frames=frames)
    assert sizes == []
    threads(2)
    split = generate_batch(int8_generator, joints, KINECT_V1, style, seeds=3, frames=frames)
    assert sizes == [2 * SHARD_ALIGN, 1]  # the shard of one is styled as part of the batch, not alone
    np.testing.assert_array_equal(split.crops, one.crops)
    assert [t.centre.tolist() for t in split.transforms] == [t.centre.tolist() for t in one.transforms]
    for a, b, c, d in zip(split.depth, one.depth, split.unstyled, one.unstyled):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(c, d)
    assert sum(int((d > 0).sum()) for d in split.depth) > 500 * len(joints)  # hands, not empty frames


def test_shards_follow_the_callers_threads_in_whole_style_batches(int8_generator):
    shards = runtime_batch._shards
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert shards(int8_generator, 4 * SHARD_ALIGN) == [slice(0, 2 * SHARD_ALIGN), slice(2 * SHARD_ALIGN, 4 * SHARD_ALIGN)]
        assert shards(int8_generator, 2 * SHARD_ALIGN + 3) == [slice(0, 2 * SHARD_ALIGN), slice(2 * SHARD_ALIGN, 2 * SHARD_ALIGN + 3)]
        assert shards(int8_generator, 2 * SHARD_ALIGN - 1) == [slice(0, 2 * SHARD_ALIGN - 1)]  # too small to split
        torch.set_num_threads(1)
        assert shards(int8_generator, 8 * SHARD_ALIGN) == [slice(0, 8 * SHARD_ALIGN)]
    finally:
        torch.set_num_threads(before)


def test_workers_run_one_torch_thread_and_the_callers_count_stays(threads):
    threads(2)
    x = torch.randn(64, 64)
    seen = batch_threads.run_shards(lambda _: torch.mm(x, x) is not None and torch.get_num_threads(), [(0,), (1,)])
    assert seen == [1, 1]
    assert torch.get_num_threads() == 2
    later: list[int] = []  # a thread that starts torch afterwards takes up the caller's count, not 1
    t = threading.Thread(target=lambda: later.append(torch.get_num_threads()))
    t.start()
    t.join()
    assert later == [2]


def test_a_failing_shard_raises_to_the_caller():
    def shard(i: int) -> int:
        if i == 1:
            raise ValueError("shard 1 failed")
        return i

    with pytest.raises(ValueError, match="shard 1 failed"):
        batch_threads.run_shards(shard, [(0,), (1,), (2,)])
    assert batch_threads.run_shards(shard, [(0,), (2,)]) == [0, 2]
