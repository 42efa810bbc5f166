"""engine.frame_box: the box holds every pixel whose bytes are not zero, for every dtype and
width (8-byte words or not), so work confined to it is the work over the whole frame."""
from __future__ import annotations

import numpy as np
import pytest

from engine.frame_box import content_box, content_rows


def reference_box(a: np.ndarray):
    nz = np.ascontiguousarray(a).view(f"u{a.itemsize}") != 0 if a.dtype != np.bool_ else a
    rows, cols = np.flatnonzero(nz.any(axis=1)), np.flatnonzero(nz.any(axis=0))
    if rows.size == 0:
        return None
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64, np.bool_])
@pytest.mark.parametrize("width", [640, 7, 1, 12])
def test_box_matches_a_pixel_by_pixel_scan(dtype, width):
    rng = np.random.default_rng(width)
    for _ in range(20):
        a = np.zeros((9, width), dtype)
        for _ in range(rng.integers(0, 4)):
            a[rng.integers(0, 9), rng.integers(0, width)] = 1
        assert content_box(a) == reference_box(a)
        assert list(content_rows(a)) == list(np.flatnonzero(a.any(axis=1)))


def test_float_bits_count_not_values():
    """-0.0 and NaN are content (a superset of every value test); +0 is not."""
    a = np.zeros((5, 8), np.float32)
    assert content_box(a) is None and content_rows(a).size == 0
    a[1, 2] = -0.0
    a[3, 6] = np.nan
    assert content_box(a) == (slice(1, 4), slice(2, 7))


def test_views_and_errors():
    a = np.zeros((6, 10), np.uint16)
    a[2, 3] = 5
    view = a[:, 1:]  # not contiguous
    assert content_box(view) == (slice(2, 3), slice(2, 3))
    assert content_box(np.zeros((0, 4), np.uint8)) is None
    with pytest.raises(ValueError, match="2-D"):
        content_rows(np.zeros(4))
