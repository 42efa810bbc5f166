"""The window uses the screen: A/B panels share the depth view's area with their titles on the
images, the crop fills its panel, the full frame shows where the crop lies, and at 1280x800
the 3D view keeps a usable size with the hand and its toolbar hint in view."""
from __future__ import annotations

import pytest
from gui_helpers import joints_on_canvas, use_stand_in_generator
from PySide6 import QtCore

from app.compare_panels import frame_panels
from engine.hand.skeleton import JOINT_NAMES

SMALL_SCREEN = (1280, 800)


@pytest.fixture
def small_window(qtbot, home):
    """The real window opened at 1280x800, with a stand-in generator for A/B."""
    from app.main_window import MainWindow

    window = MainWindow(restore=False, autosave=False, load_generator=False)
    qtbot.addWidget(window)
    window.resize(*SMALL_SCREEN)
    window.show()
    qtbot.waitExposed(window)
    use_stand_in_generator(window.controller)
    assert window.controller.wait_for_frame(20.0)
    window.flush_display()
    return window


def settle(window) -> None:
    assert window.controller.wait_for_frame(20.0)
    window.flush_display()


def image_rects(depth_view) -> list[QtCore.QRectF]:
    """Each shown panel's image in the depth view's graphics scene."""
    return [p.view.mapRectToScene(p.image_rect()) for p in depth_view.panels]


def expected_titles(window) -> list[str]:
    c = window.controller
    source, depth = c.shown_depth(c.shown_frame)
    entry = c.style_entry
    return [t for t, _ in frame_panels(c.shown_frame, (f"{source} · {c.style_title()}", depth),
                                       c.style_title(), entry.reference if entry else None,
                                       c.compare, c.view.crop)]


@pytest.mark.parametrize("crop", [True, False])
def test_a_b_panels_share_the_depth_area_with_whole_titles_on_their_images(small_window, crop):
    window, c = small_window, small_window.controller
    c.set_style("kinect_v1")
    c.set_view(crop=crop)
    window.compare_action.trigger()
    settle(window)
    dv = window.depth_view
    assert window.width() <= SMALL_SCREEN[0]  # the window fits the screen
    assert dv.panel_count == 3
    area = dv._graphics.size()
    rects = image_rects(dv)
    for rect in rects:  # not three 150 px slivers with two thirds of the height empty
        assert rect.height() >= 0.25 * area.height() or rect.width() >= 0.25 * area.width()
    covered = sum(r.width() * r.height() for r in rects)
    assert covered >= 0.4 * area.width() * area.height()
    assert dv.panel_titles() == expected_titles(window)
    for panel, rect in zip(dv.panels, rects):
        title = panel.title
        assert title.isVisible() and title.toPlainText() == title.text  # whole, never elided
        box = title.mapRectToScene(title.boundingRect())
        assert rect.contains(box.topLeft())  # it sits on its image
        assert panel.view.sceneBoundingRect().contains(box)  # and none of it is cut off


def test_at_1280x800_the_3d_view_keeps_its_size_hand_and_hint(small_window):
    window = small_window
    window.compare_action.trigger()
    settle(window)
    width, height = window.viewport.canvas.size
    assert width >= 300 and height >= 400
    assert joints_on_canvas(window) == len(JOINT_NAMES)
    assert window.viewport.toolbar.hint_fits()


def test_the_crop_fills_its_panel_and_the_full_frame_shows_where_it_lies(small_window):
    window, c = small_window, small_window.controller
    c.set_view(crop=True)
    settle(window)
    dv = window.depth_view
    (panel,) = dv.panels
    image, box = image_rects(dv)[0], panel.view.sceneBoundingRect()
    # aspect kept, and as big as the panel allows: it spans the panel's narrower side
    assert image.width() == pytest.approx(image.height(), rel=0.02)
    assert max(image.width() / box.width(), image.height() / box.height()) >= 0.9
    assert not panel.crop_box.isVisible()
    c.set_view(crop=False)
    settle(window)
    t = c.shown_frame.transform
    panel = dv.panels[0]
    assert panel.crop_box.isVisible()
    rect = panel.crop_box.rect()
    assert (rect.x(), rect.y(), rect.width(), rect.height()) == (t.u0, t.v0, t.size_px, t.size_px)
    assert panel.depth.shape == c.shown_frame.simulator.shape  # the full frame, outlined crop
