"""The numpy skeleton encoding draws the torch encoding's picture (G must see the same input)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.data.readers.sim import SimConfig, crop_sample
from engine.models.fast_encoding import encode_pose_numpy
from engine.models.generator import ENCODING_SIZE
from engine.models.pose_encoding import crop_view, encode_pose

TOLERANCE = 1e-4  # the cut-off at CUTOFF_SIGMAS leaves < 4e-6; float32 rounding far less


def _poses(count: int = 12) -> tuple[np.ndarray, np.ndarray]:
    samples = [crop_sample(SimConfig(seed=7), i) for i in range(count)]
    return np.stack([s.y for s in samples]), np.stack([crop_view(s.transform) for s in samples])


@pytest.mark.parametrize("size", [ENCODING_SIZE, 128])
def test_numpy_encoding_equals_torch_encoding(size):
    y, view = _poses()
    ref = encode_pose(torch.from_numpy(y), torch.from_numpy(view), size=size).numpy()
    fast = encode_pose_numpy(y, view, size=size)
    assert fast.shape == ref.shape and fast.dtype == np.float32
    assert np.abs(fast - ref).max() < TOLERANCE
    assert fast[:, :7].max() > 0.9  # bones were drawn, not two empty pictures compared


def test_numpy_encoding_skips_missing_joints_like_torch():
    y, view = _poses(4)
    y[0, 8] = np.nan  # a fingertip
    y[1, [5, 9, 13, 17]] = np.nan  # every MCP: no hand length, no forearm
    y[2] = np.nan  # nothing at all
    ref = encode_pose(torch.from_numpy(y), torch.from_numpy(view), size=ENCODING_SIZE).numpy()
    fast = encode_pose_numpy(y, view, size=ENCODING_SIZE)
    assert np.isfinite(fast).all()
    assert np.abs(fast - ref).max() < TOLERANCE
    assert fast[2, :14].max() == 0.0


def test_numpy_encoding_without_view_is_orthographic_like_torch():
    y, _ = _poses(3)
    ref = encode_pose(torch.from_numpy(y), size=ENCODING_SIZE).numpy()
    assert np.abs(encode_pose_numpy(y, None, size=ENCODING_SIZE) - ref).max() < TOLERANCE


def test_numpy_encoding_rejects_a_bad_shape_in_one_line():
    with pytest.raises(ValueError, match=r"\(B, 21, 3\)"):
        encode_pose_numpy(np.zeros((2, 20, 3), np.float32))


@pytest.mark.parametrize("size", [ENCODING_SIZE, 128])
def test_a_batch_is_drawn_as_each_pose_alone_bit_for_bit(size, monkeypatch):
    """From ENCODE_GROUP poses up each part is drawn for groups of poses at once; every pixel is
    still the one-pose path's (_draw) float32 arithmetic, so G's input does not depend on how
    poses are batched."""
    from engine.models import fast_encoding

    y, view = _poses(fast_encoding.ENCODE_GROUP + 4)  # two groups
    y[3, 8] = np.nan  # a pose with a missing joint among whole ones (drawn by _draw itself)
    grouped = []
    draw_batch = fast_encoding._draw_batch
    monkeypatch.setattr(fast_encoding, "_draw_batch", lambda out, rows, *a: grouped.extend(rows) or
                        draw_batch(out, rows, *a))
    batch = encode_pose_numpy(y, view, size=size)
    assert sorted(grouped) == [i for i in range(len(y)) if i != 3]
    for i in range(len(y)):
        alone = np.zeros_like(batch[i])
        alone[-3:] = batch[i, -3:]  # the coordinate and view channels, not drawn per part
        fast_encoding._draw(alone, y[i], view[i], size, fast_encoding.SIGMA_PX)
        np.testing.assert_array_equal(batch[i], alone)
    grouped.clear()
    np.testing.assert_array_equal(encode_pose_numpy(y[5:6], view[5:6], size=size), batch[5:6])
    assert grouped == []  # one pose, a live frame: drawn alone
