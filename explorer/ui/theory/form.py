"""The theory lab's shared knobs: network, device, initialisation, normalisation, weights, inputs, batch,
size and seed (the gradient lab's, with the initialisations that start each branch at zero).

UI layer (Qt widgets). The form is a view of a ``TheorySettings`` model: editing a widget sets the
model, the model's ``changed`` updates the widgets (with QSignalBlocker, so nothing echoes).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import QComboBox, QPushButton, QSpinBox, QWidget

from explorer.core.loading.sources import menu_sources
from explorer.core.network.stages import MEMBERS
from explorer.core.theory.config import INITS, NORMS
from explorer.ui.common import dialogs
from explorer.ui.common.widgets import choice_box, row, settings_group, show_settings, spin, wrapping_label
from explorer.ui.theory.settings import INPUTS, LIMITS, TheorySettings

# Short: the form shares a narrow column; the tooltips say more.
INIT_WORDS = {
    "he": "He", "pytorch": "PyTorch", "zero-residual": "zero-residual", "skipinit": "SkipInit", "fixup": "Fixup",
    "weights": "loaded weights",
}
NORM_WORDS = {"batch": "batch stats", "frozen": "frozen stats", "none": "none"}
INPUT_WORDS = {"noise": "seeded noise", "images": "images"}
ARCH_WORDS = {name: spec.title for name, spec in MEMBERS.items()}


class TheoryForm(QWidget):
    """The settings group, bound to ``settings``."""

    def __init__(self, settings: TheorySettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.arch_box = choice_box(tuple(MEMBERS), ARCH_WORDS)
        self.arch_box.setToolTip("The network the lab runs (the window's network, unless you choose another)")
        self.device_box = choice_box(settings.devices)
        self.init_box = choice_box(INITS, INIT_WORDS)
        self.init_box.setToolTip("Initialisation: He (Kaiming normal), PyTorch's default, or He with every residual branch "
                                 "starting at zero: zero-residual (its last BN at 0), SkipInit (a scalar at 0), Fixup "
                                 "(no BN, scaled branches); or loaded weights")
        self.norm_box = choice_box(NORMS, NORM_WORDS)
        self.norm_box.setToolTip("Normalisation: batch statistics, frozen running statistics, or none (no BN)")
        self.weights_box = QComboBox()
        self.weights_box.setEditable(True)
        self.weights_box.addItems(menu_sources(settings.values.arch))
        self.weights_box.setToolTip("A named source, random, a checkpoint file or an http(s):// URL (with loaded weights)")
        self.weights_browse = QPushButton("File…")
        self.inputs_box = choice_box(INPUTS, INPUT_WORDS)
        self.images_button = QPushButton("Images…")
        self.images_label = wrapping_label(selectable=False)
        self.batch_spin, self.size_spin, self.seed_spin = (spin(*LIMITS[k]) for k in ("batch", "size", "seed"))
        for box in (self.arch_box, self.device_box, self.init_box, self.norm_box, self.weights_box):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(5)  # the longest name must not widen the dock

        rows = (
            (("Network", self.arch_box), ("Device", self.device_box)),
            (("Init", self.init_box), ("Norm", self.norm_box)),
            (("Weights", row(self.weights_box, self.weights_browse, stretch_last=False)),),
            (("Inputs", row(self.inputs_box, self.images_button)),),
            (("Batch", self.batch_spin), ("Size (px)", self.size_spin)),
            (("Seed", self.seed_spin),),
        )
        settings_group("Settings (all three views)", rows, self.images_label, self)

        for name, box in self._boxes().items():
            box.currentIndexChanged.connect(lambda _=0, n=name, b=box: self.settings.set(**{n: b.currentData()}))
        self.weights_box.editTextChanged.connect(lambda text: self.settings.set(weights=text))
        for name, box in self._spins().items():
            box.valueChanged.connect(lambda value, n=name: self.settings.set(**{n: value}))
        self.weights_browse.clicked.connect(lambda: dialogs.ask_lab_weights(self, self.settings, "theory lab"))
        self.images_button.clicked.connect(lambda: dialogs.ask_lab_images(self, self.settings, "theory lab"))
        settings.changed.connect(self._on_settings_changed)
        self._on_settings_changed({"arch", "weights", "images", "init", "inputs", *self._boxes(), *self._spins()})

    def _boxes(self) -> dict[str, QComboBox]:
        return {"arch": self.arch_box, "device": self.device_box, "init": self.init_box, "norm": self.norm_box, "inputs": self.inputs_box}

    def _spins(self) -> dict[str, QSpinBox]:
        return {"batch": self.batch_spin, "size": self.size_spin, "seed": self.seed_spin}

    # -- model -> widgets -----------------------------------------------------------------------

    def _on_settings_changed(self, names: set[str]) -> None:
        v = self.settings.values
        show_settings(v, names, self._boxes(), self._spins())
        if "arch" in names:
            with QSignalBlocker(self.weights_box):
                self.weights_box.clear()
                self.weights_box.addItems(menu_sources(v.arch))
                self.weights_box.setEditText(v.weights)
        if "weights" in names and self.weights_box.currentText() != v.weights:
            with QSignalBlocker(self.weights_box):
                self.weights_box.setEditText(v.weights)
        if names & {"init", "inputs", "images"}:
            loaded = v.init == "weights"
            self.weights_box.setEnabled(loaded)
            self.weights_browse.setEnabled(loaded)
            self.images_button.setEnabled(v.inputs == "images")
            self.batch_spin.setEnabled(v.inputs == "noise")  # with images the batch is the images
            shown = ", ".join(Path(p).name for p in v.images[:3]) + (f" and {len(v.images) - 3} more" if len(v.images) > 3 else "")
            self.images_label.setText(f"Images: {shown}" if v.inputs == "images" and v.images else "")
            self.images_label.setVisible(v.inputs == "images")
