"""A CPU batch split across worker threads (engine.batch_threads) gives the bytes one thread
gives, leaves the caller's torch thread count alone, and says a shard's failure."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from engine import batch_threads, runtime_batch
from engine.camera import KINECT_V1
from engine.data.crop import denormalise_joints
from engine.data.readers.sim import SimConfig, crop_sample
from engine.models.generator import load_generator
from engine.models.inference import InferenceGenerator
from engine.runtime_batch import generate_batch, shard_align
from engine.style.learned import LearnedStyle, crop_to_mm
from engine.style.registry import resolve_style


def shipped_model():
    return load_generator()[0]


@pytest.fixture(scope="module")
def int8_generator():
    return InferenceGenerator(shipped_model(), backend="int8")


@pytest.fixture(scope="module")
def learned():
    s = crop_sample(SimConfig(seed=321, sensors=("kinect_v1",)), 0)
    return LearnedStyle(crop_to_mm(s.depth, float(s.transform.centre[2])), name="kinect").prepare()


@pytest.fixture(scope="module")
def joints():
    """Poses enough for two int8 shards with a partial network chunk in the second."""
    samples = [crop_sample(SimConfig(seed=13), i) for i in range(97)]
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


@pytest.mark.parametrize("count, frames, shards", [(97, False, [64, 33]), (65, True, [64, 1]), (80, False, [64, 16])])
def test_a_batch_split_across_threads_is_the_bytes_of_one_thread(int8_generator, learned, joints, threads,
                                                                 monkeypatch, count, frames, shards):
    """Shards split at G's chunk (32 for int8), not only at the style's batch (16): a shard of
    48 would run G on chunks the whole batch never makes. A shard of one pose is styled as a
    batch, as the whole batch is, not as a live frame."""
    style = learned if not frames else resolve_style("realsense").prepare()
    poses = joints[:count]
    sizes = _spy_shards(monkeypatch)
    threads(1)
    one = generate_batch(int8_generator, poses, KINECT_V1, style, seeds=3, frames=frames)
    assert sizes == []
    threads(2)
    split = generate_batch(int8_generator, poses, KINECT_V1, style, seeds=3, frames=frames)
    assert sizes == shards
    np.testing.assert_array_equal(split.crops, one.crops)
    assert [t.centre.tolist() for t in split.transforms] == [t.centre.tolist() for t in one.transforms]
    for a, b, c, d in zip(split.depth, one.depth, split.unstyled, one.unstyled, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(c, d)
    assert sum(int((d > 0).sum()) for d in split.depth) > 500 * count  # hands, not empty frames


def test_shards_follow_the_callers_threads_in_whole_chunks(int8_generator, threads):
    shards = runtime_batch._shards
    align = shard_align(int8_generator)
    assert align == 32  # int8 G's chunk (32), a multiple of the style stage's batch (16)
    assert shard_align(InferenceGenerator(shipped_model(), backend="torch")) == 16  # float G: 8
    threads(2)
    assert shards(int8_generator, 4 * align) == [slice(0, 2 * align), slice(2 * align, 4 * align)]
    assert shards(int8_generator, 2 * align - 1) == [slice(0, 2 * align - 1)]  # too small to split
    threads(3)
    assert shards(int8_generator, 5 * align) == [slice(0, 2 * align), slice(2 * align, 4 * align),
                                                 slice(4 * align, 5 * align)]
    threads(1)
    assert shards(int8_generator, 8 * align) == [slice(0, 8 * align)]


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
