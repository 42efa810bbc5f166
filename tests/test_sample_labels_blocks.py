"""engine.sample_labels.nearest_part labels its points in blocks (for the cache): the block size
must not change a single label, and a frame with more hand pixels than a block is labelled as
one computed in a single block."""
import numpy as np

from engine import sample_labels
from engine.camera import KINECT_V1
from engine.hand.sampler import PoseRanges, sample_pose
from engine.sim.render import render_hand


def test_labels_do_not_depend_on_the_block_size(monkeypatch):
    rng = np.random.default_rng(11)
    hand = sample_pose(rng, PoseRanges(distance_mm=(350.0, 450.0)), camera=KINECT_V1)
    joints = hand.joints()
    depth = render_hand(joints, KINECT_V1, hand.shape.thickness).depth
    assert (depth > 0).sum() > 3 * 1000  # several blocks of the small size below
    labels = {}
    for block in (1000, 10**9):
        monkeypatch.setattr(sample_labels, "POINTS_PER_BLOCK", block)
        labels[block] = sample_labels.labels_of_depth(depth, joints, KINECT_V1, hand.shape.thickness)
    assert labels[1000].tobytes() == labels[10**9].tobytes()
    assert ((labels[1000] > 0) == (depth > 0)).all() and len(np.unique(labels[1000])) > 3
