"""Atomic writes: the data reaches the disk before the new name does, and nothing half-written stays."""
from __future__ import annotations

import os

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
