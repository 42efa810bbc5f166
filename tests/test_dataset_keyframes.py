"""`dataset --frames N` (keyframes interpolated in the model's parameters) and `--poses READER:PATH`."""
from __future__ import annotations

import json

import numpy as np

from app.cli import main
from engine.camera import KINECT_V1
from engine.data.readers.own import read_sample
from engine.dataset_keyframes import interpolate_hands
from engine.dataset_poses import open_pose_source
from engine.hand.model import rotvec_to_matrix
from engine.hand.presets import load_preset
from engine.hand.skeleton import BONES


def bones(joints: np.ndarray) -> np.ndarray:
    return np.array([np.linalg.norm(joints[c] - joints[p]) for p, c in BONES])


def test_interpolation_ends_at_the_keyframes_and_turns_along_the_short_arc():
    a, b = load_preset("fist").hand, load_preset("spread").hand
    b = type(b)(angles=b.angles, shape=b.shape, rotation=np.array([0.0, 0.0, np.pi / 2]),
                translation=b.translation + [50.0, 0.0, 100.0])
    np.testing.assert_allclose(interpolate_hands(a, b, 0.0).joints(), a.joints(), atol=1e-6)
    np.testing.assert_allclose(interpolate_hands(a, b, 1.0).joints(), b.joints(), atol=1e-6)
    mid = interpolate_hands(a, b, 0.5)
    np.testing.assert_allclose(mid.angles, (a.angles + b.angles) / 2)
    turn = rotvec_to_matrix(a.rotation).T @ rotvec_to_matrix(mid.rotation)
    assert np.isclose(np.degrees(np.arccos((np.trace(turn) - 1) / 2)), 45.0, atol=1e-6)
    np.testing.assert_allclose(bones(mid.joints()), bones(a.joints()), atol=1e-6)  # same shape: same bones


def test_keyframed_stream_hits_the_keyframes_moves_smoothly_and_keeps_one_hand():
    frames = 8
    plain, keyed = (open_pose_source("bank", KINECT_V1, n) for n in (1, frames))
    records = [keyed.record(3, i) for i in range(3 * frames + 1)]
    assert len({r.handedness for r in records}) == 1
    hand = records[0].handedness
    for k in range(4):
        key = plain.record(3, k)
        if key.handedness == hand:
            np.testing.assert_allclose(records[k * frames].joints, key.joints, atol=1e-6)
    steps = [np.abs(b.joints - a.joints).max() for a, b in zip(records, records[1:])]
    jumps = [np.abs(records[(k + 1) * frames].joints - records[k * frames].joints).max() for k in range(3)]
    assert max(steps) < max(jumps) / 2  # no frame jumps to the next keyframe
    assert all(s > 0 for s in steps)


def test_poses_from_a_dataset_reader_are_its_joints(tmp_path, capsys):
    source = tmp_path / "source"
    assert main(["dataset", "--count", "2", "--out", str(source), "--camera", "icvl_msra", "--seed", "2"]) == 0
    out = tmp_path / "again"
    assert main(["dataset", "--count", "3", "--out", str(out), "--poses", f"own:{source}", "--frames", "1"]) == 0
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    originals = [read_sample(source / f"shard_00000/0000000{i}_pose.json").record for i in (0, 1, 0)]
    for row, original in zip(rows, originals):
        again = read_sample(out / row["files"]["pose"]).record
        assert again.camera == original.camera and again.handedness == original.handedness
        assert np.linalg.norm(again.joints - original.joints, axis=1).mean() < 5.0
    assert main(["dataset", "--count", "1", "--out", str(tmp_path / "bad"), "--frames", "0"]) == 2
    assert main(["dataset", "--count", "1", "--out", str(tmp_path / "bad2"), "--poses", f"nyu:{tmp_path}/none"]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2 and "--frames" in errors[0] and "none" in errors[1]
