"""The crop bank (rendered once, cached, resumable) and nearest-pose retrieval."""
from __future__ import annotations

import numpy as np
import pytest

from engine.data import crop_bank
from engine.data.crop_bank import open_bank
from engine.data.readers.sim import SimConfig, crop_sample
from engine.eval.baseline import nearest_pose, retrieve


def test_nearest_pose_uses_only_labelled_joints():
    bank = np.zeros((3, 2, 3), np.float32)
    bank[1, 0] = [1, 0, 0]
    bank[2, 0] = [1, 0, 0]
    bank[2, 1] = [0, 5, 0]
    q = np.array([[[1, 0, 0], [0, 5, 0]],  # exactly bank pose 2
                  [[1, 0, 0], [np.nan] * 3],  # joint 1 unknown: poses 1 and 2 tie at 0; first wins
                  [[np.nan] * 3, [np.nan] * 3]], np.float32)  # nothing to match
    assert nearest_pose(bank, q).tolist() == [2, 1, -1]


def test_nearest_pose_blocks_agree_with_brute_force():
    rng = np.random.default_rng(0)
    bank, q = rng.normal(size=(50, 21, 3)), rng.normal(size=(30, 21, 3))
    brute = ((q[:, None] - bank[None]) ** 2).sum(axis=(2, 3)).argmin(axis=1)
    assert nearest_pose(bank, q, block=7).tolist() == brute.tolist()


def test_bank_holds_the_stream_and_is_reused(tmp_path, monkeypatch):
    config = SimConfig(seed=5, sensors=("none", "kinect_v1"))
    bank = open_bank(tmp_path, config, 4)
    for i in range(4):
        s = crop_sample(config, i)
        np.testing.assert_allclose(bank.depth[i], s.depth, atol=1e-3)
        np.testing.assert_array_equal(bank.y[i], s.y)
        assert config.sensors[bank.sensor[i]] == s.sensor

    def no_render(*_):
        raise AssertionError("a complete bank must not be rendered again")

    monkeypatch.setattr(crop_bank, "crop_sample", no_render)
    again = open_bank(tmp_path, config, 4)
    np.testing.assert_array_equal(again.y, bank.y)


def test_interrupted_bank_resumes_where_it_stopped(tmp_path, monkeypatch):
    config = SimConfig(seed=6)
    monkeypatch.setattr(crop_bank, "_CHUNK", 2)

    def stop_after_first_chunk(done, total):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        open_bank(tmp_path, config, 5, progress=stop_after_first_chunk)
    rendered = []
    real = crop_bank.crop_sample
    monkeypatch.setattr(crop_bank, "crop_sample", lambda c, i: rendered.append(i) or real(c, i))
    bank = open_bank(tmp_path, config, 5)
    assert rendered == [2, 3, 4]
    np.testing.assert_array_equal(bank.y[0], crop_sample(config, 0).y)


def test_retrieve_returns_the_nearest_training_image(tmp_path):
    config = SimConfig(seed=7)
    bank = open_bank(tmp_path, config, 6)
    query = np.asarray(bank.y[[4, 1]]) + 0.001
    crops, idx = retrieve(bank, query)
    assert idx.tolist() == [4, 1]
    np.testing.assert_array_equal(crops[0], np.asarray(bank.depth[4], np.float32))
    crops, idx = retrieve(bank, np.full((1, 21, 3), np.nan, np.float32))
    assert idx.tolist() == [-1] and (crops == 1.0).all()


def test_cache_dir_prefers_explicit_then_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(crop_bank.CACHE_ENV, str(tmp_path / "env"))
    assert crop_bank.cache_dir(tmp_path / "x") == tmp_path / "x"
    assert crop_bank.cache_dir() == tmp_path / "env"
    monkeypatch.delenv(crop_bank.CACHE_ENV)
    assert crop_bank.cache_dir() == crop_bank.DEFAULT_CACHE_DIR


@pytest.mark.parametrize("damage", ["meta_garbage", "meta_empty", "array_cut_short"])
def test_a_damaged_bank_cache_is_rebuilt_not_an_error(tmp_path, damage):
    config = SimConfig(seed=7)
    first = open_bank(tmp_path, config, 3)
    folder = first.path
    del first
    if damage == "meta_garbage":
        (folder / "meta.json").write_bytes(b"\x00\xff not json")
    elif damage == "meta_empty":
        (folder / "meta.json").write_text("")
    else:
        data = (folder / "depth.npy").read_bytes()
        (folder / "depth.npy").write_bytes(data[: len(data) // 3])
    bank = open_bank(tmp_path, config, 3)
    for i in range(3):
        np.testing.assert_allclose(bank.depth[i], crop_sample(config, i).depth, atol=1e-3)


def test_view_aware_retrieval_prefers_the_same_pose_seen_from_the_same_view():
    from types import SimpleNamespace

    from engine.eval.baseline import retrieve

    rng = np.random.default_rng(0)
    y = rng.uniform(-0.4, 0.4, (21, 3)).astype(np.float32)
    on_axis = np.zeros(5, np.float32)
    off_axis = np.array([0.35, 0.0, 0.25, 0.0, 0.0], np.float32)  # seen obliquely
    bank = SimpleNamespace(y=np.stack([y, y + 0.02]), view=np.stack([on_axis, off_axis]),
                           depth=np.stack([np.zeros((128, 128)), np.ones((128, 128))]).astype(np.float16))
    # By pose alone the exact pose wins; with the query's view the crop seen like it does.
    assert retrieve(bank, y[None])[1][0] == 0
    assert retrieve(bank, y[None], off_axis[None])[1][0] == 1
