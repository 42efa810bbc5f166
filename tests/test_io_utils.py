"""Atomic writes: the data reaches the disk before the new name does, and nothing half-written stays."""
from __future__ import annotations

import os

import numpy as np
import pytest

from engine import io_utils


def test_a_durable_write_syncs_the_file_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(io_utils.os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(io_utils.os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    io_utils.atomic_write_bytes(tmp_path / "scene.json", b"{}")
    assert events == ["fsync", "replace", "fsync"]  # file, rename, folder
    assert (tmp_path / "scene.json").read_bytes() == b"{}"


def test_a_cache_write_skips_the_sync(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(io_utils.os, "fsync", lambda fd: calls.append(fd))
    io_utils.atomic_write_bytes(tmp_path / "preview.png", b"x", durable=False)
    assert calls == []


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "pose.json"
    target.write_bytes(b"old")

    def broken_replace(a, b):
        raise OSError("disk full")

    monkeypatch.setattr(io_utils.os, "replace", broken_replace)
    with pytest.raises(OSError):
        io_utils.atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pose.json"]


def test_json_text_reads_back_as_the_object_with_a_list_a_line():
    import json

    doc = {"joints": [[1.5, -2.0, 700.25], [3, 4, 5]], "camera": {"fx": 588.03, "size": [640, 480]},
           "flags": [True, False, None], "empty": {}, "none": [], "name": "a \"quoted\" é"}
    text = io_utils.json_text(doc)
    assert json.loads(text) == doc
    assert "  [1.5, -2.0, 700.25],\n" in text and ' "flags": [true, false, null],\n' in text


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_depth_to_uint16_rounds_half_to_even_and_saturates_as_numpy_does(dtype):
    """The OpenCV conversion must give the numpy reference's bytes: halves to even, negatives to
    0, beyond the PNG range to 65535 (a dataset's depth files are compared byte for byte)."""
    rng = np.random.default_rng(7)
    depth = rng.uniform(-50.0, 70000.0, (48, 64)).astype(dtype)
    depth[0, :8] = [0.5, 1.5, 2.5, 1000.5, 1001.5, 65534.5, 65535.5, -0.5]
    depth[1, :3] = [0.0, 65535.0, 1e9]
    reference = np.clip(np.rint(depth), 0, io_utils.MAX_DEPTH_MM).astype(np.uint16)
    out = io_utils.depth_to_uint16(depth)
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, reference)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_depth_to_uint16_of_a_mostly_empty_frame_converts_only_its_content_box(dtype):
    """Content in a corner box, an empty frame, a single pixel and a strided view all give the
    full-frame reference."""
    rng = np.random.default_rng(8)
    frame = np.zeros((48, 64), dtype)
    frame[30:41, 50:63] = rng.uniform(-5.0, 70000.0, (11, 13))
    frame[2, 3] = -0.0
    for depth in (frame, np.zeros_like(frame), frame[::2, 1:], np.where(frame > 60000, frame, 0)):
        reference = np.clip(np.rint(depth), 0, io_utils.MAX_DEPTH_MM).astype(np.uint16)
        np.testing.assert_array_equal(io_utils.depth_to_uint16(depth), reference)
