"""The right-hand column of the classification panel: for the selected image, the "untrained" banner,
its name, the top-5 classes as probability bars, device, engine, precision and latency, then the picture
scaled to fit (the predictions come first, so a short dock never hides them below the picture).

UI layer (Qt widgets). It renders what it is given; nothing here classifies.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap, QResizeEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from explorer.core.inference.prediction import Prediction
from explorer.ui.common.text import percent
from explorer.ui.common.widgets import Banner, ElidedLabel, ProgressBar, bold, wrapping_label

TOPK = 5
UNTRAINED = "Untrained weights (random initialisation): these classes mean nothing."
BAR_MIN_CHARS = 7  # a bar always has room for "100.0%"
EMPTY = "Drop images or folders here, paste an image, or use Add images…"
REFUSED = "⚠ This input cannot be classified (see above); the others carry on."


class FittedImage(QLabel):
    """A label that shows its image as large as fits, never larger than the image, never cropped."""

    def __init__(self) -> None:
        super().__init__()
        self._image: QPixmap | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(96, 96)
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

    def set_image(self, image: QPixmap | None) -> None:
        self._image = image
        self._fit()

    def image(self) -> QPixmap | None:
        return self._image

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if self._image is None or self._image.isNull():
            self.setPixmap(QPixmap())
            return
        ratio = self._image.devicePixelRatio()
        logical = self._image.size() / ratio
        box = logical.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio).boundedTo(logical)
        fitted = self._image.scaled(box * ratio, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
        fitted.setDevicePixelRatio(ratio)
        self.setPixmap(fitted)


class ResultView(QWidget):
    """What is known about one image: its predictions, or its error, or that it is waiting."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.banner = Banner()
        self.banner.hide()
        self.title_label = bold(wrapping_label())
        self.class_labels: list[QLabel] = []
        self.class_bars: list[ProgressBar] = []
        bars = QGridLayout()
        for rank in range(TOPK):
            label = ElidedLabel()  # a long class name shortens; the bar keeps its room
            bar = ProgressBar()
            bar.setRange(0, 1000)
            bar.setTextVisible(True)
            bar.setMinimumWidth(self.fontMetrics().averageCharWidth() * BAR_MIN_CHARS + 16)
            bars.addWidget(label, rank, 0)
            bars.addWidget(bar, rank, 1)
            self.class_labels.append(label)
            self.class_bars.append(bar)
        bars.setColumnStretch(0, 3)
        bars.setColumnStretch(1, 2)
        self.details_label = wrapping_label()
        self.preview = FittedImage()
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.banner)
        column.addWidget(self.title_label)
        column.addLayout(bars)
        column.addWidget(self.details_label)
        column.addWidget(self.preview, 1)
        self.show_nothing()

    def show_nothing(self) -> None:
        self._show("", None, None, "", EMPTY)

    def show_error(self, name: str, message: str) -> None:
        self._show(name, None, None, message, REFUSED)

    def show_waiting(self, name: str, preview: QPixmap | None, text: str) -> None:
        self._show(name, None, preview, text, "")

    def show_prediction(self, name: str, prediction: Prediction, preview: QPixmap | None, size: tuple[int, int]) -> None:
        w, h = size
        details = (f"{prediction.device} · {prediction.engine} {prediction.precision} · {prediction.latency_ms:.1f} ms (forward) "
                   f"· decoded {w}x{h}")
        self._show(name, prediction, preview, details, "")

    def shown_top(self) -> list[tuple[str, str]]:
        """(label, percentage) of each visible bar: what the user reads."""
        return [(label.text(), bar.format()) for label, bar in zip(self.class_labels, self.class_bars) if label.isVisibleTo(self)]

    def _show(self, name: str, prediction: Prediction | None, preview: QPixmap | None, details: str, note: str) -> None:
        self.banner.set_note(UNTRAINED if prediction is not None and not prediction.trained else "")
        self.title_label.setText(name)
        top = prediction.top if prediction is not None else ()
        for rank, (label, bar) in enumerate(zip(self.class_labels, self.class_bars)):
            shown = rank < len(top)
            label.setText(top[rank].label if shown else "")
            bar.setValue(round(1000 * top[rank].prob) if shown else 0)
            bar.setFormat(percent(top[rank].prob) if shown else "")
            label.setVisible(shown)
            bar.setVisible(shown)
        self.details_label.setText(details)
        self.preview.set_image(preview)
        if preview is None:
            self.preview.setText(note)
