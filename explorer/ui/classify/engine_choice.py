"""What runs the classification panel's predictions: the engine (auto, torch, onnxruntime, OpenVINO;
see :mod:`explorer.core.inference.engines`) and the precision (auto, or one the device runs natively).

UI layer, a thin view: two combo boxes that hold plain strings and say when the user changed one;
the panel decides what to do (load the weights again with the new choice, on its worker lane). The
engine box offers the engines installed here; its tooltip names the others and how to get them.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, QSignalBlocker, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from explorer.core.choices import ENGINE_CHOICES
from explorer.core.devices import select_device, supported_precisions
from explorer.core.inference.engines import installed

AUTO = "auto"


def offered_engines() -> list[str]:
    """``auto`` and every engine whose runtime is installed here."""
    return [name for name in ENGINE_CHOICES if name == AUTO or installed(name)]


def engine_tip() -> str:
    missing = [name for name in ENGINE_CHOICES if name not in offered_engines()]
    tip = ("What runs the network: auto takes the fastest one installed for the device and precision; one chosen "
           "here that cannot run falls back to torch with a note")
    if missing:
        tip += "; not offered, not installed here: " + ", ".join(f"{name} (pip install {name})" for name in missing)
    return tip


class EngineChoice(QWidget):
    """Engine and precision boxes; ``changed`` fires when the user picks another one."""

    changed = Signal()

    def __init__(self, device: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.engine_box = QComboBox()
        for name in offered_engines():
            self.engine_box.addItem(name, name)
        self.engine_box.setToolTip(engine_tip())
        self.precision_box = QComboBox()
        self.precision_box.setToolTip("auto: bf16 on a CPU that runs it natively (if the engine does and the sample photos "
                                      "keep their top classes), else fp32; a precision chosen here that is dropped says so")
        for box in (self.engine_box, self.precision_box):  # narrow: the right column is ~280 px at 1280x720
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(4)
        self.set_device(device)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Engine"))
        layout.addWidget(self.engine_box)
        layout.addWidget(self.precision_box)
        layout.addStretch(1)
        self.engine_box.currentIndexChanged.connect(self._on_box_changed)
        self.precision_box.currentIndexChanged.connect(self._on_box_changed)

    def engine(self) -> str:
        return self.engine_box.currentData()

    def precision(self) -> str:
        return self.precision_box.currentData()

    def set_device(self, device: str) -> None:
        """Offer ``auto`` and the precisions ``device`` runs natively; a choice no longer offered
        becomes ``auto``. Quiet: the panel calls it when it changes device itself."""
        current = self.precision_box.currentData() or AUTO
        with QSignalBlocker(self.precision_box):
            self.precision_box.clear()
            for name in (AUTO, *supported_precisions(select_device(device))):
                self.precision_box.addItem(name, name)
            self.precision_box.setCurrentIndex(max(0, self.precision_box.findData(current)))

    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("engine", self.engine())
        settings.setValue("precision", self.precision())

    def restore_settings(self, settings: QSettings) -> None:
        """Take the saved choices that are still offered, quietly (the panel loads weights next)."""
        for box, key in ((self.engine_box, "engine"), (self.precision_box, "precision")):
            index = box.findData(settings.value(key, AUTO, type=str))
            if index >= 0:
                with QSignalBlocker(box):
                    box.setCurrentIndex(index)

    def _on_box_changed(self, _index: int) -> None:
        self.changed.emit()
