"""Pixmaps from the plain pixel data that worker results carry: (H, W, 3) uint8 arrays and RGB byte
strings, and plain pixels from a pasted QImage. UI layer (QtGui, numpy, Pillow)."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap


def rgb_pixmap(rgb: np.ndarray, side: int | None = None) -> QPixmap:
    """A pixmap of an (H, W, 3) uint8 array, scaled (nearest, so single activations stay visible as
    squares) to fit ``side`` pixels when given."""
    data = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = data.shape[:2]
    pixmap = QPixmap.fromImage(QImage(data.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888).copy())
    if side is not None:
        pixmap = pixmap.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)
    return pixmap


def rgb_bytes_pixmap(width: int, height: int, data: bytes, device_pixel_ratio: float = 1.0) -> QPixmap:
    """A pixmap of row-major RGB bytes, at the screen's device pixel ratio (sharp at 200%)."""
    image = QImage(data, width, height, 3 * width, QImage.Format.Format_RGB888)
    pixmap = QPixmap.fromImage(image.copy())  # copy: the QImage must not outlive the bytes it wraps
    pixmap.setDevicePixelRatio(device_pixel_ratio)
    return pixmap


def qimage_pixels(image: QImage) -> Image.Image:
    """A QImage (pasted, dropped) as plain RGB pixels, so a worker needs no Qt."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    return Image.frombuffer("RGB", (rgb.width(), rgb.height()), bytes(rgb.constBits()), "raw", "RGB", rgb.bytesPerLine(), 1).copy()
