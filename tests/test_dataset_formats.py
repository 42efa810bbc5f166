"""`dataset --format`: a tiny dataset in each layout parses back as its readers expect it."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from engine.camera import ICVL_MSRA
from engine.data.readers import open_dataset
from engine.data.readers.icvl import ICVL_TABLE
from engine.data.readers.own import read_sample
from engine.dataset import merge
from engine.hand.skeleton import JOINT_NAMES

COUNT = 3


def make(tmp_path: Path, fmt: str, *extra: str) -> Path:
    out = tmp_path / fmt
    assert main(["dataset", "--count", str(COUNT), "--out", str(out), "--camera", "icvl_msra",
                 "--seed", "4", "--format", fmt, *extra]) == 0
    return out


def own_samples(out: Path) -> list:
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    return [read_sample(out / r["files"]["pose"]) for r in rows]


def test_icvl_labels_read_back_with_the_icvl_reader(tmp_path):
    out = make(tmp_path, "icvl")
    frames = list(open_dataset(f"icvl:{out / 'labels.txt'}"))
    assert len(frames) == COUNT
    for frame, own in zip(frames, own_samples(out)):
        np.testing.assert_array_equal(frame.depth, own.depth)
        mask = np.array([t is not None for t in ICVL_TABLE])
        np.testing.assert_array_equal(frame.joint_mask, mask)
        np.testing.assert_allclose(frame.joints[mask], own.record.joints[mask], atol=0.05)
        assert frame.camera == ICVL_MSRA


def test_keypoints_json_is_coco_style_in_the_documented_order(tmp_path):
    out = make(tmp_path, "keypoints-json")
    doc = json.loads((out / "keypoints.json").read_text())
    assert doc["categories"][0]["keypoints"] == list(JOINT_NAMES)
    assert doc["categories"][0]["keypoints"][:5] == ["wrist", "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip"]
    assert len(doc["images"]) == len(doc["annotations"]) == COUNT
    for ann, own in zip(doc["annotations"], own_samples(out)):
        image = next(i for i in doc["images"] if i["id"] == ann["image_id"])
        assert (out / image["file_name"]).is_file()
        kp = np.array(ann["keypoints"], dtype=float).reshape(21, 3)
        labelled = kp[:, 2] > 0
        assert ann["num_keypoints"] == labelled.sum() > 0
        projected = ICVL_MSRA.project(own.record.joints)
        np.testing.assert_allclose(kp[labelled, :2], projected[labelled], atol=0.01)
        np.testing.assert_array_equal(kp[labelled, 2] == 2, own.visibility[labelled])
        np.testing.assert_allclose(ann["keypoints_3d_mm"], own.record.joints, atol=1e-3)
        assert ann["hand_type"] == own.record.handedness


def test_controlnet_prompt_file_pairs_control_and_target(tmp_path):
    out = make(tmp_path, "controlnet", "--controlnet-invert")
    lines = [json.loads(line) for line in (out / "prompt.json").read_text().splitlines()]
    assert len(lines) == COUNT
    for line in lines:
        assert line["source"].endswith("_skeleton.png") and line["target"].endswith("_controlnet.png")
        assert (out / line["source"]).is_file() and (out / line["target"]).is_file()
        assert "hand" in line["prompt"] and "near is black" in line["prompt"]


def test_merge_rewrites_the_index_and_a_bad_format_is_one_line(tmp_path, capsys):
    out = make(tmp_path, "icvl")
    first = (out / "labels.txt").read_bytes()
    (out / "labels.txt").unlink()
    merge(out)
    assert (out / "labels.txt").read_bytes() == first
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["dataset", "--count", "1", "--out", str(tmp_path / "bad"), "--format", "voc"])
    assert "invalid choice" in capsys.readouterr().err
