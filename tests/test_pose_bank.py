"""The RealSense pose bank: its conversion is verified on the source, the shipped bank is the
model's own poses with consistent bones, and `dataset --poses bank` draws from it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from engine.camera import CAMERA_PRESETS, KINECT_V1
from engine.data.readers.own import read_sample
from engine.dataset_poses import BANK_DISTANCE_MM, open_pose_source
from engine.hand.fit import FINGER_SCALE_RANGE, SIZE_RANGE
from engine.hand.limits import LOWER, UPPER
from engine.hand.model import PARAM_ANGLES, PARAM_FINGER_SCALES, PARAM_SIZE, forward_kinematics_params
from engine.hand.pose_bank import BANK_DIR, bank_params
from engine.hand.realsense_bank import bank_joints, quaternion_xyzw_to_matrix, read_bank, read_model, solve_centres
from engine.hand.sampler import HAND_CENTRE_JOINT
from engine.hand.skeleton import BONES, JOINT_NAMES

SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "pose_bank_realsense"
BANK_SIZE = 2336


def bone_lengths(joints: np.ndarray) -> np.ndarray:
    """(N, 20) lengths of the skeleton's bones."""
    return np.stack([np.linalg.norm(joints[:, c] - joints[:, p], axis=-1) for p, c in BONES], axis=-1)


@pytest.fixture(scope="module")
def source():
    if not (SOURCE / "animbank.pose").is_file():
        pytest.skip(f"{SOURCE}: the bank's source is not on this machine")
    positions, rotations = read_bank(SOURCE / "animbank.pose")
    return positions, rotations, read_model(SOURCE / "model_hand.json")


def test_the_source_is_xyzw_quaternions_of_body_centres(source):
    positions, rotations, model = source
    assert len(positions) == BANK_SIZE
    _, residual = solve_centres(positions, rotations, model["joints"])
    assert np.median(residual) < 0.5 and residual.max() < 3.0  # every joint's two sides meet
    quaternions = np.loadtxt(SOURCE / "animbank.pose", max_rows=200).reshape(-1, 17, 7)[..., 3:]
    wxyz = quaternion_xyzw_to_matrix(np.roll(quaternions, -1, axis=-1))  # the numbers read as w, x, y, z
    _, residual_wxyz = solve_centres(positions[:200], wxyz, model["joints"])
    assert np.median(residual_wxyz) > 10 * max(np.median(residual), 0.1)
    # Neighbouring bodies' positions are not a fixed bone apart: they are centres, not joints.
    index_proximal_to_middle = np.linalg.norm(positions[:, 6] - positions[:, 5], axis=-1)
    assert index_proximal_to_middle.std() > 2.0


def test_converted_bones_are_consistent_and_hand_sized(source):
    joints, _ = bank_joints(*source)
    lengths = bone_lengths(joints)
    assert lengths.std(axis=0).max() < 0.5, "a bone changes length across the bank"
    named = dict(zip((JOINT_NAMES[c] for _, c in BONES), lengths.mean(axis=0)))
    assert 35 < named["index_pip"] < 55 and 20 < named["index_dip"] < 35 and 15 < named["index_tip"] < 30
    hand_length = sum(named[n] for n in ("middle_mcp", "middle_pip", "middle_dip", "middle_tip"))
    assert 150 < hand_length < 220  # adult hands are ~170-200 mm wrist to middle tip
    assert 100 < joints[..., 2].min() and joints[..., 2].max() < 800  # mm in front of the camera


def test_the_shipped_bank_is_the_models_poses_with_its_licence():
    params = bank_params()
    assert params.shape == (BANK_SIZE, 32)
    angles, size, scales = params[:, PARAM_ANGLES], params[:, PARAM_SIZE], params[:, PARAM_FINGER_SCALES]
    tol = 1e-5  # stored as float32
    assert np.all(angles >= LOWER - tol) and np.all(angles <= UPPER + tol)
    assert np.all((SIZE_RANGE[0] - tol <= size) & (size <= SIZE_RANGE[1] + tol))
    assert np.all((FINGER_SCALE_RANGE[0] - tol <= scales) & (scales <= FINGER_SCALE_RANGE[1] + tol))
    with np.load(BANK_DIR / "bank.npz") as data:
        assert np.mean(data["fit_error_mm"]) < 8.0
    lengths = bone_lengths(np.stack([forward_kinematics_params(p) for p in params[::25]]))
    assert (lengths.std(axis=0) / lengths.mean(axis=0)).max() < 0.1, "fitted hands vary in size too much"
    assert len(np.unique(np.round(angles, 2), axis=0)) > BANK_SIZE * 0.9  # real variety, not one pose
    assert "Apache License" in (BANK_DIR / "LICENSE").read_text()
    assert "hand_tracking_samples" in (BANK_DIR / "NOTICE").read_text()


def test_bank_poses_are_seeded_and_placed_in_every_sensors_range():
    for camera in CAMERA_PRESETS.values():
        source = open_pose_source("bank", camera)
        a, b, again = source.record(3, 0), source.record(3, 1), source.record(3, 0)
        np.testing.assert_array_equal(a.joints, again.joints)
        assert not np.allclose(a.joints, b.joints)
        centre = a.joints[HAND_CENTRE_JOINT]
        assert abs(centre[2] - BANK_DISTANCE_MM) < 1e-6
        u, v = camera.project(centre[None])[0]
        assert 0 <= u < camera.width and 0 <= v < camera.height
    hands = {open_pose_source("bank", KINECT_V1).record(0, i).handedness for i in range(20)}
    assert hands == {"left", "right"}


def test_dataset_poses_bank(tmp_path):
    assert main(["dataset", "--count", "2", "--out", str(tmp_path / "d"), "--poses", "bank", "--seed", "5"]) == 0
    sample = read_sample(tmp_path / "d/shard_00000/00000001_pose.json")
    assert sample.provenance["index"] == 1 and (sample.depth > 0).sum() > 1000
    expected = open_pose_source("bank", KINECT_V1).record(5, 1)
    np.testing.assert_allclose(sample.record.joints, expected.joints, atol=1e-3)
