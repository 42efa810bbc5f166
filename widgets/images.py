"""numpy image -> Qt image conversion for thumbnails."""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui

_FORMATS = {1: QtGui.QImage.Format.Format_Grayscale8, 3: QtGui.QImage.Format.Format_RGB888,
            4: QtGui.QImage.Format.Format_RGBA8888}


def array_to_qimage(image: np.ndarray) -> QtGui.QImage:
    """Copy a uint8 HxW, HxWx3 or HxWx4 array into a QImage that owns its pixels."""
    arr = np.ascontiguousarray(image, dtype=np.uint8)
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    if channels not in _FORMATS:
        raise ValueError(f"expected HxW, HxWx3 or HxWx4 uint8, got shape {arr.shape}")
    h, w = arr.shape[:2]
    # QImage only borrows the buffer; copy() detaches it from the numpy array.
    return QtGui.QImage(arr.data, w, h, arr.strides[0], _FORMATS[channels]).copy()


def thumbnail_icon(image: np.ndarray, size: int) -> QtGui.QIcon:
    """A square icon of ``size`` px showing the whole image, letterboxed on transparency."""
    pix = QtGui.QPixmap.fromImage(array_to_qimage(image)).scaled(
        size, size, QtCore.Qt.AspectRatioMode.KeepAspectRatio,
        QtCore.Qt.TransformationMode.SmoothTransformation)
    return QtGui.QIcon(pix)
