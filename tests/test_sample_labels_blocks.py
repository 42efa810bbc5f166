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


def test_labels_and_visibility_in_the_content_box_match_the_whole_frame():
    """labels_of_depth and joint_visibility work inside the frame's content box: with NaN, inf,
    -0.0 and negative pixels anywhere they give what the whole frame through finite_depth
    gives (label > 0 exactly where that depth is > 0; a labelled copy of it labels the same)."""
    rng = np.random.default_rng(12)
    hand = sample_pose(rng, PoseRanges(distance_mm=(350.0, 450.0)), camera=KINECT_V1)
    joints = hand.joints()
    clean = render_hand(joints, KINECT_V1, hand.shape.thickness)
    depth = clean.depth.copy()
    v, u = np.nonzero(depth)
    depth[v[:3], u[:3]] = [np.nan, np.inf, -np.inf]
    depth[0, 0], depth[-1, -1], depth[5, 600] = np.inf, -0.0, -5.0
    finite = sample_labels.finite_depth(depth)
    labels = sample_labels.labels_of_depth(depth, joints, KINECT_V1, hand.shape.thickness, clean.labels)
    assert ((labels > 0) == (finite > 0)).all()
    assert labels[0, 0] > 0 and labels[v[1], u[1]] > 0 and labels[v[0], u[0]] == 0
    again = sample_labels.labels_of_depth(finite, joints, KINECT_V1, hand.shape.thickness, clean.labels)
    assert labels.tobytes() == again.tobytes()
    assert (sample_labels.joint_visibility(depth, joints, KINECT_V1)
            == sample_labels.joint_visibility(finite, joints, KINECT_V1)).all()


def _nearest_part_reference(points, joints, thickness):
    """The capsule distance written out per point in float64: |q - a - t d| - r(t)."""
    a, b, ra, rb, labels = sample_labels.capsules(joints, thickness)
    q = np.asarray(points, np.float64)[:, None, :]
    d = b - a
    t = np.clip(((q - a) * d).sum(-1) / (d * d).sum(-1), 0.0, 1.0)
    gap = np.linalg.norm(q - a - t[..., None] * d, axis=-1) - (ra + t * (rb - ra))
    return labels[np.argmin(gap, axis=1)]


def test_nearest_part_is_the_nearest_capsule_surface():
    """The expanded float32 form (matrix products about the capsules' mean) labels as the plain
    float64 distance does: at most a near-tie in 10,000 pixels may differ."""
    rng = np.random.default_rng(21)
    differ = total = 0
    for _ in range(8):
        hand = sample_pose(rng, PoseRanges(), camera=KINECT_V1)
        joints = hand.joints()
        depth = render_hand(joints, KINECT_V1, hand.shape.thickness).depth
        v, u = np.nonzero(depth > 0)
        points = KINECT_V1.backproject(u, v, depth[v, u])
        got = sample_labels.nearest_part(points, joints, hand.shape.thickness)
        differ += int((got != _nearest_part_reference(points, joints, hand.shape.thickness)).sum())
        total += len(points)
    assert total > 10_000 and differ <= total // 10_000


def test_first_minimum_is_argmin_over_the_capsules():
    """nearest_part's argmin along the capsules' axis: the first of tied minima, as np.argmin, and
    the first capsule for a point whose distances hold a NaN (a garbage depth's overflow)."""
    rng = np.random.default_rng(3)
    gap = rng.random((23, 500), dtype=np.float32)
    gap[9, :50] = gap[4, :50] = -1.0  # tied minima: the first row
    gap[:, 60] = np.inf
    gap[7, 70] = np.nan
    rank = np.arange(23, 0, -1, dtype=np.uint8)[:, None]
    got = sample_labels._first_minimum(gap.copy(), rank)
    finite = np.isfinite(gap).all(axis=0)
    np.testing.assert_array_equal(got[finite], np.argmin(gap, axis=0)[finite])
    assert (got[:50] == 4).all() and got[60] == 0 and got[70] == 0
