"""The view state between the controller and the widgets (napari's model: one owner, mirrors).

The controller's view state (app.scene.ViewState: crop, compare, source, levels, colormap, orbit)
has one writer, the controller's `set_view`. The widgets report the user's view gestures with
signals (DepthView.levelsChanged / colormapChanged / cropToggled, HandViewport.orbitChanged);
this hands them to that setter, and mirrors every `viewChanged` back into the widgets and the
View menu's actions. Nothing reads a widget back: a scene file or the autosave is the view
state as it is.

The depth view's levels policy lives here too: levels around the hand's distance at once, then
from the hand's own depths once the frame of the new pose arrives (app.presenter).
"""
from __future__ import annotations

import logging

from PySide6 import QtCore, QtGui

from app.controller import StudioController
from app.presenter import distance_levels, hand_levels
from app.scene import ViewState
from engine.runtime import FrameResult
from widgets.depth_view import COLORMAPS, DepthView
from widgets.hand_viewport import HandViewport

log = logging.getLogger(__name__)

THREE_QUARTER_VIEW = {"azimuth": 125.0, "elevation": 20.0}  # the 3D view at start


class ViewBinding(QtCore.QObject):
    """Widgets' view gestures -> controller.set_view; controller.viewChanged -> widgets."""

    redraw = QtCore.Signal()  # crop or compare changed: the frame on screen is drawn again

    def __init__(self, controller: StudioController, depth_view: DepthView,
                 viewport: HandViewport, actions: dict[str, QtGui.QAction],
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._controller = controller
        self._depth_view = depth_view
        self._viewport = viewport
        self._actions = actions  # "crop", "compare", "source": the View menu's checkable ones
        self._shown: ViewState | None = None  # the state the widgets mirror now
        self._from_widget = False  # the change being mirrored came from a widget: it shows it
        self._relevel_from: int | None = None  # levels from the first frame at or after this id
        depth_view.levelsChanged.connect(lambda near, far: self._edit(levels=(near, far)))
        depth_view.colormapChanged.connect(lambda name: self._edit(colormap=name))
        depth_view.cropToggled.connect(lambda on: self._edit(crop=bool(on)))
        viewport.orbitChanged.connect(lambda state: self._edit(orbit=state))
        controller.viewChanged.connect(self.mirror)
        controller.sourceChanged.connect(
            lambda source: actions["source"].setChecked(source == "generator"))

    def _edit(self, **changes) -> None:
        self._from_widget = True
        try:
            self._controller.set_view(**changes)
        finally:
            self._from_widget = False

    def show_view(self, view: ViewState) -> None:
        """Mirror `view` whole (at start and after opening a scene): levels around the hand
        when the scene has none, the three-quarter 3D view framed on the hand when it has no
        orbit."""
        self._shown = None
        if view.levels is None:
            self.relevel()
        self.mirror(self._controller.view)
        if not view.orbit:
            self._viewport.orbit.restore_orbit(THREE_QUARTER_VIEW)
            self._viewport.frame_hand()

    @QtCore.Slot(object)
    def mirror(self, view: ViewState) -> None:
        """Make the widgets and actions show `view`; a field is set only when it changed, so a
        widget's own state (auto levels, an orbit in progress) is left alone otherwise."""
        last, self._shown = self._shown, view
        actions = self._actions
        with QtCore.QSignalBlocker(actions["crop"]), QtCore.QSignalBlocker(actions["compare"]):
            actions["crop"].setChecked(view.crop)
            actions["compare"].setChecked(view.compare)
        self._depth_view.set_crop_checked(view.crop)
        if not self._from_widget:
            self._mirror_widgets(view, last)
        if last is None or (last.crop, last.compare) != (view.crop, view.compare):
            self.redraw.emit()

    def _mirror_widgets(self, view: ViewState, last: ViewState | None) -> None:
        if view.colormap in COLORMAPS and (last is None or view.colormap != last.colormap):
            self._depth_view.set_colormap(view.colormap)
        if view.levels is not None and (last is None or view.levels != last.levels):
            self._depth_view.set_levels(*view.levels)
        if view.orbit and (last is None or view.orbit != last.orbit):
            try:
                self._viewport.orbit.restore_orbit(view.orbit)
            except (KeyError, TypeError, ValueError) as e:
                log.warning("ignoring the saved 3D view: %s", e)

    def relevel(self) -> None:
        """Levels around the hand's distance now, and from the hand's own depths once the frame
        of the current pose arrives (then they hold still while dragging)."""
        c = self._controller
        c.set_view(levels=distance_levels(c.hand))
        self._relevel_from = c.frames.last_request_id

    def on_frame(self, result: FrameResult) -> None:
        """A frame arrived: take the hand's levels from it when a relevel waits for it."""
        if self._relevel_from is not None and result.request_id >= self._relevel_from:
            self._relevel_from = None
            c = self._controller
            c.set_view(levels=hand_levels(result.clean, result.labels, c.hand))
