"""Live depth images (float32 mm, 0 = no data) side by side, with one colormap, one set of levels
and a depth readout under the cursor.

Colormaps here are for looking only: the arrays passed in are never changed and nothing here
feeds an export.
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

import pyqtgraph as pg  # noqa: E402  (after PySide6, so pyqtgraph binds to it)

from . import theme  # noqa: E402
from .depth_panel import DepthPanel, grid_shape  # noqa: E402

MAX_PANELS = 3
COLORMAPS: tuple[str, ...] = ("grey", "viridis", "turbo", "plasma")
DEFAULT_LEVELS_MM = (300.0, 800.0)
# The histogram follows live frames at most this often: recomputing and repainting it for every
# frame doubled the cost of showing one in software OpenGL (Xvfb + llvmpipe), measured.
HISTOGRAM_REFRESH_MS = 500
_DEPTH_RANGE_MM = (0.0, 10000.0)
# The histogram's depth axis spans the levels plus this fraction of their span on each side, so
# its handles sit mid-panel: fitted to the data, a few ToF flying pixels at 1,800 mm pushed
# handles set at 620-710 mm into its bottom seventh.
HISTOGRAM_MARGIN = 0.5
FIT_PADDING = 0.02  # of the image's size around it when the view fits it to its panel
# Each panel shows uint8 indices into one 256-entry colour table: the colormap's COLOURS entries
# from near (0) to far, and NO_DATA_INDEX in the no-data colour. Why not float mm with no data as
# NaN and pyqtgraph's levels and lookup table: its NaN path (meant for a few NaNs, not a frame
# that is 90 % no data) cost 3 ms of the GUI thread per shown frame; indices made by OpenCV and
# drawn as an indexed QImage cost a tenth of that.
COLOURS = 255
NO_DATA_INDEX = COLOURS


def make_colormap(name: str) -> pg.ColorMap:
    """The named viewing colormap; near is its low end. Grey shows near as white, like a lit
    object."""
    if name == "grey":
        return pg.ColorMap([0.0, 1.0], [(255, 255, 255), (80, 80, 80)])  # far end well off NO_DATA
    return pg.colormap.get(name)


class DepthView(QtWidgets.QWidget):
    """Shows one to three depth images ("simulator | generator | generator + style").

    Feed frames with ``set_depth`` (one image) or ``set_images`` (titled images side by side);
    both are cheap enough per frame: levels and view range stay put unless the image size
    changes or auto levels are on. Pan and zoom are linked across panels.
    """

    cursorDepthChanged = QtCore.Signal(int, int, float)  # u, v (pixels), depth in mm, 0 = no data
    # The user's view gestures; the setters (the app mirroring its view state) emit none of them.
    cropToggled = QtCore.Signal(bool)
    levelsChanged = QtCore.Signal(float, float)  # near, far mm: a level drag ended or a box edited
    colormapChanged = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self._levels = DEFAULT_LEVELS_MM
        self._auto_levels = False
        self._applying_levels = False  # the histogram reports a set_levels as a finished drag
        self._colormap = COLORMAPS[0]
        self._panels = [DepthPanel.create() for _ in range(MAX_PANELS)]
        # The histogram reads the depth in mm from an image item of its own (never drawn),
        # refreshed when it refreshes; the panels show colour indices.
        self._histogram_source = pg.ImageItem(axisOrder="row-major")
        self._shown = 0
        self._grid: tuple[int, int] = (0, 0)
        self._build_ui()
        self._connect_controls()
        self.set_colormap(self._colormap)
        self._apply_levels(self._levels)

    # -- construction -------------------------------------------------------------------------
    def _build_ui(self) -> None:
        self._graphics = pg.GraphicsLayoutWidget()
        self._graphics.setBackground(theme.BACKGROUND)
        self._graphics.ci.setContentsMargins(2, 2, 2, 2)
        self._graphics.ci.layout.setSpacing(4)
        first = self._panels[0].view
        for panel in self._panels[1:]:
            panel.view.setXLink(first)
            panel.view.setYLink(first)

        self._histogram = pg.HistogramLUTWidget(image=self._histogram_source)
        self._histogram.setBackground(theme.BACKGROUND)
        self._histogram.setMinimumWidth(96)
        self._histogram.setMaximumWidth(120)

        self._colormap_box = QtWidgets.QComboBox()
        self._colormap_box.addItems(COLORMAPS)
        self._colormap_box.setToolTip("Colormap for viewing (never used for export)")
        self._auto_box = QtWidgets.QCheckBox("Auto")
        self._auto_box.setToolTip("Fit the levels to each frame's valid depths")
        self._near_box = self._depth_spinbox("Near level (mm)")
        self._far_box = self._depth_spinbox("Far level (mm)")
        self._crop_box = QtWidgets.QCheckBox("Crop")
        self._crop_box.setToolTip("Show the hand crop instead of the full frame")
        self._readout = QtWidgets.QLabel("")
        self._no_data_key = QtWidgets.QLabel(f'<span style="color:{theme.NO_DATA}">■</span> no data')
        self._no_data_key.setToolTip("Pixels where the depth camera reports nothing (0 mm)")
        self._readout.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self._readout.setMinimumWidth(180)

        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 4)
        bar.setSpacing(6)
        bar.addWidget(self._colormap_box)
        bar.addWidget(self._auto_box)
        bar.addWidget(self._near_box)
        bar.addWidget(QtWidgets.QLabel("–"))
        bar.addWidget(self._far_box)
        bar.addWidget(self._crop_box)
        bar.addStretch(1)
        # The key and the readout get a row under the images: beside the controls they made the
        # depth view 660 px wide at the least, and the window too wide for a 1280 px screen.
        footer = QtWidgets.QHBoxLayout()
        footer.setContentsMargins(6, 2, 6, 2)
        footer.addWidget(self._no_data_key)
        footer.addStretch(1)
        footer.addWidget(self._readout)

        body = QtWidgets.QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        body.addWidget(self._graphics, 1)
        body.addWidget(self._histogram)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addLayout(body, 1)
        layout.addLayout(footer)

    @staticmethod
    def _depth_spinbox(tooltip: str) -> QtWidgets.QDoubleSpinBox:
        box = QtWidgets.QDoubleSpinBox(decimals=0, singleStep=10.0, suffix=" mm")
        box.setRange(*_DEPTH_RANGE_MM)
        box.setKeyboardTracking(False)
        box.setToolTip(tooltip)
        return box

    def _connect_controls(self) -> None:
        self._colormap_box.currentTextChanged.connect(self._on_colormap_chosen)
        self._auto_box.toggled.connect(self._on_auto_toggled)
        self._near_box.valueChanged.connect(self._on_level_box_changed)
        self._far_box.valueChanged.connect(self._on_level_box_changed)
        self._crop_box.toggled.connect(self.cropToggled)
        hist = self._histogram.item
        hist.sigLevelsChanged.connect(self._on_histogram_levels_changed)
        hist.sigLevelChangeFinished.connect(self._on_level_drag_finished)
        hist.sigLookupTableChanged.connect(self._on_lookup_table_changed)
        self._histogram_source.sigImageChanged.disconnect(hist.imageChanged)
        self._histogram_timer = QtCore.QTimer(self, singleShot=True, interval=HISTOGRAM_REFRESH_MS)
        self._histogram_timer.timeout.connect(self._refresh_histogram)
        self._graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)

    # -- public API ---------------------------------------------------------------------------
    def set_depth(self, depth: np.ndarray, title: str = "") -> None:
        """Show one depth image (float mm, 0 = no data). Keeps a reference, does not copy."""
        self.set_images([(title, depth)])

    def set_images(self, images: Sequence[tuple[str, np.ndarray]]) -> None:
        """Show up to three (title, depth mm) images side by side with shared levels."""
        if not 1 <= len(images) <= MAX_PANELS:
            raise ValueError(f"expected 1 to {MAX_PANELS} images, got {len(images)}")
        relayout = len(images) != self._shown
        if relayout:
            self._arrange(len(images))
        reframe = False
        for panel, (title, depth) in zip(self._panels, images):
            depth = np.asarray(depth)
            if depth.ndim != 2:
                raise ValueError(f"depth must be HxW, got shape {depth.shape}")
            if panel.depth is None or panel.depth.shape != depth.shape:
                panel.frame.setRect(0, 0, depth.shape[1], depth.shape[0])
                reframe = True
            if panel.title.text != title:
                panel.set_title(title)  # a repaint only: a title's width never moves a column
            panel.depth = depth
            self._draw(panel)
        if not self._histogram_timer.isActive():
            self._histogram_timer.start()
        if reframe:
            self._regrid()  # the image's shape decides which grid shows it biggest
        if self._auto_levels:
            self._fit_levels()
        if reframe or relayout:
            self._panels[0].view.autoRange(padding=FIT_PADDING)

    def set_crop_box(self, box: tuple[float, float, float] | None) -> None:
        """Outline where the crop lies (left u, top v, side in pixels) on every full-frame
        panel; None (the panels show the crop itself) hides the outline."""
        for panel in self._panels:
            panel.show_crop_box(box)

    def set_colormap(self, name: str) -> None:
        """Switch every panel to one of COLORMAPS."""
        if name not in COLORMAPS:
            raise ValueError(f"unknown colormap {name!r}; choose from {COLORMAPS}")
        self._colormap = name
        with QtCore.QSignalBlocker(self._colormap_box):
            self._colormap_box.setCurrentText(name)
        # The histogram's gradient drives every image's lookup table (_on_lookup_table_changed).
        self._histogram.item.gradient.setColorMap(make_colormap(name))

    def set_levels(self, near_mm: float, far_mm: float) -> None:
        """Fix the levels (mm) that map to the two ends of the colormap; turns auto levels off."""
        self.set_auto_levels(False)
        self._apply_levels((float(near_mm), float(far_mm)))

    def set_auto_levels(self, enabled: bool) -> None:
        """Fit the levels to the valid depths of every frame (True) or keep them fixed."""
        self._auto_levels = bool(enabled)
        with QtCore.QSignalBlocker(self._auto_box):
            self._auto_box.setChecked(self._auto_levels)
        if self._auto_levels:
            self._fit_levels()

    def set_crop_checked(self, checked: bool) -> None:
        """Reflect the app's crop state on the toggle without emitting cropToggled."""
        with QtCore.QSignalBlocker(self._crop_box):
            self._crop_box.setChecked(checked)

    @property
    def levels(self) -> tuple[float, float]:
        return self._levels

    @property
    def colormap(self) -> str:
        return self._colormap

    @property
    def readout(self) -> str:
        return self._readout.text()

    @property
    def panel_count(self) -> int:
        return self._shown

    def panel_titles(self) -> list[str]:
        return [p.title.text for p in self._panels[:self._shown]]

    @property
    def panels(self) -> list[DepthPanel]:
        """The panels shown now (their view boxes and titles: what the layout tests measure)."""
        return self._panels[:self._shown]

    def image_surface(self) -> QtWidgets.QWidget:
        """The widget the images are painted on (its Paint events: a frame reaching the screen)."""
        return self._graphics.viewport()

    def panel_depth(self, panel: int = 0) -> np.ndarray | None:
        """The depth (mm) panel `panel` shows, as given to set_images."""
        return self._panels[panel].depth if panel < self._shown else None

    def image_to_widget(self, panel: int, u: float, v: float) -> QtCore.QPoint:
        """Where image pixel (u, v) of a panel lies in this widget's coordinates."""
        view = self._panels[panel].view
        view.updateMatrix()  # pyqtgraph defers range changes to the next paint
        scene_pos = view.mapViewToScene(QtCore.QPointF(u, v))
        view_pos = self._graphics.mapFromScene(scene_pos)
        return self._graphics.mapTo(self, view_pos)

    # -- internals ----------------------------------------------------------------------------
    def _arrange(self, count: int) -> None:
        for panel in self._panels[count:]:
            panel.depth = panel.display = None
            panel.image.clear()
            panel.set_title("")
        self._shown = count
        self._grid = (0, 0)
        self._regrid()

    def _regrid(self) -> bool:
        """Lay the shown panels out in the grid that shows them biggest (grid_shape); True when
        the grid changed."""
        depth = self._panels[0].depth
        aspect = depth.shape[1] / depth.shape[0] if depth is not None else 1.0
        size = self._graphics.size()
        grid = grid_shape(self._shown, size.width(), size.height(), aspect)
        if grid == self._grid:
            return False
        self._grid = grid
        layout = self._graphics.ci
        layout.clear()
        for i, panel in enumerate(self._panels[:self._shown]):
            layout.addItem(panel.view, row=i // grid[1], col=i % grid[1])
        layout.layout.activate()  # place the view boxes now, so autoRange fits them
        return True

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._shown and self._regrid():
            self._panels[0].view.autoRange(padding=FIT_PADDING)

    def _draw(self, panel: DepthPanel) -> None:
        panel.display = colour_indices(panel.depth, self._levels, panel.display)
        panel.image.setImage(panel.display, autoLevels=False)

    def _refresh_histogram(self) -> None:
        depth = self._panels[0].depth
        if depth is not None:
            self._histogram_source.setImage(_with_holes_as_nan(depth), autoLevels=False)
            self._histogram.item.imageChanged()

    def _apply_levels(self, levels: tuple[float, float]) -> None:
        # Setting the histogram region calls back _on_histogram_levels_changed for every panel.
        self._applying_levels = True
        try:
            self._histogram.item.setLevels(*levels)
        finally:
            self._applying_levels = False
        near, far = min(levels), max(levels)
        margin = HISTOGRAM_MARGIN * max(far - near, 1.0)
        self._histogram.item.setHistogramRange(near - margin, far + margin, padding=0)

    def _fit_levels(self) -> None:
        valid = [p.depth[p.depth > 0] for p in self._panels[:self._shown] if p.depth is not None]
        valid = [v for v in valid if v.size]
        if valid:
            self._apply_levels((min(float(v.min()) for v in valid),
                                max(float(v.max()) for v in valid)))

    def _on_level_box_changed(self) -> None:
        self.set_levels(self._near_box.value(), self._far_box.value())
        self.levelsChanged.emit(*self._levels)

    def _on_level_drag_finished(self) -> None:
        self._on_histogram_levels_changed()
        if not self._applying_levels:
            self.levelsChanged.emit(*self._levels)

    def _on_auto_toggled(self, enabled: bool) -> None:
        self.set_auto_levels(enabled)
        if not enabled:  # the levels auto left on screen are now the user's
            self.levelsChanged.emit(*self._levels)

    def _on_colormap_chosen(self, name: str) -> None:
        self.set_colormap(name)
        self.colormapChanged.emit(name)

    def _on_histogram_levels_changed(self) -> None:
        levels = tuple(float(x) for x in self._histogram.item.getLevels())
        if levels != self._levels:
            self._levels = levels
            for panel in self._panels[:self._shown]:
                if panel.depth is not None:
                    self._draw(panel)
        for box, value in zip((self._near_box, self._far_box), self._levels):
            with QtCore.QSignalBlocker(box):
                box.setValue(value)

    def _on_lookup_table_changed(self) -> None:
        table = np.empty((COLOURS + 1, 4), np.uint8)
        table[:COLOURS] = self._histogram.item.gradient.getLookupTable(COLOURS, alpha=True)
        no_data = QtGui.QColor(theme.NO_DATA)
        table[NO_DATA_INDEX] = (no_data.red(), no_data.green(), no_data.blue(), 255)
        for panel in self._panels:
            panel.image.setLookupTable(table)

    def _on_mouse_moved(self, scene_pos: QtCore.QPointF) -> None:
        for panel in self._panels[:self._shown]:
            if panel.depth is None or not panel.view.sceneBoundingRect().contains(scene_pos):
                continue
            point = panel.view.mapSceneToView(scene_pos)
            u, v = int(np.floor(point.x())), int(np.floor(point.y()))
            h, w = panel.depth.shape
            if 0 <= u < w and 0 <= v < h:
                depth = float(panel.depth[v, u])
                value = f"{depth:7.1f} mm" if depth > 0 else "no data"
                prefix = f"{panel.title.text}  " if panel.title.text else ""
                self._readout.setText(f"{prefix}u {u}  v {v}   {value}")
                self.cursorDepthChanged.emit(u, v, depth)
                return
        self._readout.setText("")


def colour_indices(depth: np.ndarray, levels: tuple[float, float], out: np.ndarray | None = None) -> np.ndarray:
    """uint8 (H, W): each pixel's entry of the view's colour table, the levels (near, far mm)
    spread over 0 .. COLOURS - 1 (rounded, clipped at both ends), no data (<= 0 or NaN)
    NO_DATA_INDEX; reuses ``out`` when it fits. OpenCV's saturating conversions, one pass each.
    Depth with data is finite (the runtime shows no frame with inf: engine.runtime.FrameError)."""
    d = np.asarray(depth, dtype=np.float32)
    if out is None or out.shape != d.shape:
        out = np.empty(d.shape, np.uint8)
    near, far = levels
    scale = (COLOURS - 1) / max(far - near, 1e-6)
    cv2.addWeighted(d, scale, d, 0.0, -near * scale, dst=out, dtype=cv2.CV_8U)
    cv2.min(out, COLOURS - 1, dst=out)
    has_data = cv2.compare(d, 0.0, cv2.CMP_GT)  # 255 where depth > 0; NaN compares false
    out |= ~has_data  # NO_DATA_INDEX is 255: every bit set
    return out


def _with_holes_as_nan(depth: np.ndarray) -> np.ndarray:
    """float32 copy of depth with no-data (<= 0) as NaN (the histogram leaves NaN out)."""
    out = np.array(depth, dtype=np.float32)
    out[~(out > 0)] = np.nan
    return out
