"""Depth camera settings: intrinsics from a preset or typed in, and the hand's distance."""
from __future__ import annotations

import math
from collections.abc import Mapping

from PySide6 import QtCore, QtWidgets

CUSTOM = "Custom"
INTRINSIC_KEYS: tuple[str, ...] = ("fx", "fy", "cx", "cy", "width", "height")
_FOCAL_RANGE_PX = (1.0, 10000.0)
_SIZE_RANGE_PX = (16, 8192)
_PRINCIPAL_RANGE_PX = (-8192.0, 8192.0)
_TOOLTIPS = {"fx": "Focal length x (px)", "fy": "Focal length y (px)",
             "cx": "Principal point x (px)", "cy": "Principal point y (px)",
             "width": "Image width", "height": "Image height"}
DISTANCE_RANGE_MM = (150.0, 1500.0)


class CameraPanel(QtWidgets.QWidget):
    """Pick intrinsics from the app's presets or edit them; set the hand distance.

    ``cameraChanged`` carries ``{"name", "fx", "fy", "cx", "cy", "width", "height"}`` where name is
    the preset's or "Custom". Values are sent when an edit is committed (Enter, focus out, arrow
    step), not per keystroke, so a half-typed focal length never reaches the renderer.
    """

    cameraChanged = QtCore.Signal(dict)
    distanceChanged = QtCore.Signal(float)  # mm

    def __init__(self, presets: Mapping[str, tuple[float, float, float, float, int, int]],
                 distance_mm: float = 500.0, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self._presets = {name: tuple(values) for name, values in presets.items()}
        self._preset_box = QtWidgets.QComboBox()
        self._preset_box.addItems([*self._presets, CUSTOM])
        self._fields: dict[str, QtWidgets.QDoubleSpinBox | QtWidgets.QSpinBox] = {}
        self._fov_label = QtWidgets.QLabel()
        self._fov_label.setToolTip("Horizontal × vertical field of view")

        form = QtWidgets.QGridLayout()
        form.setHorizontalSpacing(6)
        for i, key in enumerate(INTRINSIC_KEYS):
            field = self._make_field(key)
            self._fields[key] = field
            form.addWidget(QtWidgets.QLabel(key), i // 2, 2 * (i % 2))
            form.addWidget(field, i // 2, 2 * (i % 2) + 1)

        self._distance_box = QtWidgets.QDoubleSpinBox(decimals=0, singleStep=10.0, suffix=" mm",
                                                      keyboardTracking=False)
        self._distance_box.setRange(*DISTANCE_RANGE_MM)
        self._distance_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self._distance_slider.setRange(*(int(v) for v in DISTANCE_RANGE_MM))
        self._distance_slider.setToolTip("Distance from the camera to the hand")
        distance_row = QtWidgets.QHBoxLayout()
        distance_row.addWidget(QtWidgets.QLabel("Distance"))
        distance_row.addWidget(self._distance_slider, 1)
        distance_row.addWidget(self._distance_box)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self._preset_box)
        layout.addLayout(form)
        layout.addWidget(self._fov_label)
        layout.addLayout(distance_row)
        layout.addStretch(1)

        first = next(iter(self._presets.values()), (525.0, 525.0, 320.0, 240.0, 640, 480))
        self.set_camera(dict(zip(INTRINSIC_KEYS, first)))
        self.set_distance(distance_mm)
        self._preset_box.currentTextChanged.connect(self._on_preset_chosen)
        for field in self._fields.values():
            field.valueChanged.connect(self._on_field_edited)
        self._distance_box.valueChanged.connect(self._on_distance_edited)
        self._distance_slider.valueChanged.connect(self._on_distance_edited)

    @staticmethod
    def _make_field(key: str) -> QtWidgets.QDoubleSpinBox | QtWidgets.QSpinBox:
        if key in ("width", "height"):
            field = QtWidgets.QSpinBox(suffix=" px")
            field.setRange(*_SIZE_RANGE_PX)
        else:
            field = QtWidgets.QDoubleSpinBox(decimals=3)
            field.setRange(*(_FOCAL_RANGE_PX if key in ("fx", "fy") else _PRINCIPAL_RANGE_PX))
        field.setKeyboardTracking(False)
        field.setToolTip(_TOOLTIPS[key])
        return field

    # -- public API ---------------------------------------------------------------------------
    def set_camera(self, camera: Mapping[str, float]) -> None:
        """Show intrinsics (keys fx, fy, cx, cy, width, height; others ignored) without a signal."""
        for key in INTRINSIC_KEYS:
            with QtCore.QSignalBlocker(self._fields[key]):
                self._fields[key].setValue(camera[key])
        self._sync_preset_box()
        self._show_fov()

    def set_distance(self, distance_mm: float) -> None:
        """Show the hand distance (mm) without emitting distanceChanged."""
        with QtCore.QSignalBlocker(self._distance_box):
            self._distance_box.setValue(float(distance_mm))
        with QtCore.QSignalBlocker(self._distance_slider):
            self._distance_slider.setValue(round(distance_mm))

    def camera(self) -> dict:
        values = {key: self._fields[key].value() for key in INTRINSIC_KEYS}
        return {"name": self._preset_box.currentText(), **values}

    @property
    def distance(self) -> float:
        return float(self._distance_box.value())

    # -- handlers -----------------------------------------------------------------------------
    def _on_preset_chosen(self, name: str) -> None:
        if name == CUSTOM:
            return  # keep the current values; the user edits them next
        self.set_camera(dict(zip(INTRINSIC_KEYS, self._presets[name])))
        self.cameraChanged.emit(self.camera())

    def _on_field_edited(self) -> None:
        self._sync_preset_box()
        self._show_fov()
        self.cameraChanged.emit(self.camera())

    def _on_distance_edited(self, value: float) -> None:
        self.set_distance(value)
        self.distanceChanged.emit(float(value))

    def _sync_preset_box(self) -> None:
        values = tuple(self._fields[key].value() for key in INTRINSIC_KEYS)
        match = next((name for name, preset in self._presets.items()
                      if all(math.isclose(a, b, abs_tol=1e-3) for a, b in zip(preset, values))),
                     CUSTOM)
        with QtCore.QSignalBlocker(self._preset_box):
            self._preset_box.setCurrentText(match)

    def _show_fov(self) -> None:
        f = {key: self._fields[key].value() for key in INTRINSIC_KEYS}
        h_fov = math.degrees(2 * math.atan(0.5 * f["width"] / f["fx"]))
        v_fov = math.degrees(2 * math.atan(0.5 * f["height"] / f["fy"]))
        self._fov_label.setText(f"Field of view  {h_fov:.1f}° × {v_fov:.1f}°")
