"""engine.png: a grey PNG that skips its empty rows decodes to the very array, every time."""
from __future__ import annotations

import zlib

import cv2
import numpy as np
import pytest

from engine.io_utils import encode_png
from engine.png import encode_grey_png


def decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


def frames() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    hand = np.zeros((480, 640), np.uint16)
    hand[200:260, 300:380] = rng.integers(600, 900, (60, 80))  # content between empty bands
    top = np.zeros((40, 30), np.uint8)
    top[0, 5] = 7  # content on the first row only
    bottom = np.zeros((40, 30), np.uint16)
    bottom[-1] = 65535  # on the last row only
    return [hand, top, bottom, np.zeros((5, 7), np.uint16), np.full((3, 4), 255, np.uint8),
            rng.integers(0, 65536, (33, 17)).astype(np.uint16), np.array([[9]], np.uint8),
            rng.integers(0, 256, (480, 640)).astype(np.uint8)]


@pytest.mark.parametrize("image", frames(), ids=lambda a: f"{a.dtype}-{a.shape}-{int(a.max())}")
def test_it_decodes_to_the_same_array(image):
    back = decode(encode_grey_png(image))
    assert back.dtype == image.dtype
    np.testing.assert_array_equal(back, image)


def test_the_stream_is_valid_zlib_and_the_bytes_are_a_function_of_the_image():
    image = frames()[0]
    data = encode_grey_png(image)
    assert data == encode_grey_png(image.copy())
    start = data.index(b"IDAT") + 4
    length = int.from_bytes(data[start - 8:start - 4], "big")
    raw = zlib.decompress(data[start:start + length])  # checks the adler32 of the skipped rows too
    assert len(raw) == 480 * (640 * 2 + 1)


def test_encode_png_takes_colour_through_cv2_and_refuses_nothing_it_took_before():
    colour = np.zeros((4, 5, 3), np.uint8)
    colour[1, 2] = (1, 2, 3)
    np.testing.assert_array_equal(decode(encode_png(colour)), colour)
    with pytest.raises(ValueError, match="2-D uint8/uint16"):
        encode_grey_png(np.zeros((4, 4), np.float32))


@pytest.mark.parametrize("chunk_bytes", [1, 100, 5000])
def test_content_deflated_in_pieces_decodes_to_the_same_array(monkeypatch, chunk_bytes):
    """Each piece of content rows is its own compressor's output (one row a piece at the least)."""
    monkeypatch.setattr("engine.png.CHUNK_BYTES", chunk_bytes)
    for image in frames():
        back = decode(encode_grey_png(image))
        np.testing.assert_array_equal(back, image)


def test_rows_found_by_words_and_by_pixels_agree():
    """Rows whose bytes are a whole number of 8-byte words are scanned as words; odd widths and
    non-contiguous views by pixel: both give the same PNG."""
    image = frames()[0]
    view = image[:, 1:]  # not contiguous
    np.testing.assert_array_equal(decode(encode_grey_png(view)), view)
    odd = np.ascontiguousarray(view)  # 639 px: not whole words
    np.testing.assert_array_equal(decode(encode_grey_png(odd)), odd)
    assert encode_grey_png(image) == encode_grey_png(np.ascontiguousarray(image))


def test_a_window_gives_the_bytes_of_its_whole_frame():
    """encode_grey_png_window(window at origin) == encode_grey_png(the frame that is zero but
    for it), wherever the window lies and whatever zero rows or columns it has itself."""
    from engine.png import encode_grey_png_window

    rng = np.random.default_rng(3)
    for dtype in (np.uint8, np.uint16):
        for r0, c0, hh, ww in [(0, 0, 480, 640), (200, 300, 60, 80), (0, 5, 3, 4), (477, 636, 3, 4), (10, 10, 0, 0)]:
            window = rng.integers(0, 3, (hh, ww)).astype(dtype)
            if hh > 2:
                window[0] = 0  # an empty first row inside the window
                window[:, -1] = 0
            frame = np.zeros((480, 640), dtype)
            frame[r0:r0 + hh, c0:c0 + ww] = window
            data = encode_grey_png_window(window, (r0, c0), frame.shape)
            assert data == encode_grey_png(frame)
            np.testing.assert_array_equal(decode(data), frame)
    with pytest.raises(ValueError, match="inside the 640x480 frame"):
        encode_grey_png_window(np.ones((4, 4), np.uint8), (478, 0), (480, 640))


@pytest.mark.parametrize("n", [0, 1, 32767, 32768, 32769, 65536, 615_000])
def test_zero_runs_inflate_to_that_many_zeros(n):
    """Empty rows are whole cached pieces and a rest: the blocks chain into n zeros exactly."""
    from engine.png import _FINAL, _zero_block

    assert zlib.decompress(_zero_block(n) + _FINAL, -15) == bytes(n)
