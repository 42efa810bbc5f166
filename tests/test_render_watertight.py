"""The simulator, G's teacher, renders watertight: no 1-px no-data crack through a surface."""
from __future__ import annotations

import numpy as np

from engine.camera import ICVL_MSRA
from engine.hand.sampler import sample_pose
from engine.sim.render import _front_faces, close_notches, notches, render_hand
from engine.sim.volume import build_hand_volume


def test_notches_by_hand():
    labels = np.array([[0, 0, 0, 0],
                       [3, 0, 3, 0],
                       [0, 2, 0, 4],
                       [0, 0, 0, 0]], np.uint8)
    # (1, 1): left and right both 3. (2, 2): left 2, right 4, up 3, down 0 -> no notch.
    assert np.argwhere(notches(labels)).tolist() == [[1, 1]]


def test_close_notches_fills_at_the_mean_or_the_nearer_surface():
    depth = np.array([[500.0, 0.0, 504.0], [0.0, 0.0, 0.0], [400.0, 0.0, 450.0]], np.float32)
    labels = np.array([[3, 0, 3], [0, 0, 0], [5, 0, 5]], np.uint8)
    close_notches(depth, labels)
    assert depth[0, 1] == 502.0 and labels[0, 1] == 3  # one surface: the mean
    assert depth[2, 1] == 400.0 and labels[2, 1] == 5  # 50 mm apart: the nearer one
    assert depth[1, 0] == 0.0 and not notches(labels).any()  # different parts: left alone


def test_palm_faces_keep_sharing_their_edges():
    rng = np.random.default_rng(2)
    volume = build_hand_volume(sample_pose(rng).joints())
    faces = _front_faces(volume)
    # The fan is (centre, rim i, rim i+1): face i's third vertex is face i+1's second.
    assert np.allclose(faces[:-1, 2], faces[1:, 1]) and np.allclose(faces[:, 0], faces[0, 0])


def test_no_notch_in_1000_random_poses():
    rng = np.random.default_rng(15)
    found = 0
    for _ in range(1000):
        hand = sample_pose(rng, camera=ICVL_MSRA)
        found += int(notches(render_hand(hand.joints(), ICVL_MSRA, hand.shape.thickness).labels).sum())
    assert found == 0
