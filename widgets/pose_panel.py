"""Pose controls: a searchable preset library, per-finger curl and spread, global rotation,
whole-hand actions and the hand's thickness. Emits what the user asked for; ``set_state`` mirrors the app's pose back
without echoing it as a new edit.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from PySide6 import QtCore, QtWidgets

from . import theme
from .images import thumbnail_icon

_STEPS = 100                      # slider ticks per unit of curl or spread
_PERCENT = 100                    # thickness slider ticks per unit (1 % steps)
_ROTATION_LIMIT_DEG = 180
_THUMBNAIL_PX = 56
HANDEDNESS: tuple[str, ...] = ("left", "right")


class PosePanel(QtWidgets.QWidget):
    """Edits a hand pose through sliders and buttons; the app owns the pose itself.

    ``fingers`` are the finger names the app uses (e.g. thumb … little), in display order.
    Curl is 0 (straight) … 1 (fully bent); spread is -1 … 1 (towards the thumb is the app's call).
    """

    presetChosen = QtCore.Signal(str)
    fingerSelected = QtCore.Signal(str)
    fingerCurlChanged = QtCore.Signal(str, float)
    fingerSpreadChanged = QtCore.Signal(str, float)
    globalRotationChanged = QtCore.Signal(float, float, float)  # degrees about x, y, z
    randomPoseRequested = QtCore.Signal()
    mirrorRequested = QtCore.Signal()
    handednessChanged = QtCore.Signal(str)                     # "left" or "right"
    fingerResetRequested = QtCore.Signal(str)
    handResetRequested = QtCore.Signal()
    thicknessChanged = QtCore.Signal(float)                    # the hand's thickness, 1 = the mean hand

    def __init__(self, fingers: Sequence[str], thickness_range: tuple[float, float] = (0.9, 1.1),
                 parent: QtWidgets.QWidget | None = None):
        """`thickness_range`: the hand thicknesses offered (the range the app's models know)."""
        super().__init__(parent)
        if not fingers:
            raise ValueError("PosePanel needs at least one finger name")
        self._thickness_range = (round(thickness_range[0] * _PERCENT), round(thickness_range[1] * _PERCENT))
        self._fingers = list(fingers)
        self._curl: dict[str, QtWidgets.QSlider] = {}
        self._spread: dict[str, QtWidgets.QSlider] = {}
        self._finger_buttons = QtWidgets.QButtonGroup(self)
        self._rotation_sliders: list[QtWidgets.QSlider] = []
        self._rotation_boxes: list[QtWidgets.QSpinBox] = []
        self._hand_buttons = QtWidgets.QButtonGroup(self)  # exclusive: one hand is selected
        self.setStyleSheet(theme.CHECKED_BUTTON_STYLE)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self._build_presets(), 1)
        layout.addWidget(self._build_fingers())
        layout.addWidget(self._build_rotation())
        layout.addWidget(self._build_actions())
        self.set_selected_finger(self._fingers[0])

    # -- construction -------------------------------------------------------------------------
    def _build_presets(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Presets")
        self._search = QtWidgets.QLineEdit(placeholderText="Search presets…",
                                           clearButtonEnabled=True)
        self._search.textChanged.connect(self._on_search_changed)
        self._search.returnPressed.connect(self._on_search_accepted)
        self._preset_list = QtWidgets.QListWidget()
        self._preset_list.setViewMode(QtWidgets.QListView.ViewMode.IconMode)
        self._preset_list.setIconSize(QtCore.QSize(_THUMBNAIL_PX, _THUMBNAIL_PX))
        self._preset_list.setGridSize(QtCore.QSize(_THUMBNAIL_PX + 18, _THUMBNAIL_PX + 24))
        self._preset_list.setResizeMode(QtWidgets.QListView.ResizeMode.Adjust)
        self._preset_list.setMovement(QtWidgets.QListView.Movement.Static)
        self._preset_list.setWordWrap(True)
        self._preset_list.setMinimumHeight(_THUMBNAIL_PX + 36)
        self._preset_list.itemClicked.connect(self._on_preset_clicked)
        col = QtWidgets.QVBoxLayout(box)
        col.addWidget(self._search)
        col.addWidget(self._preset_list, 1)
        return box

    def _build_fingers(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Fingers")
        grid = QtWidgets.QGridLayout(box)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(2)
        for col, text in ((1, "Curl"), (2, "Spread")):
            header = QtWidgets.QLabel(text)
            header.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(header, 0, col)
        for row, finger in enumerate(self._fingers, start=1):
            button = QtWidgets.QToolButton(text=finger.capitalize(), checkable=True, autoRaise=True)
            button.setToolTip(f"Select the {finger} for 'Reset finger'")
            button.setMinimumWidth(58)
            self._finger_buttons.addButton(button, row - 1)
            curl = self._slider(0, _STEPS, f"{finger} curl: 0 straight … 1 bent")
            spread = self._slider(-_STEPS, _STEPS, f"{finger} spread: -1 … 1")
            curl.valueChanged.connect(
                lambda v, f=finger: self.fingerCurlChanged.emit(f, v / _STEPS))
            spread.valueChanged.connect(
                lambda v, f=finger: self.fingerSpreadChanged.emit(f, v / _STEPS))
            self._curl[finger], self._spread[finger] = curl, spread
            grid.addWidget(button, row, 0)
            grid.addWidget(curl, row, 1)
            grid.addWidget(spread, row, 2)
        self._finger_buttons.setExclusive(True)
        self._finger_buttons.idClicked.connect(
            lambda i: self.fingerSelected.emit(self._fingers[i]))
        return box

    def _build_rotation(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Rotation")
        grid = QtWidgets.QGridLayout(box)
        grid.setVerticalSpacing(2)
        for row, axis in enumerate("XYZ"):
            slider = self._slider(-_ROTATION_LIMIT_DEG, _ROTATION_LIMIT_DEG,
                                  f"Rotation about the camera's {axis} axis")
            spin = QtWidgets.QSpinBox(suffix="°", wrapping=True, keyboardTracking=False)
            spin.setRange(-_ROTATION_LIMIT_DEG, _ROTATION_LIMIT_DEG)
            slider.valueChanged.connect(lambda v, s=spin: self._on_rotation_edited(s, v))
            spin.valueChanged.connect(lambda v, s=slider: self._on_rotation_edited(s, v))
            self._rotation_sliders.append(slider)
            self._rotation_boxes.append(spin)
            grid.addWidget(QtWidgets.QLabel(axis), row, 0)
            grid.addWidget(slider, row, 1)
            grid.addWidget(spin, row, 2)
        return box

    def _build_actions(self) -> QtWidgets.QWidget:
        box = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(box)
        grid.setContentsMargins(0, 0, 0, 0)
        actions = (("Random pose", self.randomPoseRequested.emit, "A random plausible pose"),
                   ("Mirror L↔R", self.mirrorRequested.emit, "Mirror the pose to the other hand"),
                   ("Reset finger", self._on_reset_finger, "Straighten the selected finger"),
                   ("Reset hand", self.handResetRequested.emit, "Back to the rest pose"))
        for i, (text, slot, tip) in enumerate(actions):
            button = QtWidgets.QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, s=slot: s())
            grid.addWidget(button, i // 2, i % 2)
        hand_row = QtWidgets.QHBoxLayout()
        hand_row.addWidget(QtWidgets.QLabel("Hand"))
        for i, side in enumerate(HANDEDNESS):
            button = QtWidgets.QPushButton(side.capitalize(), checkable=True)
            self._hand_buttons.addButton(button, i)
            hand_row.addWidget(button)
        self._hand_buttons.button(HANDEDNESS.index("right")).setChecked(True)
        self._hand_buttons.idClicked.connect(lambda i: self.handednessChanged.emit(HANDEDNESS[i]))
        grid.addLayout(hand_row, 2, 0, 1, 2)
        thickness_row = QtWidgets.QHBoxLayout()
        thickness_row.addWidget(QtWidgets.QLabel("Thickness"))
        self._thickness = self._slider(*self._thickness_range, "How thick the hand is: every finger, the palm "
                                                               "and the arm (100 % = the mean hand)")
        self._thickness_box = QtWidgets.QSpinBox(suffix=" %", keyboardTracking=False)
        self._thickness_box.setRange(*self._thickness_range)
        for widget, partner in ((self._thickness, self._thickness_box), (self._thickness_box, self._thickness)):
            widget.setValue(_PERCENT)
            widget.valueChanged.connect(lambda v, p=partner: self._on_thickness_edited(p, v))
        thickness_row.addWidget(self._thickness)
        thickness_row.addWidget(self._thickness_box)
        grid.addLayout(thickness_row, 3, 0, 1, 2)
        return box

    @staticmethod
    def _slider(lo: int, hi: int, tooltip: str) -> QtWidgets.QSlider:
        slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        slider.setRange(lo, hi)
        slider.setToolTip(tooltip)
        slider.setMinimumWidth(90)
        return slider

    # -- public API ---------------------------------------------------------------------------
    def set_presets(self, presets: Sequence[tuple[str, np.ndarray]]) -> None:
        """Fill the library with (name, thumbnail uint8 HxW or HxWx3) pairs."""
        self._preset_list.clear()
        for name, thumbnail in presets:
            item = QtWidgets.QListWidgetItem(thumbnail_icon(thumbnail, _THUMBNAIL_PX), name)
            item.setData(QtCore.Qt.ItemDataRole.UserRole, name)
            item.setToolTip(name)
            self._preset_list.addItem(item)
        self._on_search_changed(self._search.text())

    def set_state(self, curls: Mapping[str, float] | None = None,
                  spreads: Mapping[str, float] | None = None,
                  rotation: Sequence[float] | None = None,
                  handedness: str | None = None, thickness: float | None = None) -> None:
        """Show the app's pose without emitting any change signal; None leaves a part as is."""
        for finger, value in (curls or {}).items():
            _set_quietly(self._curl[finger], round(float(value) * _STEPS))
        for finger, value in (spreads or {}).items():
            _set_quietly(self._spread[finger], round(float(value) * _STEPS))
        if rotation is not None:
            for slider, spin, deg in zip(self._rotation_sliders, self._rotation_boxes, rotation):
                _set_quietly(slider, _wrap_degrees(deg))
                _set_quietly(spin, _wrap_degrees(deg))
        if handedness is not None:
            with QtCore.QSignalBlocker(self._hand_buttons):
                self._hand_buttons.button(HANDEDNESS.index(handedness)).setChecked(True)
        if thickness is not None:  # a file's hand may lie outside the offered range: shown at its end
            for widget in (self._thickness, self._thickness_box):
                _set_quietly(widget, round(float(thickness) * _PERCENT))

    def set_selected_finger(self, finger: str) -> None:
        """Select the finger 'Reset finger' acts on (e.g. after a joint drag), without a signal."""
        with QtCore.QSignalBlocker(self._finger_buttons):
            self._finger_buttons.button(self._fingers.index(finger)).setChecked(True)

    @property
    def selected_finger(self) -> str:
        return self._fingers[self._finger_buttons.checkedId()]

    def curl(self, finger: str) -> float:
        return self._curl[finger].value() / _STEPS

    def spread(self, finger: str) -> float:
        return self._spread[finger].value() / _STEPS

    def rotation(self) -> tuple[float, float, float]:
        return tuple(float(s.value()) for s in self._rotation_sliders)

    def handedness(self) -> str:
        return HANDEDNESS[self._hand_buttons.checkedId()]

    def thickness(self) -> float:
        return self._thickness.value() / _PERCENT

    def visible_presets(self) -> list[str]:
        items = (self._preset_list.item(i) for i in range(self._preset_list.count()))
        return [item.text() for item in items if not item.isHidden()]

    # -- handlers -----------------------------------------------------------------------------
    def _on_search_changed(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self._preset_list.count()):
            item = self._preset_list.item(i)
            item.setHidden(needle not in item.text().lower())

    def _on_search_accepted(self) -> None:
        visible = self.visible_presets()
        if visible:
            self.presetChosen.emit(visible[0])

    def _on_preset_clicked(self, item: QtWidgets.QListWidgetItem) -> None:
        self.presetChosen.emit(item.data(QtCore.Qt.ItemDataRole.UserRole))

    def _on_rotation_edited(self, partner: QtWidgets.QAbstractSlider | QtWidgets.QSpinBox,
                            value: int) -> None:
        _set_quietly(partner, value)
        self.globalRotationChanged.emit(*self.rotation())

    def _on_thickness_edited(self, partner: QtWidgets.QAbstractSlider | QtWidgets.QSpinBox, value: int) -> None:
        _set_quietly(partner, value)
        self.thicknessChanged.emit(value / _PERCENT)

    def _on_reset_finger(self) -> None:
        self.fingerResetRequested.emit(self.selected_finger)


def _set_quietly(widget: QtWidgets.QWidget, value: int) -> None:
    with QtCore.QSignalBlocker(widget):
        widget.setValue(value)


def _wrap_degrees(deg: float) -> int:
    """Nearest whole degree in [-180, 180)."""
    return int(round((float(deg) + 180.0) % 360.0 - 180.0))
