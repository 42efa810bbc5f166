"""The presenter without Qt: the data the window draws comes out ready, and the document drives it."""
import numpy as np
import pytest

from app import presenter
from app import scene as scene_io
from app.document import SceneDocument
from engine.hand import controls
from engine.hand.model import forward_kinematics, rotvec_to_matrix
from engine.hand.skeleton import BONES, JOINT_NAMES


def test_the_document_drives_what_the_3d_view_and_the_panels_draw():
    d = SceneDocument(scene_io.default_scene())
    drawn = []
    d.subscribe(lambda kinds: drawn.append(presenter.hand_drawing(d.hand)))
    d.set_pose(controls.set_finger_curl(d.hand, "index", 0.9), "Curl index")
    drawing = drawn[-1]
    np.testing.assert_array_equal(drawing.joints, forward_kinematics(d.hand))
    assert drawing.bones == tuple(BONES) and drawing.colors.shape == (len(JOINT_NAMES), 3)
    centres, radii = drawing.surface
    assert len(centres) == len(radii) > len(JOINT_NAMES)
    assert presenter.hand_drawing(d.hand, with_surface=False).surface is None
    panel = presenter.pose_panel_state(d.hand)
    assert panel.curls["index"] == pytest.approx(0.9, abs=1e-6)
    assert panel.distance_mm == pytest.approx(controls.hand_distance(d.hand))


def test_fingers_have_their_own_joint_colours_and_the_wrist_is_grey():
    colours = presenter.JOINT_COLORS
    wrist = colours[JOINT_NAMES.index("wrist")]
    assert np.allclose(wrist, wrist[0])  # grey
    index, little = colours[JOINT_NAMES.index("index_tip")], colours[JOINT_NAMES.index("little_tip")]
    assert not np.allclose(index, little)


def test_screen_rotation_turns_about_the_view_axes():
    right, down = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    rotvec = presenter.screen_rotation(10.0, 0.0, right, down)  # drag right: about -down
    np.testing.assert_allclose(rotvec, [0.0, -np.radians(10.0), 0.0], atol=1e-9)
    turn = rotvec_to_matrix(presenter.screen_rotation(0.0, 30.0, right, down))
    np.testing.assert_allclose(turn @ [0.0, 0.0, 1.0], [0.0, -np.sin(np.radians(30)), np.cos(np.radians(30))],
                               atol=1e-9)


def test_distance_levels_bracket_the_hand_and_hold_still_for_small_moves():
    hand = controls.set_hand_distance(scene_io.default_scene().hand, 700.0)
    near, far = presenter.distance_levels(hand)
    assert near < 700.0 < far and near % presenter.LEVELS_ROUND_MM == 0
    assert presenter.distance_levels(controls.set_hand_distance(hand, 701.0)) == (near, far)


def test_levels_serve_the_hand_not_the_forearm_or_flying_pixels():
    from engine.camera import DEFAULT_CAMERA
    from engine.hand.skeleton import PART_INDEX
    from engine.sim.render import render_hand

    hand = scene_io.default_scene().hand
    frame = render_hand(forward_kinematics(hand), DEFAULT_CAMERA)
    depth, labels = frame.depth.copy(), frame.labels
    fingers = (labels > 0) & (labels != PART_INDEX["forearm"])
    lo, hi = np.percentile(depth[fingers], presenter.HAND_PERCENTILES)
    near, far = presenter.hand_levels(depth, labels, hand)
    assert near <= lo and hi <= far  # the hand is inside the levels
    assert far - near <= (hi - lo) + 2 * (presenter.LEVELS_PAD_MM + presenter.LEVELS_ROUND_MM)
    # ToF-like flying pixels at 1,800 mm and a forearm pulled 300 mm nearer change nothing
    noisy = depth.copy()
    noisy[fingers & (np.arange(depth.size).reshape(depth.shape) % 50 == 0)] = 1800.0
    noisy[labels == PART_INDEX["forearm"]] -= 300.0
    assert presenter.hand_levels(noisy, labels, hand) == (near, far)
    # no hand pixels at all: the levels around the hand's distance
    empty = np.zeros_like(depth)
    assert presenter.hand_levels(empty, labels, hand) == presenter.distance_levels(hand)
