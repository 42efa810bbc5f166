"""Where a frame's content lies: the rows, and the box, holding every pixel whose bytes are not
all zero.

Why: a dataset sample's frames are 640x480 and the hand fills a few percent of them. A full-frame
pass costs 20-100 us (an OpenCV inRange about 100, a uint16 conversion 90), and a sample made
a dozen of them to find, test or convert those few pixels. Finding the box reads each row as
8-byte words (one integer max per word), and the work then runs on the box alone.

Bits, not values: a pixel is content when any of its bytes is nonzero, so for float frames
-0.0 and NaN count too. The box is then a superset of the pixels any value test (> 0, in a
range, non-finite) can pick, and a caller that applies its test inside the box gets what the
test over the whole frame gives, bit for bit: everything outside is +0.
"""
from __future__ import annotations

import numpy as np

Box = tuple[slice, slice]


def _words(image: np.ndarray) -> np.ndarray:
    """`image` (2-D) as unsigned integers over the same bytes: 8-byte words where each row is a
    whole number of them, else one integer a pixel."""
    a = np.ascontiguousarray(image)
    if a.dtype == np.bool_:
        a = a.view(np.uint8)
    if (a.shape[1] * a.itemsize) % 8 == 0:
        return a.view(np.uint64)
    return a.view(f"u{a.itemsize}")


def content_rows(image: np.ndarray) -> np.ndarray:
    """Indices (ascending) of the rows of a 2-D array with a pixel whose bytes are not all zero."""
    a = np.asarray(image)
    if a.ndim != 2:
        raise ValueError(f"a frame must be 2-D, not of shape {a.shape}")
    if a.size == 0:
        return np.zeros(0, np.intp)
    return np.flatnonzero(_words(a).max(axis=1))


def content_box(image: np.ndarray) -> Box | None:
    """(rows, cols) slices of the smallest box holding every pixel whose bytes are not all zero;
    None when there is none (an empty frame)."""
    a = np.asarray(image)
    rows = content_rows(a)
    if rows.size == 0:
        return None
    band = np.ascontiguousarray(a[rows[0]:rows[-1] + 1])
    if band.dtype == np.bool_:
        band = band.view(np.uint8)
    cols = np.flatnonzero(band.view(f"u{band.itemsize}").max(axis=0))
    return slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)
