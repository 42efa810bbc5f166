"""One panel of the depth view (a view box with its image, the sensor frame, the crop's outline
and a title lying on the image), and the grid the panels share.

The title is drawn on the image, not in a row above it: a title row costs every panel a strip of
height, and a row of three elided titles ("simulator · Kinect v1 (s…") said nothing. Here the
whole title shows, wrapped to the panel's width when it is long.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

import pyqtgraph as pg  # noqa: E402  (after PySide6, so pyqtgraph binds to it)

from . import theme  # noqa: E402

TITLE_POINT_SIZE = 9.0
TITLE_MARGIN_PX = 4.0  # between the panel's corner and the title's box
_TITLE_BACKDROP = QtGui.QColor(0, 0, 0, 150)  # readable over white near depths and black holes


class PanelTitle(QtWidgets.QGraphicsTextItem):
    """A panel's title on a translucent backdrop at the panel's top left, never elided."""

    def __init__(self, parent: QtWidgets.QGraphicsItem) -> None:
        super().__init__(parent)
        self.text = ""
        font = QtGui.QFont()
        font.setPointSizeF(TITLE_POINT_SIZE)
        self.setFont(font)
        self.setDefaultTextColor(QtGui.QColor(theme.TEXT))
        self.setZValue(1e6)  # over the image and the outlines
        self.setVisible(False)

    def setText(self, text: str) -> None:
        self.text = text
        self.setPlainText(text)
        self.setVisible(bool(text))

    def place(self, image: QtCore.QRectF, panel: QtCore.QRectF) -> None:
        """Put the title at the top left of the image's part of the panel (both in the panel's
        coordinates), wrapped to that part's width when it is longer."""
        shown = image.intersected(panel) if image.intersects(panel) else panel
        room = max(1.0, shown.width() - 2 * TITLE_MARGIN_PX)
        self.setTextWidth(-1)
        if self.boundingRect().width() > room:
            self.setTextWidth(room)
        self.setPos(shown.left() + TITLE_MARGIN_PX, shown.top() + TITLE_MARGIN_PX)

    def paint(self, painter: QtGui.QPainter, option, widget=None) -> None:
        painter.fillRect(self.boundingRect(), _TITLE_BACKDROP)
        super().paint(painter, option, widget)


@dataclass
class DepthPanel:
    """One titled image: its view box, image item and the depth it shows."""

    view: pg.ViewBox
    image: pg.ImageItem
    frame: QtWidgets.QGraphicsRectItem  # the sensor's image border
    crop_box: QtWidgets.QGraphicsRectItem  # where the crop lies, in the full-frame view
    title: PanelTitle
    depth: np.ndarray | None = None
    display: np.ndarray | None = None  # uint8 colour indices (depth_view.colour_indices)

    @classmethod
    def create(cls) -> DepthPanel:
        view = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
        image = pg.ImageItem(axisOrder="row-major")
        view.addItem(image)
        frame = QtWidgets.QGraphicsRectItem()
        frame.setPen(pg.mkPen(theme.FRAME, width=1, cosmetic=True))
        frame.setBrush(pg.mkBrush(theme.NO_DATA))  # no data until the first image covers it
        frame.setZValue(image.zValue() - 1)
        view.addItem(frame, ignoreBounds=True)
        crop_box = QtWidgets.QGraphicsRectItem()
        crop_box.setPen(pg.mkPen(theme.ACCENT, width=1.5, cosmetic=True,
                                 style=QtCore.Qt.PenStyle.DashLine))
        crop_box.setZValue(image.zValue() + 1)
        crop_box.setVisible(False)
        view.addItem(crop_box, ignoreBounds=True)
        panel = cls(view, image, frame, crop_box, PanelTitle(view))
        view.sigResized.connect(lambda _view: panel.place_title())
        view.sigTransformChanged.connect(lambda _view: panel.place_title())
        return panel

    def set_title(self, text: str) -> None:
        self.title.setText(text)
        self.place_title()

    def image_rect(self) -> QtCore.QRectF:
        """Where the image lies in the panel's (view box's) coordinates."""
        return self.view.mapFromView(self.frame.rect()).boundingRect()

    def place_title(self) -> None:
        if self.title.text:
            self.title.place(self.image_rect(), self.view.boundingRect())

    def show_crop_box(self, box: tuple[float, float, float] | None) -> None:
        """Outline the crop (left u, top v, side, in image pixels); None hides it."""
        if box is None:
            self.crop_box.setVisible(False)
            return
        u0, v0, size = box
        self.crop_box.setRect(u0, v0, size, size)
        self.crop_box.setVisible(True)


def grid_shape(count: int, width: float, height: float, image_aspect: float) -> tuple[int, int]:
    """(rows, columns) that show `count` images of `image_aspect` (width / height) biggest in a
    `width` x `height` area: three panels go side by side in a wide area and stack in a tall
    one, instead of three thin slivers with two thirds of the height empty."""
    best, best_scale = (1, count), -1.0
    for cols in range(1, count + 1):
        rows = math.ceil(count / cols)
        scale = min(width / cols / image_aspect, height / rows)  # an image's height in px
        if scale > best_scale + 1e-9:
            best, best_scale = (rows, cols), scale
    return best
