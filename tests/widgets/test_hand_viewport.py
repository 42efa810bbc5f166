"""HandViewport: hover, joint drag, Shift-rotate and snap views, driven by real Qt mouse events."""
from __future__ import annotations

from timeit import default_timer

import numpy as np
import pytest
from PySide6 import QtCore
from PySide6.QtTest import QTest

# vispy 0.17's Qt backend still reads QMouseEvent.pos(), deprecated since Qt 6.
pytestmark = pytest.mark.filterwarnings(r"ignore:.*QMouseEvent\.pos\(\) const.*:DeprecationWarning")

LEFT = QtCore.Qt.MouseButton.LeftButton
NO_MOD = QtCore.Qt.KeyboardModifier.NoModifier
SHIFT = QtCore.Qt.KeyboardModifier.ShiftModifier
INDEX_TIP = 8
WARNING_RGB = np.array([255, 90, 79])


def _point(xy) -> QtCore.QPoint:
    return QtCore.QPoint(round(float(xy[0])), round(float(xy[1])))


def _move(qtbot, vp, xy) -> None:
    """Move the mouse, first letting vispy's 100 Hz mouse-move throttle (app/base.py) reopen,
    which would otherwise drop a move that follows the previous one within 10 ms."""
    backend = vp.canvas._backend
    qtbot.waitUntil(lambda: default_timer() - backend._last_time >= 0.011, timeout=1000)
    QTest.mouseMove(vp.canvas.native, _point(xy))


def test_camera_view_looks_down_z_with_y_down(viewport, hand):
    right, down, forward = viewport.view_axes()
    np.testing.assert_allclose(right, [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(down, [0, 1, 0], atol=1e-6)
    np.testing.assert_allclose(forward, [0, 0, 1], atol=1e-6)
    xy = viewport.joint_canvas_positions()
    wrist, middle_tip = xy[0], xy[12]
    assert middle_tip[1] < wrist[1]          # fingers point to -y: up on screen, as in the image
    assert xy[20][0] > xy[4][0]              # +x (little finger side here) is on the right


def test_snap_side_and_top_views(viewport):
    viewport.snap_view("side")
    np.testing.assert_allclose(viewport.view_axes()[2], [-1, 0, 0], atol=1e-6)
    viewport.snap_view("top")
    np.testing.assert_allclose(viewport.view_axes()[2], [0, 1, 0], atol=1e-6)


def test_hover_highlights_the_joint_under_the_mouse(viewport, qtbot):
    tip = viewport.joint_canvas_positions()[INDEX_TIP]
    with qtbot.waitSignal(viewport.jointHovered) as hovered:
        _move(qtbot, viewport, tip + (3, -2))
    assert hovered.args == [INDEX_TIP]
    assert viewport.hovered_joint == INDEX_TIP
    markers = viewport._joint_markers._data  # the joints, then the hover ring (one visual)
    assert len(markers) == 22 and markers["a_size"][-1] > markers["a_size"][0]
    np.testing.assert_allclose(markers["a_position"][-1, :3], markers["a_position"][INDEX_TIP, :3])
    with qtbot.waitSignal(viewport.jointHovered) as left:
        _move(qtbot, viewport, (5, 5))
    assert left.args == [-1]
    assert len(viewport._joint_markers._data) == 21  # no ring


def test_left_drag_moves_the_joint_in_the_plane_facing_the_viewer(viewport, qtbot, hand,
                                                                  bones):
    camera = viewport.view.camera
    tip = viewport.joint_canvas_positions()[INDEX_TIP]
    targets = []
    viewport.jointDragged.connect(lambda j, xyz: targets.append((j, np.array(xyz))))

    with qtbot.waitSignal(viewport.jointDragStarted) as started:
        QTest.mousePress(viewport.canvas.native, LEFT, NO_MOD, _point(tip))
    assert started.args == [INDEX_TIP]
    assert camera.interactive is False
    state = (camera.center, camera.azimuth, camera.elevation, camera.distance)

    _move(qtbot, viewport, tip + (40, 0))
    # The app answers each drag with a new pose; that must neither move the camera nor end the drag.
    moved = hand.copy()
    moved[INDEX_TIP] = targets[-1][1]
    viewport.set_hand(moved, bones)
    _move(qtbot, viewport, tip + (40, 30))
    with qtbot.waitSignal(viewport.jointDragFinished) as finished:
        QTest.mouseRelease(viewport.canvas.native, LEFT, NO_MOD, _point(tip + (40, 30)))

    assert finished.args == [INDEX_TIP]
    assert camera.interactive is True
    assert (camera.center, camera.azimuth, camera.elevation, camera.distance) == state
    assert [j for j, _ in targets] == [INDEX_TIP, INDEX_TIP]
    first, second = targets[0][1], targets[1][1]
    start = hand[INDEX_TIP]
    assert first[0] - start[0] > 10.0            # mouse right → joint to +x
    assert abs(first[1] - start[1]) < 2.0
    assert second[1] - first[1] > 10.0           # mouse down → joint to +y
    np.testing.assert_allclose([first[2], second[2]], start[2], atol=1e-6)  # stays in its plane


def test_shift_drag_rotates_the_hand_instead(viewport, qtbot):
    palm = viewport.joint_canvas_positions()[9]
    rotations = []
    viewport.handRotateDragged.connect(lambda dx, dy: rotations.append((dx, dy)))
    with qtbot.assertNotEmitted(viewport.jointDragged), \
            qtbot.waitSignal(viewport.handRotateFinished):
        with qtbot.waitSignal(viewport.handRotateStarted):
            QTest.mousePress(viewport.canvas.native, LEFT, SHIFT, _point(palm))
        _move(qtbot, viewport, palm + (20, 0))
        _move(qtbot, viewport, palm + (20, 10))
        QTest.mouseRelease(viewport.canvas.native, LEFT, SHIFT, _point(palm + (20, 10)))
    assert len(rotations) == 2
    (dx1, dy1), (dx2, dy2) = rotations
    assert dx1 > 0 and dy1 == 0
    assert dx2 == 0 and dy2 > 0
    assert viewport.view.camera.interactive is True


def test_drag_on_empty_space_orbits_the_camera(viewport, qtbot):
    camera = viewport.view.camera
    azimuth = camera.azimuth
    with qtbot.assertNotEmitted(viewport.jointDragStarted):
        QTest.mousePress(viewport.canvas.native, LEFT, NO_MOD, QtCore.QPoint(20, 20))
        _move(qtbot, viewport, (60, 20))
        QTest.mouseRelease(viewport.canvas.native, LEFT, NO_MOD, QtCore.QPoint(60, 20))
    assert camera.azimuth != azimuth


def test_joint_at_its_limit_gets_a_red_ring(viewport, hand, bones):
    viewport.set_hand(hand, bones, limited_joints={INDEX_TIP})
    frame = viewport.canvas.render()[..., :3].astype(int)  # rows are canvas y
    scale = frame.shape[1] / viewport.canvas.size[0]

    def red_pixels_near(joint: int) -> int:
        x, y = viewport.joint_canvas_positions()[joint] * scale
        r = int(8 * scale)
        patch = frame[int(y) - r:int(y) + r, int(x) - r:int(x) + r]
        return int((np.abs(patch - WARNING_RGB).sum(axis=-1) < 60).sum())

    assert red_pixels_near(INDEX_TIP) > 10
    assert red_pixels_near(12) == 0


def test_surface_mesh_spheres_and_toggles(viewport, hand):
    viewport.set_surface_spheres(hand, np.full(len(hand), 9.0))
    assert viewport._surface_spheres.visible and not viewport._surface_mesh.visible
    tetrahedron = hand[[0, 4, 8, 20]]
    viewport.set_surface_mesh(tetrahedron, np.array([[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]]))
    assert viewport._surface_mesh.visible and not viewport._surface_spheres.visible
    assert viewport.canvas.render().shape[2] == 4
    viewport.toolbar.surface_toggle.setChecked(False)
    viewport.toolbar.frustum_toggle.setChecked(False)
    assert not viewport._surface_mesh.visible and not viewport._frustum.visible
    viewport.toolbar.surface_toggle.setChecked(True)
    viewport.clear_surface()
    assert not viewport._surface_mesh.visible and not viewport._surface_spheres.visible


def test_the_toolbar_hint_is_never_cut_off_in_a_narrow_view(viewport, qtbot):
    viewport.resize(330, 400)
    viewport.show()
    qtbot.waitExposed(viewport)
    qtbot.waitUntil(lambda: viewport.toolbar.hint.width() <= 330)
    assert viewport.toolbar.hint_fits()
    hint = viewport.toolbar.hint
    hint.setFixedSize(120, hint.fontMetrics().height())
    assert not hint_fits_after_layout(viewport, qtbot)  # the check can fail: one 120 px line


def hint_fits_after_layout(viewport, qtbot) -> bool:
    qtbot.waitUntil(lambda: viewport.toolbar.hint.width() == 120)
    return viewport.toolbar.hint_fits()


def test_the_canvas_has_a_native_window_of_its_own(qtbot, hand, bones):
    """A GL widget sharing a plain window makes Qt composite all of it in OpenGL on every
    repaint of any widget; in a native window of its own the canvas swaps only its own area."""
    from PySide6 import QtWidgets

    from widgets.hand_viewport import HandViewport

    window = QtWidgets.QWidget()
    qtbot.addWidget(window)
    layout = QtWidgets.QHBoxLayout(window)
    vp = HandViewport()
    layout.addWidget(vp)
    layout.addWidget(QtWidgets.QLabel("depth view"))
    vp.set_hand(hand, bones)
    window.resize(640, 360)
    window.show()
    qtbot.waitExposed(window)
    canvas_window = vp.canvas.native.windowHandle()
    assert canvas_window is not None and canvas_window is not window.windowHandle()
    vp.close()


def test_a_new_pose_moves_the_hover_label_without_laying_its_text_out_again(viewport, qtbot, hand,
                                                                           bones, monkeypatch):
    """Setting a vispy Text's text lays its glyphs out again on the next draw: a drag redraws
    the label at every pose, so only a new text may be set."""
    from vispy.scene.visuals import Text

    tip = viewport.joint_canvas_positions()[INDEX_TIP]
    with qtbot.waitSignal(viewport.jointHovered):
        _move(qtbot, viewport, tip)
    label = viewport._label
    text_setter = Text.text.fset
    texts_set = []
    monkeypatch.setattr(Text, "text", property(Text.text.fget, lambda self, value: (
        texts_set.append(value), text_setter(self, value))))
    before = np.array(label.pos)
    viewport.set_hand(hand + (10.0, 0.0, 0.0), bones)
    assert texts_set == [] and label.text.startswith("index")
    assert not np.allclose(label.pos, before)  # the label follows the joint
    viewport.set_hand(hand, bones, limited_joints=[INDEX_TIP])
    assert texts_set == [label.text] and label.text.endswith("(at limit)")
