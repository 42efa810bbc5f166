"""Random poses: within limits, free of finger collisions, reproducible; mirroring."""
import numpy as np

from engine.camera import KINECT_V1
from engine.hand.limits import ANGLE_NAMES, within_limits
from engine.hand.model import HandPose
from engine.hand.sampler import PoseRanges, mirror_pose, sample_pose, self_intersects


def test_samples_stay_within_limits_and_do_not_collide():
    rng = np.random.default_rng(0)
    for _ in range(100):
        p = sample_pose(rng, camera=KINECT_V1)
        assert within_limits(p.angles)
        assert not self_intersects(p)


def test_sampling_is_reproducible_and_seeded():
    a = sample_pose(np.random.default_rng(7), camera=KINECT_V1)
    b = sample_pose(np.random.default_rng(7), camera=KINECT_V1)
    c = sample_pose(np.random.default_rng(8), camera=KINECT_V1)
    np.testing.assert_array_equal(a.joints(), b.joints())
    assert not np.allclose(a.joints(), c.joints())


def test_hand_centre_lands_at_the_sampled_distance_inside_the_image():
    rng = np.random.default_rng(1)
    ranges = PoseRanges(distance_mm=(400.0, 600.0))
    for _ in range(30):
        j = sample_pose(rng, ranges, camera=KINECT_V1).joints()
        assert 400.0 - 1e-6 <= j[9, 2] <= 600.0 + 1e-6
        u, v = KINECT_V1.project(j[9])
        assert 0 <= u < KINECT_V1.width and 0 <= v < KINECT_V1.height


def test_crossed_fingers_count_as_intersecting():
    a = np.zeros(len(ANGLE_NAMES))
    a[ANGLE_NAMES.index("index_mcp_abd")] = np.deg2rad(-15)
    a[ANGLE_NAMES.index("middle_mcp_abd")] = np.deg2rad(15)
    assert self_intersects(HandPose(angles=a))
    assert not self_intersects(HandPose())


def test_mirror_reflects_joints_and_swaps_handedness():
    p = sample_pose(np.random.default_rng(3), camera=KINECT_V1, handedness="right")
    m = mirror_pose(p)
    assert m.handedness == "left"
    expected = p.joints().copy()
    expected[:, 0] = 2 * p.translation[0] - expected[:, 0]
    np.testing.assert_allclose(m.joints(), expected, atol=1e-6)
    np.testing.assert_allclose(mirror_pose(m).joints(), p.joints(), atol=1e-6)


def test_the_joints_drawn_with_a_pose_are_its_forward_kinematics_bit_for_bit():
    from engine.hand.model import forward_kinematics
    from engine.hand.sampler import sample_pose_and_joints

    for seed in range(40):
        hand, joints = sample_pose_and_joints(np.random.default_rng(seed), camera=KINECT_V1)
        np.testing.assert_array_equal(joints, forward_kinematics(hand))
        np.testing.assert_array_equal(hand.translation,
                                      sample_pose(np.random.default_rng(seed), camera=KINECT_V1).translation)
