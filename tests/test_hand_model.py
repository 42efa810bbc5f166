"""Forward kinematics, shape, handedness and limits of the hand model."""
import numpy as np
import pytest

from engine.hand.limits import ANGLE_NAMES, LOWER, UPPER, angles_at_limit, clamp_angles, within_limits
from engine.hand.model import (
    HAND_LENGTH_MM, SEGMENT_RATIOS, HandPose, HandShape, forward_kinematics, forward_kinematics_params,
    hand_frame, matrix_to_rotvec, params_to_pose, pose_to_params, rotvec_to_matrix,
)
from engine.hand.skeleton import BONES, FINGER_JOINTS, FINGERS, JOINT_NAMES, NUM_JOINTS, PARENTS


def angles(**deg):
    a = np.zeros(len(ANGLE_NAMES))
    for name, value in deg.items():
        a[ANGLE_NAMES.index(name)] = np.deg2rad(value)
    return a


def test_skeleton_is_mediapipe_order():
    assert len(JOINT_NAMES) == NUM_JOINTS == 21
    assert JOINT_NAMES[0] == "wrist" and JOINT_NAMES[4] == "thumb_tip" and JOINT_NAMES[20] == "little_tip"
    assert len(BONES) == 20 and all(PARENTS[c] == p for p, c in BONES)


def test_rest_pose_faces_camera_with_fingers_up():
    j = HandPose().joints()
    assert j.shape == (21, 3)
    np.testing.assert_allclose(j[0], [0.0, 70.0, 450.0])
    assert j[12, 1] < j[9, 1] < j[0, 1]  # middle finger points up the image (y down)
    assert j[4, 0] > j[0, 0] and j[20, 0] < j[0, 0]  # right hand, palm to camera: thumb on +x
    np.testing.assert_allclose(j[5:21, 2], 450.0, atol=1.5)  # fingers flat in the palm plane


def test_middle_finger_gives_hand_length():
    j = forward_kinematics(HandPose(shape=HandShape(size=1.0)))
    assert np.linalg.norm(j[12] - j[0]) == pytest.approx(HAND_LENGTH_MM, rel=0.01)


@pytest.mark.parametrize("seed", range(5))
def test_bone_lengths_are_rigid_under_any_angles(seed):
    rng = np.random.default_rng(seed)
    shape = HandShape(size=1.1, finger_scales=(0.9, 1.0, 1.05, 1.1, 0.95))
    pose = HandPose(angles=rng.uniform(LOWER, UPPER), shape=shape, rotation=rng.normal(size=3))
    j = pose.joints()
    for i, finger in enumerate(FINGERS):
        chain = FINGER_JOINTS[finger]
        for b, ratio in enumerate(SEGMENT_RATIOS[finger]):
            length = np.linalg.norm(j[chain[b + 1]] - j[chain[b]])
            assert length == pytest.approx(ratio * HAND_LENGTH_MM * 1.1 * shape.finger_scales[i])


def test_flexion_curls_towards_palm_and_abduction_towards_thumb():
    rest = HandPose().joints()
    flexed = HandPose(angles=angles(index_mcp_flex=60)).joints()
    assert flexed[8, 2] < rest[8, 2] - 30  # palm faces the camera: curling comes towards it
    spread = HandPose(angles=angles(index_mcp_abd=15)).joints()
    assert spread[8, 0] > rest[8, 0] + 10  # towards the thumb (+x for this right hand)
    np.testing.assert_array_equal(flexed[9:], rest[9:])  # other fingers untouched


def test_left_hand_is_the_mirror_image():
    a = np.random.default_rng(1).uniform(LOWER, UPPER)
    right = HandPose(angles=a).joints()
    left = HandPose(angles=a, handedness="left").joints()
    expected = right.copy()
    expected[:, 0] = 2 * right[0, 0] - right[:, 0]
    np.testing.assert_allclose(left, expected, atol=1e-9)
    assert np.linalg.det(hand_frame(HandPose(handedness="left"))) < 0


def test_batched_fk_matches_single():
    rng = np.random.default_rng(2)
    poses = [HandPose(angles=rng.uniform(LOWER, UPPER), rotation=rng.normal(size=3),
                      translation=rng.normal(size=3) * 50 + [0, 0, 500]) for _ in range(4)]
    batch = forward_kinematics_params(np.stack([pose_to_params(p) for p in poses]))
    for p, j in zip(poses, batch):
        np.testing.assert_allclose(j, p.joints(), atol=1e-9)


def test_params_round_trip():
    p = HandPose(angles=np.full(20, 0.1), shape=HandShape(1.2, (1, 1.1, 0.9, 1, 1), 0.9),
                 rotation=[0.1, 0.2, 0.3], translation=[1, 2, 300], handedness="left")
    q = params_to_pose(pose_to_params(p), p)
    np.testing.assert_allclose(q.joints(), p.joints())
    assert q.handedness == "left" and q.shape == p.shape


@pytest.mark.parametrize("rotvec", [[0, 0, 0], [0.3, -0.2, 0.1], [0, np.pi - 1e-9, 0], [np.pi, 0, 0], [1.0, 1.0, 1.0]])
def test_rotvec_round_trip(rotvec):
    R = rotvec_to_matrix(np.array(rotvec, dtype=float))
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(rotvec_to_matrix(matrix_to_rotvec(R)), R, atol=1e-7)


def test_limits_clamp_and_report():
    wild = np.full(20, 5.0)
    assert not within_limits(wild)
    clamped = clamp_angles(wild)
    assert within_limits(clamped) and np.all(angles_at_limit(clamped))
    assert HandPose().with_angles(wild).angles.max() <= UPPER.max()
    assert np.all(LOWER < UPPER)
    # published ranges: PIP flexes to at least 100 deg, MCP abduction stays within +-30 deg
    assert np.rad2deg(UPPER[ANGLE_NAMES.index("index_pip_flex")]) >= 100
    abd = [i for i, n in enumerate(ANGLE_NAMES) if n.endswith("mcp_abd")]
    assert np.all(np.abs(np.rad2deg(np.r_[LOWER[abd], UPPER[abd]])) <= 30)


def test_bad_handedness_is_rejected():
    with pytest.raises(ValueError, match="handedness"):
        HandPose(handedness="both")


def test_pose_owns_its_arrays():
    angles = np.zeros(20)
    pose = HandPose(angles=angles)
    angles[0] = 1.0
    assert pose.angles[0] == 0.0
    with pytest.raises(ValueError):
        pose.angles[0] = 1.0


def test_tiny_rotations_survive_the_round_trip():
    r = np.array([1e-10, -2e-10, 3e-10])
    np.testing.assert_allclose(matrix_to_rotvec(rotvec_to_matrix(r)), r, rtol=1e-6)


def test_fk_rejects_unknown_handedness():
    with pytest.raises(ValueError, match="handedness"):
        forward_kinematics_params(pose_to_params(HandPose()), "ambidextrous")
