"""Slider controls over the hand model: curl, spread, rotation, distance, resets."""
from __future__ import annotations

import numpy as np
import pytest

from engine.hand import controls
from engine.hand.controls import (
    finger_curl,
    finger_spread,
    global_rotation_deg,
    hand_distance,
    reset_finger,
    reset_hand,
    set_finger_curl,
    set_finger_spread,
    set_global_rotation_deg,
    set_hand_distance,
)
from engine.hand.ik import HAND_CENTRE_JOINT
from engine.hand.limits import LOWER, UPPER, within_limits
from engine.hand.model import HandPose, rotvec_to_matrix
from engine.hand.presets import load_preset
from engine.hand.skeleton import FINGER_JOINTS, FINGERS


def relaxed() -> HandPose:
    return load_preset("relaxed").hand


def finger_slice(finger: str) -> slice:
    i = FINGERS.index(finger)
    return slice(4 * i, 4 * i + 4)


@pytest.mark.parametrize("finger", FINGERS)
@pytest.mark.parametrize("curl", [0.0, 0.3, 1.0])
def test_curl_round_trips_and_touches_only_its_finger(finger, curl):
    pose = relaxed()
    bent = set_finger_curl(pose, finger, curl)
    assert finger_curl(bent, finger) == pytest.approx(curl)
    assert within_limits(bent.angles)
    others = np.ones(20, bool)
    others[finger_slice(finger)] = False
    np.testing.assert_array_equal(bent.angles[others], pose.angles[others])
    assert bent.angles[finger_slice(finger)][1] == pose.angles[finger_slice(finger)][1]  # spread kept
    np.testing.assert_array_equal(bent.translation, pose.translation)


def test_curl_ends_are_straight_and_the_flexion_limits():
    pose = set_finger_curl(HandPose(), "index", 1.0)
    np.testing.assert_allclose(pose.angles[[4, 6, 7]], UPPER[[4, 6, 7]])
    assert finger_curl(HandPose(), "index") == 0.0
    assert finger_curl(pose, "index") == 1.0
    assert finger_curl(set_finger_curl(pose, "index", 7.0), "index") == 1.0  # clipped


def test_curling_moves_the_tip_towards_the_palm():
    pose = HandPose()
    tip = FINGER_JOINTS["middle"][3]
    straight, bent = pose.joints(), set_finger_curl(pose, "middle", 0.8).joints()
    assert np.linalg.norm(bent[tip] - bent[0]) < np.linalg.norm(straight[tip] - straight[0]) - 40


@pytest.mark.parametrize("finger", FINGERS)
@pytest.mark.parametrize("spread", [-1.0, -0.4, 0.0, 0.5, 1.0])
def test_spread_round_trips_within_limits(finger, spread):
    pose = set_finger_spread(relaxed(), finger, spread)
    assert finger_spread(pose, finger) == pytest.approx(spread)
    assert within_limits(pose.angles)


def test_full_spread_fans_every_finger_away_from_the_middle():
    pose = HandPose()
    for f in FINGERS:
        pose = set_finger_spread(pose, f, 1.0)
    a = pose.angles.reshape(5, 4)[:, 1]
    assert a[FINGERS.index("index")] == pytest.approx(UPPER[5])  # towards the thumb
    assert a[FINGERS.index("little")] == pytest.approx(LOWER[17])  # away from it
    assert a[FINGERS.index("ring")] == pytest.approx(LOWER[13])
    joints, rest = pose.joints(), HandPose().joints()
    span = np.linalg.norm(joints[8] - joints[20])
    assert span > np.linalg.norm(rest[8] - rest[20]) + 20


@pytest.mark.parametrize("euler", [(0, 0, 0), (30, -20, 45), (-170, 60, 120), (10, 89.9, -30)])
def test_rotation_round_trips_and_spins_in_place(euler):
    pose = relaxed()
    centre = pose.joints()[HAND_CENTRE_JOINT]
    turned = set_global_rotation_deg(pose, euler)
    R = controls.euler_to_matrix(global_rotation_deg(turned))
    np.testing.assert_allclose(R, controls.euler_to_matrix(euler), atol=1e-9)
    np.testing.assert_allclose(turned.joints()[HAND_CENTRE_JOINT], centre, atol=1e-6)
    np.testing.assert_array_equal(turned.angles, pose.angles)


def test_rotation_about_z_turns_the_fingers_in_the_image_plane():
    pose = set_global_rotation_deg(HandPose(), (0, 0, 90))
    R = rotvec_to_matrix(pose.rotation)
    np.testing.assert_allclose(R @ [1, 0, 0], [0, 1, 0], atol=1e-12)


def test_euler_at_gimbal_lock_is_still_the_same_rotation():
    R = controls.euler_to_matrix((25, 90, -40))
    np.testing.assert_allclose(controls.euler_to_matrix(controls.matrix_to_euler(R)), R, atol=1e-9)


def test_distance_slides_along_the_ray_through_the_centre():
    pose = relaxed()
    centre = pose.joints()[HAND_CENTRE_JOINT]
    far = set_hand_distance(pose, 800.0)
    assert hand_distance(far) == pytest.approx(800.0)
    new = far.joints()[HAND_CENTRE_JOINT]
    np.testing.assert_allclose(new[:2] / new[2], centre[:2] / centre[2], atol=1e-12)  # same pixel
    with pytest.raises(ValueError):
        set_hand_distance(pose, 0.0)


def test_resets():
    pose = set_global_rotation_deg(set_finger_curl(relaxed(), "ring", 0.9), (20, 30, 40))
    straight = reset_finger(pose, "ring")
    assert not straight.angles[finger_slice("ring")].any()
    np.testing.assert_array_equal(straight.angles[:12], pose.angles[:12])
    rest = reset_hand(pose)
    assert not rest.angles.any()
    np.testing.assert_allclose(global_rotation_deg(rest), 0.0, atol=1e-9)
    np.testing.assert_allclose(rest.joints()[HAND_CENTRE_JOINT], pose.joints()[HAND_CENTRE_JOINT], atol=1e-6)
    assert rest.handedness == pose.handedness and rest.shape == pose.shape


def test_unknown_finger_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown finger"):
        finger_curl(HandPose(), "pinky")
