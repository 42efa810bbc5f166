"""Grey PNG (uint8 / uint16) encoding that skips the empty rows above and below the content.

Why: a dataset sample is three or four 640x480 grey images in which the hand fills a few
percent of the pixels. cv2.imencode filters and deflates every row (1-3 ms an image here);
here the rows without content above and below it are all-zero bytes whose deflate block is
computed once per length and reused, and only the rows in between are deflated. The result is
a standard PNG (one IDAT holding one zlib stream of byte-aligned deflate blocks, filter 0 on
every row) that any reader decodes to the same array. The bytes are a pure function of the
image and the zlib version (engine.dataset records it).

The content rows are deflated in pieces of at most CHUNK_BYTES, each by a fresh compressor
ending on a byte boundary like the zero blocks: a piece that fits zlib's 64 KiB window buffer
is never slid (sliding rehashes the window: 256 kB of zeros took 2.7x as long in one piece
as in 60 kB ones). A styled sample's four frames: 1.42 -> 1.19 ms, 1 % more bytes.
"""
from __future__ import annotations

import functools
import struct
import zlib

import numpy as np

from engine.frame_box import content_rows

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ZLIB_HEADER = b"\x78\x01"  # deflate, 32 KiB window, "fastest" (FLEVEL is informational)
# Deflate level of the content rows. On 200 frames of a Kinect-v1-styled dataset (depth,
# unstyled, labels, mask) level 1 took 0.40 ms a frame and 7.6 kB, level 3 0.44 ms and 7.1 kB,
# level 6 1.0 ms and 4.8 kB (cv2's default: 6.1 kB in 1-3 ms). Level 1: a styled sample's four
# frames are 30 kB instead of 19 kB, and the encoder, not the disk, paces a dataset.
LEVEL = 1
CHUNK_BYTES = 60000  # below zlib's 64 KiB window buffer less its 262-byte lookahead
_ADLER_MOD = 65521  # RFC 1950
_GREY = 0  # PNG colour type


def _deflate_block(data: bytes | np.ndarray) -> bytes:
    """`data` as raw deflate blocks ending on a byte boundary, not final (so blocks chain)."""
    c = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)


def _final_block() -> bytes:
    return zlib.compressobj(LEVEL, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)


_FINAL = _final_block()


ZERO_PIECE_BYTES = 32768  # zero rows are deflated as whole pieces of this many bytes, and the rest


def _zero_block(n: int) -> bytes:
    """`n` zero bytes as deflate blocks: so many ZERO_PIECE_BYTES pieces, one cached block
    repeated, then the rest. Why pieces: the empty rows above or below a hand are up to 600 kB,
    and deflating each new length afresh (a dataset's hands sit at every height) took a
    quarter of a sample's PNG time."""
    whole, rest = divmod(n, ZERO_PIECE_BYTES)
    return _zero_piece(ZERO_PIECE_BYTES) * whole + _zero_piece(rest)


@functools.lru_cache(maxsize=4096)
def _zero_piece(n: int) -> bytes:
    return _deflate_block(bytes(n)) if n else b""


def _adler_zeros(adler: int, n: int) -> int:
    """adler32 after `n` more zero bytes: A is unchanged, B grows by n * A (RFC 1950)."""
    a, b = adler & 0xFFFF, adler >> 16
    return (((b + n * a) % _ADLER_MOD) << 16) | a


def _content_span(win: np.ndarray) -> tuple[int, int]:
    """First and one-past-last row of `win` with a nonzero pixel ((0, 0) when none). A window
    cut to its content (engine.frame_box) has content on its first and last rows, which is
    checked before any scan of the rows between."""
    if win.size == 0:
        return 0, 0
    if win[0].any() and win[-1].any():
        return 0, win.shape[0]
    rows = content_rows(win)
    return (int(rows[0]), int(rows[-1]) + 1) if len(rows) else (0, 0)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_grey_png(image: np.ndarray) -> bytes:
    """A 2-D uint8 or uint16 array as PNG bytes (grey, 8 or 16 bits)."""
    img = np.asarray(image)
    if img.ndim != 2 or img.dtype not in (np.uint8, np.uint16) or 0 in img.shape:
        raise ValueError(f"a grey PNG needs a non-empty 2-D uint8/uint16 array, not {img.dtype} {img.shape}")
    return encode_grey_png_window(img, (0, 0), img.shape)


def encode_grey_png_window(window: np.ndarray, origin: tuple[int, int], shape: tuple[int, int]) -> bytes:
    """The PNG bytes `encode_grey_png` gives for a frame of `shape` that is zero except for
    `window` (uint8 or uint16) placed with its first pixel at `origin` (row, column).

    Why: a sample's frames are mostly empty; a writer that knows where the content lies
    (engine.frame_box) encodes it without making or reading the full frame.
    """
    win = np.asarray(window)
    (h, w), (r0, c0) = shape, origin
    if (win.ndim != 2 or win.dtype not in (np.uint8, np.uint16) or h <= 0 or w <= 0 or r0 < 0 or c0 < 0
            or r0 + win.shape[0] > h or c0 + win.shape[1] > w):
        raise ValueError(f"a grey PNG window needs a 2-D uint8/uint16 array inside the {w}x{h} frame, "
                         f"not {win.dtype} {win.shape} at {origin}")
    first, last = _content_span(win)
    top, bottom = (r0 + first, r0 + last) if last > first else (h, h)
    size = win.itemsize
    row_bytes = w * size + 1  # the filter byte (0: none) first
    content = np.zeros((bottom - top, row_bytes), np.uint8)
    content[:, 1 + c0 * size:1 + (c0 + win.shape[1]) * size] = win[first:last].astype(
        win.dtype.newbyteorder(">"), copy=False).view(np.uint8).reshape(last - first, win.shape[1] * size)
    adler = _adler_zeros(1, top * row_bytes)
    adler = zlib.adler32(content, adler)
    adler = _adler_zeros(adler, (h - bottom) * row_bytes)
    step = max(1, CHUNK_BYTES // row_bytes)  # whole rows a piece
    pieces = [_deflate_block(content[i:i + step]) for i in range(0, bottom - top, step)]
    stream = b"".join((ZLIB_HEADER, _zero_block(top * row_bytes), *pieces,
                       _zero_block((h - bottom) * row_bytes), _FINAL, struct.pack(">I", adler)))
    header = struct.pack(">IIBBBBB", w, h, 8 * size, _GREY, 0, 0, 0)
    return b"".join((PNG_SIGNATURE, _chunk(b"IHDR", header), _chunk(b"IDAT", stream), _chunk(b"IEND", b"")))
