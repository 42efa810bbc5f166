"""DepthView: images shown, cursor readout, no-data never drawn as near, A/B panels, levels."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore, QtGui
from PySide6.QtTest import QTest

from widgets import theme
from widgets.depth_view import NO_DATA_INDEX, DepthView, colour_indices

H, W = 60, 80


def make_depth() -> np.ndarray:
    """A near square (400 mm) on a far plane (700 mm) with a hole of no data."""
    depth = np.full((H, W), 700.0, dtype=np.float32)
    depth[20:40, 10:30] = 400.0
    depth[20:40, 50:70] = 0.0
    return depth


@pytest.fixture
def view(qtbot):
    dv = DepthView()
    qtbot.addWidget(dv)
    dv.resize(640, 360)
    dv.show()
    qtbot.waitExposed(dv)
    return dv


def _hover(qtbot, view: DepthView, panel: int, u: int, v: int) -> None:
    """Put the mouse over pixel (u, v), once pyqtgraph's mouse-move rate limit (mouseRateLimit,
    100 Hz) lets the next move through; it silently drops moves closer together."""
    graphics = view._graphics  # the QGraphicsView whose viewport receives the mouse
    qtbot.waitUntil(graphics.scene()._moveEventIsAllowed, timeout=1000)
    pos = graphics.viewport().mapFrom(view, view.image_to_widget(panel, u + 0.5, v + 0.5))
    QTest.mouseMove(graphics.viewport(), pos)


def _at(u: int, v: int):
    """Accept only the reading for pixel (u, v): the mouse may still report where it was."""
    return lambda pu, pv, depth: (pu, pv) == (u, v)


def _pixel(view: DepthView, panel: int, u: int, v: int) -> QtGui.QColor:
    image = view.grab().toImage()
    p = view.image_to_widget(panel, u + 0.5, v + 0.5) * view.devicePixelRatioF()
    return image.pixelColor(p.x(), p.y())


def test_set_depth_shows_the_image_and_reads_depth_under_cursor(view, qtbot):
    view.set_depth(make_depth())
    assert view.panel_count == 1
    with qtbot.waitSignal(view.cursorDepthChanged, check_params_cb=_at(15, 25)) as reading:
        _hover(qtbot, view, 0, 15, 25)
    assert reading.args == [15, 25, 400.0]
    assert "400.0 mm" in view.readout and "u 15" in view.readout and "v 25" in view.readout
    with qtbot.waitSignal(view.cursorDepthChanged, check_params_cb=_at(60, 30)) as hole:
        _hover(qtbot, view, 0, 60, 30)
    assert hole.args == [60, 30, 0.0]
    assert "no data" in view.readout


def test_no_data_is_not_drawn_as_near(view):
    view.set_colormap("grey")   # grey: near is white
    view.set_levels(350.0, 750.0)
    view.set_depth(make_depth())
    near, hole = _pixel(view, 0, 15, 25), _pixel(view, 0, 60, 30)
    assert near.lightness() > 200
    assert hole.name() == QtGui.QColor(theme.NO_DATA).name()  # its own colour, in the legend too
    assert "no data" in view._no_data_key.text()


@pytest.mark.parametrize("name", ["grey", "viridis", "turbo", "plasma"])
def test_the_no_data_colour_is_far_from_every_colormap_entry(name):
    from widgets.depth_view import make_colormap

    lut = make_colormap(name).getLookupTable(nPts=256)[:, :3].astype(float)
    no_data = QtGui.QColor(theme.NO_DATA)
    rgb = np.array([no_data.red(), no_data.green(), no_data.blue()], float)
    assert np.sqrt(((lut - rgb) ** 2).sum(axis=1)).min() > 75


def test_ab_mode_shows_three_titled_panels_with_shared_levels(view, qtbot):
    depth = make_depth()
    images = [("simulator", depth), ("generator", depth + 5), ("generator + style", depth + 10)]
    view.set_images(images)
    assert view.panel_count == 3
    assert view.panel_titles() == ["simulator", "generator", "generator + style"]
    view.set_levels(380.0, 720.0)
    assert view.levels == (380.0, 720.0)  # every panel drawn at them, the hidden ones too when shown
    assert all(np.array_equal(p.display, colour_indices(p.depth, (380.0, 720.0))) for p in view.panels)
    with qtbot.waitSignal(view.cursorDepthChanged, check_params_cb=_at(15, 25)) as reading:
        _hover(qtbot, view, 2, 15, 25)
    assert reading.args == [15, 25, 410.0]
    assert view.readout.startswith("generator + style")
    view.set_depth(depth)
    assert view.panel_count == 1


def _panel_rect(view: DepthView, panel: int) -> QtCore.QRect:
    """A panel's view box in the DepthView's coordinates."""
    scene_rect = view._panels[panel].view.sceneBoundingRect()
    return view._graphics.mapFromScene(scene_rect).boundingRect().translated(view._graphics.pos())


def test_ab_panels_share_the_width_whatever_their_titles(view):
    depth = make_depth()
    titles = ["simulator · Kinect v1 (structured light)", "g",
              "generator · Kinect v1 (structured light) at strength 1.00, a very long title"]
    view.set_images([(t, depth) for t in titles])
    rects = [_panel_rect(view, i) for i in range(3)]
    widths = [r.width() for r in rects]
    assert max(widths) - min(widths) <= 3, widths
    assert rects[2].right() <= view._graphics.geometry().right()
    for i, rect in enumerate(rects):
        top_left, bottom_right = view.image_to_widget(i, 0, 0), view.image_to_widget(i, W, H)
        image = QtCore.QRect(top_left, bottom_right)
        assert rect.adjusted(-1, -1, 1, 1).contains(image), (i, rect, image)  # wholly visible
        assert image.width() >= 0.9 * rect.width() or image.height() >= 0.9 * rect.height()
    assert view.panel_titles() == titles


def test_auto_levels_fit_valid_depth_only(view):
    view.set_auto_levels(True)
    view.set_depth(make_depth())
    assert view.levels == pytest.approx((400.0, 700.0))
    view.set_levels(300.0, 900.0)
    view.set_depth(make_depth())
    assert view.levels == pytest.approx((300.0, 900.0))


def test_the_histogram_spans_the_levels_not_far_flying_pixels(view, qtbot):
    depth = make_depth()
    depth[0, :5] = 1800.0  # ToF flying pixels far behind the hand
    view.set_depth(depth)
    view.set_levels(380.0, 720.0)
    hist = view._histogram.item
    qtbot.waitUntil(lambda: len(hist.plot.getData()[0]) > 0)  # the histogram has the frame
    hist.vb.updateAutoRange()  # what the next paint does when the axis follows the data
    low, high = hist.vb.viewRange()[1]
    assert 380.0 - 340.0 <= low < 380.0 and 720.0 < high <= 720.0 + 340.0, (low, high)
    region = hist.region.getRegion()
    assert (region[0] - low) / (high - low) > 0.15  # the handles sit well inside, not at one end


def test_colormap_choice_and_crop_toggle(view, qtbot):
    view.set_colormap("turbo")
    assert view.colormap == "turbo"
    with pytest.raises(ValueError):
        view.set_colormap("jet")
    with qtbot.waitSignal(view.cropToggled) as toggled:
        view._crop_box.click()
    assert toggled.args == [True]
    with qtbot.assertNotEmitted(view.cropToggled):
        view.set_crop_checked(False)


def test_rejects_bad_input(view):
    with pytest.raises(ValueError):
        view.set_images([])
    with pytest.raises(ValueError):
        view.set_depth(np.zeros((4, 4, 3), dtype=np.float32))


def test_colour_indices_spread_the_levels_over_the_table_and_keep_no_data_apart():
    depth = np.array([[0.0, np.nan, -5.0, 300.0, 400.0, 550.0, 700.0, 900.0]], np.float32)
    idx = colour_indices(depth, (400.0, 700.0))
    assert idx.dtype == np.uint8
    assert idx[0, :3].tolist() == [NO_DATA_INDEX] * 3  # no data, whatever it is written as
    assert idx[0, 3:].tolist() == [0, 0, 127, 254, 254]  # clipped at both ends


def test_a_colormap_change_recolours_what_is_shown(view):
    view.set_levels(350.0, 750.0)
    view.set_depth(make_depth())
    grey = _pixel(view, 0, 15, 25)
    view.set_colormap("turbo")
    turbo = _pixel(view, 0, 15, 25)
    assert turbo != grey and turbo.saturation() > grey.saturation()
    assert _pixel(view, 0, 60, 30).name() == QtGui.QColor(theme.NO_DATA).name()
