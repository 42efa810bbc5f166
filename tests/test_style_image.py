"""The one style-image loader: real frames decode to hand depths; bad files get one line."""
from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

import engine.style.image as style_image
from engine.style.image import MAX_SIDE_PX, StyleImageError, read_depth_image

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "real_depth_samples"
REAL = sorted(SAMPLES.glob("*/*/*.png")) + sorted(SAMPLES.glob("nyu/*.png"))


def hand_depth(depth: np.ndarray) -> float:
    return float(np.percentile(depth[depth > 0], 1))


def one_line_naming(err: pytest.ExceptionInfo, path: Path) -> bool:
    return "\n" not in str(err.value) and path.name in str(err.value)


def blob_frame(value: float, shape=(120, 160)) -> np.ndarray:
    """A hand-sized blob at `value` in front of nothing."""
    depth = np.zeros(shape, np.float32)
    cv2.circle(depth, (80, 60), 30, value, -1)
    depth[depth > 0] += np.linspace(0, 40, shape[1], dtype=np.float32)[None].repeat(shape[0], 0)[depth > 0]
    return depth


@pytest.mark.skipif(not REAL, reason="shared real depth samples not present")
@pytest.mark.parametrize("path", REAL, ids=lambda p: "/".join(p.parts[-2:]))
def test_each_real_sample_decodes_to_hand_depths(path):
    style = read_depth_image(path)
    assert 300 < hand_depth(style.depth) < 1000
    if "sr305" in path.parts:  # the README: raw * 0.125 mm
        assert style.encoding == "uint16" and style.scale_mm == 0.125 and style.scale_source == "guessed"
        raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        np.testing.assert_allclose(style.depth, raw * 0.125)
    else:
        assert style.encoding == "NYU RGB" and style.scale_mm == 1.0
    assert "mm per unit" in style.assumption


def smooth_noise(rng: np.random.Generator, shape, lo: int, hi: int) -> np.ndarray:
    field = cv2.GaussianBlur(rng.random(shape).astype(np.float32), (0, 0), 8)
    field = (field - field.min()) / (field.max() - field.min())
    return (lo + field * (hi - lo)).astype(np.uint8)


def test_colour_photos_are_refused(tmp_path):
    rng = np.random.default_rng(0)
    shape = (120, 160)
    photo = np.dstack([smooth_noise(rng, shape, 20, 230) for _ in range(3)])
    red = np.dstack([smooth_noise(rng, shape, 0, 255), smooth_noise(rng, shape, 0, 6),
                     smooth_noise(rng, shape, 150, 255)])  # B, G (small, like NYU's), R
    # R = 0 and a small G like NYU's, but blue does not wrap where green steps: not a packing.
    dark_blue = np.dstack([smooth_noise(rng, shape, 40, 200),
                           (np.arange(160) // 30).astype(np.uint8)[None].repeat(120, 0),
                           np.zeros(shape, np.uint8)])
    for name, image in (("photo.png", photo), ("red.png", red), ("dark_blue.png", dark_blue)):
        cv2.imwrite(str(tmp_path / name), image)
        with pytest.raises(StyleImageError, match="colour image") as err:
            read_depth_image(tmp_path / name)
        assert one_line_naming(err, tmp_path / name)


def test_nyu_packing_is_recognised(tmp_path):
    mm = np.rint(blob_frame(700.0)).astype(np.uint16)
    nyu = np.zeros((*mm.shape, 3), np.uint8)
    nyu[..., 0], nyu[..., 1] = mm & 0xFF, mm >> 8
    nyu[mm == 0, 0], nyu[mm == 0, 1] = 2001 & 0xFF, 2001 >> 8
    cv2.imwrite(str(tmp_path / "nyu.png"), nyu)
    style = read_depth_image(tmp_path / "nyu.png")
    assert style.encoding == "NYU RGB"
    np.testing.assert_array_equal(style.depth, mm)


@pytest.mark.parametrize("name,content,message", [
    ("text.png", b"hello, not a picture", "not an image"),
    ("empty.png", b"", "empty file"),
    ("cut.png", style_image.PNG_SIGNATURE + b"\x00\x00\x00\x0dIHDR" + struct.pack(">II", 64, 48), "damaged"),
])
def test_files_that_are_not_images(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(StyleImageError, match=message) as err:
        read_depth_image(tmp_path / name)
    assert one_line_naming(err, tmp_path / name)


def test_missing_file_and_folder(tmp_path):
    for path, message in ((tmp_path / "missing.png", "no such file"), (tmp_path, "folder")):
        with pytest.raises(StyleImageError, match=message):
            read_depth_image(path)


@pytest.mark.parametrize("value,message", [(0, "no depth data"), (30000, "no hand-range depth"),
                                           (40, "no hand-range depth")])
def test_sixteen_bit_without_a_hand(tmp_path, value, message):
    cv2.imwrite(str(tmp_path / "far.png"), np.full((120, 160), value, np.uint16))
    with pytest.raises(StyleImageError, match=message) as err:
        read_depth_image(tmp_path / "far.png")
    assert one_line_naming(err, tmp_path / "far.png")


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@pytest.mark.parametrize("size", [(20000, 20000), (MAX_SIDE_PX + 1, 10), (0, 10)])
def test_huge_image_is_refused_from_its_header(tmp_path, monkeypatch, size):
    # A tiny file whose header claims the size: decoding it would allocate 800 MB.
    ihdr = struct.pack(">IIBBBBB", *size, 16, 0, 0, 0, 0)  # 16-bit grey
    data = (style_image.PNG_SIGNATURE + png_chunk(b"IHDR", ihdr)
            + png_chunk(b"IDAT", zlib.compress(b"")) + png_chunk(b"IEND", b""))
    (tmp_path / "huge.png").write_bytes(data)

    def never(*_args):
        raise AssertionError("the image was decoded")
    monkeypatch.setattr(style_image.cv2, "imdecode", never)
    with pytest.raises(StyleImageError, match="not a depth frame") as err:
        read_depth_image(tmp_path / "huge.png")
    assert one_line_naming(err, tmp_path / "huge.png")


@pytest.mark.parametrize("unit,scale", [(1.0, 1.0), (0.125, 0.125)])
def test_scale_is_guessed_from_hand_distances(tmp_path, unit, scale):
    mm = blob_frame(600.0)
    cv2.imwrite(str(tmp_path / "d.png"), np.rint(mm / unit).astype(np.uint16))
    style = read_depth_image(tmp_path / "d.png")
    assert style.scale_mm == scale and style.scale_source == "guessed"
    assert hand_depth(style.depth) == pytest.approx(hand_depth(mm), abs=1.0)
    assert "guessed" in style.assumption


def test_eight_bit_grey_is_placed_at_a_hand_distance(tmp_path):
    grey = np.rint(blob_frame(100.0) / 2).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "g.png"), grey)
    style = read_depth_image(tmp_path / "g.png")
    assert style.encoding == "8-bit grey" and style.scale_source == "guessed"
    assert hand_depth(style.depth) == pytest.approx(style_image.TYPICAL_HAND_MM, rel=1e-3)


def test_sidecar_and_given_scale(tmp_path):
    raw = np.rint(blob_frame(6000.0)).astype(np.uint16)  # 0.1 mm units: 600 mm
    cv2.imwrite(str(tmp_path / "d.png"), raw)
    (tmp_path / "d.json").write_text(json.dumps({"depth_scale_mm": 0.1}))
    style = read_depth_image(tmp_path / "d.png")
    assert style.scale_source == "sidecar" and style.scale_mm == 0.1
    np.testing.assert_allclose(style.depth, raw * np.float32(0.1))

    given = read_depth_image(tmp_path / "d.png", scale_mm=0.125)  # the argument wins
    assert given.scale_source == "given" and given.scale_mm == 0.125

    with pytest.raises(StyleImageError, match="outside the hand range"):
        read_depth_image(tmp_path / "d.png", scale_mm=1.0)  # 6 m is no hand
    with pytest.raises(StyleImageError, match="positive number"):
        read_depth_image(tmp_path / "d.png", scale_mm=-1.0)
    for bad in ('{"depth_scale_mm": "0.1"}', '{"scale": 0.1}', "{not json"):
        (tmp_path / "d.json").write_text(bad)
        with pytest.raises(StyleImageError) as err:
            read_depth_image(tmp_path / "d.png")
        assert one_line_naming(err, tmp_path / "d.json")
