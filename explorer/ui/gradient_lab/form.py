"""The gradient lab's knobs: network, depth comparison, preset, shortcuts, normalisation,
initialisation, weights, inputs, targets, batch, size, seed and device, and what the diagram's
switches add to the next run.

UI layer (Qt widgets). The form is a view of a ``LabSettings`` model: editing a widget sets the
model, the model's ``changed`` updates the widgets (with QSignalBlocker, so nothing echoes).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QPushButton, QSpinBox, QVBoxLayout, QWidget

from explorer.core.devices import available_devices
from explorer.core.gradients import INITS, NORMS, PRESETS, SHORTCUT_CHOICES, TARGETS
from explorer.core.loading.sources import menu_sources
from explorer.core.network.blocks import residual_blocks, stages_of
from explorer.core.network.stages import MEMBERS, arch_title
from explorer.ui.common import dialogs
from explorer.ui.common.switches import BlockSwitches
from explorer.ui.common.widgets import choice_box, row, show_settings, spin, wrapping_label
from explorer.ui.gradient_lab.settings import CUSTOM, DEPTHS, INPUTS, LIMITS, LabSettings

SHORTCUT_WORDS = {"both": "both (overlay)", "on": "on only", "off": "off only"}
NORM_WORDS = {"batch": "batch statistics", "frozen": "frozen running statistics", "none": "none (no BN)"}
INIT_WORDS = {"he": "He (Kaiming normal)", "pytorch": "PyTorch default", "weights": "loaded weights"}
INPUT_WORDS = {"noise": "seeded noise", "images": "images"}
TARGET_WORDS = {"random": "seeded random labels", "top1": "model's own top-1"}
ARCH_WORDS = {name: spec.title for name, spec in MEMBERS.items()}
DEPTH_WORDS = {d: " vs ".join(arch_title(a) for a in d.split(",")) + ", plain and residual" for d in DEPTHS if d}
DEPTH_WORDS[""] = "off: the network above, plain vs residual"
WEIGHTS_TIP = "A named checkpoint of the network above, random, or a checkpoint file"
DEPTH_WEIGHTS_TIP = "Each network of the comparison runs with its own checkpoint of this kind (V1 or V2)"


class LabForm(QWidget):
    """The settings group and the "from the diagram" note, bound to ``settings`` and ``switches``."""

    def __init__(self, settings: LabSettings, switches: BlockSwitches, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.switches = switches
        self.preset_box = QComboBox()
        for preset in PRESETS.values():
            self.preset_box.addItem(preset.title, preset.name)
        self.preset_box.addItem("Custom settings", CUSTOM)
        self.preset_description = wrapping_label(selectable=False)
        self.arch_box = choice_box(tuple(MEMBERS), ARCH_WORDS)
        self.arch_box.setToolTip("The network the lab runs (the window's network, unless you choose another)")
        self.depths_box = choice_box(DEPTHS, DEPTH_WORDS)
        self.depths_box.setToolTip("Run several depths, plain and residual, into one plot (He et al. 2015, Fig. 4)")
        self.shortcuts_box = choice_box(SHORTCUT_CHOICES, SHORTCUT_WORDS)
        self.norm_box = choice_box(NORMS, NORM_WORDS)
        self.init_box = choice_box(INITS, INIT_WORDS)
        self.weights_box = QComboBox()
        self.weights_box.setEditable(True)
        self.weights_box.addItems(menu_sources(settings.values.arch))
        self.weights_browse = QPushButton("File…")
        self.inputs_box = choice_box(INPUTS, INPUT_WORDS)
        self.images_button = QPushButton("Choose images…")
        self.images_label = wrapping_label(selectable=False)
        self.targets_box = choice_box(TARGETS, TARGET_WORDS)
        self.batch_spin, self.size_spin, self.seed_spin = (spin(*LIMITS[k]) for k in ("batch", "size", "seed"))
        self.device_box = choice_box(available_devices())
        self.switches_label = wrapping_label(selectable=False)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Network", self.arch_box)
        form.addRow("Compare depths", self.depths_box)
        form.addRow("Preset", self.preset_box)
        form.addRow(self.preset_description)
        form.addRow("Shortcuts", self.shortcuts_box)
        form.addRow("Normalisation", self.norm_box)
        form.addRow("Initialisation", self.init_box)
        form.addRow("Weights", row(self.weights_box, self.weights_browse))
        form.addRow("Inputs", row(self.inputs_box, self.images_button))
        form.addRow(self.images_label)
        form.addRow("Targets", self.targets_box)
        form.addRow("Batch", self.batch_spin)
        form.addRow("Size (px)", self.size_spin)
        form.addRow("Seed", self.seed_spin)
        form.addRow("Device", self.device_box)
        knobs = QGroupBox("Settings")
        knobs.setLayout(form)
        diagram = QGroupBox("From the diagram")
        QVBoxLayout(diagram).addWidget(self.switches_label)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(knobs)
        column.addWidget(diagram)

        self.preset_box.currentIndexChanged.connect(self._on_preset_box_changed)
        for name, box in self._boxes().items():
            box.currentIndexChanged.connect(lambda _=0, n=name, b=box: self.settings.set(**{n: b.currentData()}))
        self.weights_box.editTextChanged.connect(lambda text: self.settings.set(weights=text))
        for name, box in self._spins().items():
            box.valueChanged.connect(lambda value, n=name: self.settings.set(**{n: value}))
        self.weights_browse.clicked.connect(lambda: dialogs.ask_lab_weights(self, self.settings, "gradient lab"))
        self.images_button.clicked.connect(lambda: dialogs.ask_lab_images(self, self.settings, "gradient lab"))
        settings.changed.connect(self._on_settings_changed)
        switches.changed.connect(self._on_switches_changed)
        self._on_settings_changed(set(settings.as_dict()))
        self._on_switches_changed()

    def _boxes(self) -> dict[str, QComboBox]:
        return {
            "shortcuts": self.shortcuts_box,
            "norm": self.norm_box,
            "init": self.init_box,
            "inputs": self.inputs_box,
            "targets": self.targets_box,
            "device": self.device_box,
            "arch": self.arch_box,
            "depths": self.depths_box,
        }

    def _spins(self) -> dict[str, QSpinBox]:
        return {"batch": self.batch_spin, "size": self.size_spin, "seed": self.seed_spin}

    # -- model -> widgets -----------------------------------------------------------------------

    def _on_settings_changed(self, names: set[str]) -> None:
        v = self.settings.values
        show_settings(v, names, self._boxes(), self._spins())
        if names & {"arch", "depths"}:
            self._on_switches_changed()  # the block count (or "each network") follows the lab's network
        if "arch" in names:
            with QSignalBlocker(self.weights_box):
                self.weights_box.clear()
                self.weights_box.addItems(menu_sources(v.arch))
                self.weights_box.setCurrentText(v.weights)
        if "weights" in names and self.weights_box.currentText() != v.weights:
            with QSignalBlocker(self.weights_box):
                self.weights_box.setCurrentText(v.weights)
        preset = self.settings.preset()
        with QSignalBlocker(self.preset_box):
            self.preset_box.setCurrentIndex(self.preset_box.findData(preset))
        self.preset_description.setText(PRESETS[preset].description if preset in PRESETS else "Your own settings.")
        self.arch_box.setEnabled(not v.depths)  # a comparison names its own networks
        uses_weights = v.init == "weights"
        self.weights_box.setEnabled(uses_weights)
        # A file fits one network: a depth comparison takes each network's own named weights.
        self.weights_browse.setEnabled(uses_weights and not v.depths)
        self.weights_box.setToolTip(DEPTH_WEIGHTS_TIP if v.depths else WEIGHTS_TIP)
        images = v.inputs == "images"
        self.batch_spin.setEnabled(not images)
        if images:
            names_shown = ", ".join(Path(p).name for p in v.images[:3]) + ("…" if len(v.images) > 3 else "")
            self.images_label.setText(
                f"{len(v.images)} image(s): {names_shown} (the batch is these images)" if v.images else "No images chosen yet."
            )
        self.images_label.setVisible(images)

    def _on_switches_changed(self, *_: object) -> None:
        plain, off = self.switches.plain_blocks(), self.switches.residual_off_blocks()
        v = self.settings.values
        every = "in every block of each network" if v.depths else f"in all {len(residual_blocks(stages_of(v.arch)))} blocks"
        scope = f"only in {', '.join(plain)}" if plain else every
        self.switches_label.setText(
            f"Shortcuts off (diagram): {', '.join(plain) or 'none'}\nResidual branch off: {', '.join(off) or 'none'}\n"
            f"The run without shortcuts switches them off {scope}. Applies to the next run."
        )

    # -- widgets -> model -----------------------------------------------------------------------

    def _on_preset_box_changed(self, index: int) -> None:
        name = self.preset_box.itemData(index)
        if name in PRESETS:
            self.settings.apply_preset(name)
        else:
            self.preset_description.setText("Your own settings.")
