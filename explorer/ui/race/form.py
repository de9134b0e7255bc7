"""The race's knobs: network, a second network for a depth race (He et al. Fig. 6: both raced, each
plain and residual, four curves), steps, batch, learning rate, image size, seed, device, data and
"no normalisation".

UI layer (Qt widgets). The form is a view of a ``RaceSettings`` model: editing a widget sets the
model, the model's ``changed`` updates the widgets (with QSignalBlocker, so nothing echoes).
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QSpinBox, QWidget

from explorer.core.network.stages import arch_title
from explorer.core.race.config import DIGITS, NETWORKS
from explorer.ui.common.widgets import settings_group, show_settings, spin
from explorer.ui.race.settings import AUTO_DEVICE, LIMITS, RaceSettings

ONE_NETWORK = "none: residual vs plain"  # the depth box's first entry


class RaceForm(QWidget):
    """The settings group, bound to ``settings``. The device list is given (the panel asks the core
    which devices exist), so this module needs no torch."""

    def __init__(self, settings: RaceSettings, devices: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.network_box = QComboBox()
        self.depth_box = QComboBox()
        self.depth_box.addItem(ONE_NETWORK, "")
        self.depth_box.setToolTip("Race a second network too, each plain and residual on the same batches "
                                  "(He et al. Fig. 6: does the deeper plain network train worse?)")
        for name in NETWORKS:
            self.network_box.addItem(arch_title(name), name)
            self.depth_box.addItem(arch_title(name), name)
        self.steps_spin, self.batch_spin, self.size_spin, self.seed_spin = (spin(*LIMITS[k]) for k in ("steps", "batch", "size", "seed"))
        self.size_spin.setSpecialValueText("auto")  # its lowest value: the networks' own side
        self.size_spin.setToolTip("Image side in pixels; auto: 16 for the CIFAR networks, 32 for the ImageNet ones")
        self.lr_edit = QLineEdit()
        self.lr_edit.setToolTip("Peak learning rate of SGD (momentum 0.9, weight decay 1e-4), after a 5-step warm-up")
        self.device_box = QComboBox()
        self.device_box.setEditable(True)  # cuda:1 and the like can be typed
        self.device_box.addItems([AUTO_DEVICE, *devices])
        self.data_edit = QLineEdit()
        self.data_edit.setToolTip(f"'{DIGITS}' (bundled handwritten digits) or a folder with one subfolder of images per class")
        for box in (self.network_box, self.depth_box, self.device_box):  # the longest name must not widen the dock
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(6)
        for edit in (self.lr_edit, self.data_edit):
            edit.setMinimumWidth(6 * edit.fontMetrics().averageCharWidth())
        self.no_norm_box = QCheckBox("No normalisation")
        self.no_norm_box.setToolTip("No BatchNorm and PyTorch's default init: the plain network's stem gradient vanishes")

        # Two short label-field pairs a row (the dock is short and wide), the wide fields on their own.
        rows = (
            (("Network", self.network_box),), (("Fig. 6 with", self.depth_box),),
            (("Steps", self.steps_spin), ("Batch", self.batch_spin)),
            (("Learning rate", self.lr_edit), ("Size (px)", self.size_spin)), (("Seed", self.seed_spin),),
            (("Device", self.device_box),), (("Data", self.data_edit),),
        )
        settings_group("Race settings", rows, self.no_norm_box, self)

        self.network_box.currentIndexChanged.connect(lambda _: self.settings.set(network=self.network_box.currentData()))
        self.depth_box.currentIndexChanged.connect(lambda _: self.settings.set(depth_with=self.depth_box.currentData()))
        for name, box in self._spins().items():
            box.valueChanged.connect(lambda value, n=name: self.settings.set(**{n: value}))
        self.lr_edit.textEdited.connect(lambda text: self.settings.set(lr=text))
        self.data_edit.textEdited.connect(lambda text: self.settings.set(data=text))
        self.device_box.currentTextChanged.connect(lambda text: self.settings.set(device=text))
        self.no_norm_box.toggled.connect(lambda on: self.settings.set(no_norm=on))
        settings.changed.connect(self._on_settings_changed)
        self._on_settings_changed({"network", "depth_with", "lr", "device", "data", "no_norm", *self._spins()})

    def _spins(self) -> dict[str, QSpinBox]:
        return {"steps": self.steps_spin, "batch": self.batch_spin, "size": self.size_spin, "seed": self.seed_spin}

    def _on_settings_changed(self, names: set[str]) -> None:
        v = self.settings.values
        show_settings(v, names, {"network": self.network_box, "depth_with": self.depth_box}, self._spins())
        for name, edit in (("lr", self.lr_edit), ("data", self.data_edit)):
            if name in names and edit.text() != getattr(v, name):
                with QSignalBlocker(edit):
                    edit.setText(getattr(v, name))
        if "device" in names and self.device_box.currentText() != v.device:
            with QSignalBlocker(self.device_box):
                self.device_box.setCurrentText(v.device)
        if "no_norm" in names:
            with QSignalBlocker(self.no_norm_box):
                self.no_norm_box.setChecked(v.no_norm)
