"""The depth renderer against analytic geometry, and its label map against its depth."""
import numpy as np
import pytest

from engine.camera import KINECT_V1, Camera
from engine.hand.model import HandPose
from engine.hand.presets import load_preset
from engine.hand.skeleton import FINGER_JOINTS, PART_INDEX
from engine.sim.render import render_hand, render_volume
from engine.sim.volume import PALM_RADIUS_MM, HandVolume, _capsule_spheres

CAM = Camera(fx=500.0, fy=500.0, cx=160.0, cy=120.0, width=320, height=240)


def volume(centres, radii, triangles=np.zeros((0, 3, 3))):
    c = np.atleast_2d(np.asarray(centres, float))
    return HandVolume(centres=c, radii=np.asarray(radii, float), labels=np.full(len(c), 3, np.uint8),
                      triangles=triangles, triangle_radius=0.0, triangle_label=1)


def ray_sphere(u, v, centre, r, cam=CAM):
    d = np.stack([(u - cam.cx) / cam.fx, (v - cam.cy) / cam.fy, np.ones_like(u, dtype=float)], -1)
    b = d @ centre
    a = (d * d).sum(-1)
    disc = b * b - a * (centre @ centre - r * r)
    return np.where(disc >= 0, (b - np.sqrt(np.maximum(disc, 0))) / a, 0.0)


def test_sphere_depth_matches_the_analytic_value():
    centre, r = np.array([20.0, -10.0, 500.0]), 30.0
    depth, labels = render_volume(volume(centre, [r]), CAM)
    v, u = np.mgrid[0:CAM.height, 0:CAM.width]
    expected = ray_sphere(u, v, centre, r)
    assert np.abs(depth - expected).max() < 0.1  # float32 ray maths at grazing silhouette rays
    assert ((depth > 0) == (labels == 3)).all()
    # the ray through the centre's pixel meets the sphere |c| - r along it
    assert depth[110, 180] == pytest.approx((np.linalg.norm(centre) - r) / np.linalg.norm([0.04, -0.02, 1]), abs=0.01)


def test_capsule_depth_is_within_1mm_of_the_cylinder():
    a, b, r = np.array([-60.0, 0.0, 400.0]), np.array([60.0, 0.0, 400.0]), 10.0
    c, radii, _ = _capsule_spheres(a, b, r, r)
    depth, _ = render_volume(volume(c, radii), CAM)
    # rays through the middle row hit the cylinder y^2 + (z - 400)^2 = r^2 at z = 400 - r
    u = np.arange(120, 200)
    row = depth[120, u]
    assert np.abs(row - (400.0 - r)).max() < 1.0
    # off-axis rows: (dv t)^2 + (t - 400)^2 = r^2
    for v in (115, 125):
        dv = (v - CAM.cy) / CAM.fy
        A, B, C = dv * dv + 1, -800.0, 400.0 ** 2 - r * r
        t = (-B - np.sqrt(B * B - 4 * A * C)) / (2 * A)
        assert np.abs(depth[v, u] - t).max() < 1.0


def test_palm_slab_front_is_flat_at_its_radius():
    pose = HandPose(translation=np.array([0.0, 70.0, 450.0]))
    j = pose.joints()
    result = render_hand(j, KINECT_V1)
    centre = j[[0, 5, 9, 13, 17]].mean(0)
    u, v = np.rint(KINECT_V1.project(centre)).astype(int)
    assert result.depth[v, u] == pytest.approx(450.0 - PALM_RADIUS_MM, abs=1.0)
    assert result.labels[v, u] == PART_INDEX["palm"]


def test_labels_agree_with_depth_and_fingers():
    rec = load_preset("open_palm")
    result = render_hand(rec.joints, rec.camera)
    assert ((result.depth > 0) == (result.labels > 0)).all()
    for finger, chain in FINGER_JOINTS.items():
        u, v = np.rint(result.joints_2d[chain[2]]).astype(int)  # a joint inside the finger
        assert result.labels[v, u] == PART_INDEX[finger], finger
    labelled = set(np.unique(result.labels)) - {0}
    assert labelled == set(range(1, 8))  # palm, five fingers and forearm all visible
    np.testing.assert_allclose(result.joints_2d, rec.camera.project(rec.joints))


def test_hand_depth_range_is_plausible():
    rec = load_preset("relaxed")
    d = render_hand(rec.joints, rec.camera).depth
    hand = d[d > 0]
    assert d.dtype == np.float32 and d.shape == (480, 640)
    # the presets' wrist sits 700 mm away (tools/make_presets.py), the fingers curl towards us
    assert 600 < hand.min() < np.median(hand) < hand.max() < 760
    assert np.median(hand) == pytest.approx(685.0, abs=15.0)
    assert 8_000 < hand.size < 33_000


def test_partly_outside_and_behind_camera():
    j = HandPose(translation=np.array([150.0, 70.0, 300.0])).joints()  # off the right edge
    d = render_hand(j, KINECT_V1).depth
    assert d[:, -1].max() > 0 and d.shape == (480, 640)
    behind = HandPose(translation=np.array([0.0, 0.0, -400.0])).joints()
    assert render_hand(behind, KINECT_V1).depth.max() == 0


def test_thickness_widens_the_silhouette():
    j = HandPose().joints()
    thin = (render_hand(j, KINECT_V1, thickness=0.8).depth > 0).sum()
    thick = (render_hand(j, KINECT_V1, thickness=1.2).depth > 0).sum()
    assert thick > thin * 1.2


@pytest.mark.parametrize("shift", [np.array([-330.0, 0.0, 0.0]), np.array([0.0, 240.0, 0.0]),
                                   np.array([330.0, -250.0, 0.0])], ids=["left", "bottom", "top-right"])
def test_a_hand_cut_by_the_frame_edge_renders_as_the_same_part_of_a_larger_frame(shift):
    """Clipping at the frame's edge changes nothing inside it: the render equals the matching
    window of a camera 200 px larger on every side (same focal length, pixel grid shifted)."""
    rec = load_preset("open_palm")
    joints = rec.joints + shift
    cam, pad = rec.camera, 200
    big = Camera(fx=cam.fx, fy=cam.fy, cx=cam.cx + pad, cy=cam.cy + pad, width=cam.width + 2 * pad,
                 height=cam.height + 2 * pad)
    cut, whole = render_hand(joints, cam), render_hand(joints, big)
    window = (slice(pad, pad + cam.height), slice(pad, pad + cam.width))
    assert 0 < (cut.depth > 0).sum() < (whole.depth > 0).sum()  # the edge really cuts the hand
    np.testing.assert_array_equal(cut.depth, whole.depth[window])
    np.testing.assert_array_equal(cut.labels, whole.labels[window])


def test_cross_of_rows_has_the_bits_of_np_cross():
    from engine.sim.render import _cross

    rng = np.random.default_rng(0)
    for _ in range(50):
        scale = 10 ** rng.uniform(-5, 5)
        a, b = rng.normal(size=(7, 3)) * scale, rng.normal(size=(7, 3))
        assert _cross(a, b).tobytes() == np.cross(a, b).tobytes()


def _close_notches_by_padding(depth: np.ndarray, labels: np.ndarray) -> None:
    """The notch filler as first written (padded copies of the frame each pass): the reference
    for the gather-based one in engine.sim.render."""
    from engine.sim.render import NOTCH_DEPTH_STEP_MM, notches

    while (hole := notches(labels)).any():
        pad_d, pad_l = np.pad(depth, 1), np.pad(labels, 1)
        v, u = np.nonzero(hole)
        for dv, du in ((0, 1), (1, 0)):
            a_d, b_d = pad_d[v + 1 - dv, u + 1 - du], pad_d[v + 1 + dv, u + 1 + du]
            a_l, b_l = pad_l[v + 1 - dv, u + 1 - du], pad_l[v + 1 + dv, u + 1 + du]
            pair = (a_l == b_l) & (a_l > 0) & (depth[v, u] == 0)
            fill = np.where(np.abs(a_d - b_d) > NOTCH_DEPTH_STEP_MM, np.minimum(a_d, b_d), 0.5 * (a_d + b_d))
            depth[v[pair], u[pair]] = fill[pair]
            labels[v[pair], u[pair]] = a_l[pair]


def test_close_notches_matches_the_padded_reference_on_random_cracks():
    """Cracks of every shape, at the borders, two wide, across depth steps and across parts."""
    from engine.sim.render import close_notches

    rng = np.random.default_rng(0)
    for i in range(1500):
        h, w = rng.integers(1, 12, 2)
        labels = rng.choice([0, 0, 1, 2, 3], size=(h, w), p=[0.3, 0.2, 0.3, 0.1, 0.1]).astype(np.uint8)
        values = rng.choice([300.0, 330.0], (h, w)) if i % 3 == 0 else rng.uniform(300, 320, (h, w))
        depth = np.where(labels > 0, values, 0).astype(np.float32)
        d1, l1, d2, l2 = depth.copy(), labels.copy(), depth.copy(), labels.copy()
        close_notches(d1, l1)
        _close_notches_by_padding(d2, l2)
        assert d1.tobytes() == d2.tobytes() and l1.tobytes() == l2.tobytes()
