"""The gradient lab panel: knobs and presets on the side, Run/Cancel with progress, the per-layer plot
of gradient norm or activation std with and without shortcuts (He et al. 2015, Fig. 7), the verdict
and the exact conditions of the shown run, export to PNG, SVG and CSV.

Qt view (explorer.ui). The run itself is explorer.core.gradients.run_comparison, on a worker thread
through JobRunner, with its own model; this panel keeps only the plain results.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pyqtgraph.exporters
from PySide6.QtCore import QRectF, QSettings, QSignalBlocker, Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from explorer.core.gradients import (
    INITS,
    NORMS,
    PRESETS,
    SHORTCUT_CHOICES,
    TARGETS,
    GradConfig,
    GradResult,
    block_names,
    run_comparison,
    validate,
)
from explorer.core.inference import available_devices
from explorer.core.model import RESNET50_STAGES
from explorer.ui.plot_gradients import (
    CURVE_NAMES,
    QUANTITIES,
    Curve,
    GradientPlot,
    Skipped,
)
from explorer.ui.workers import JobRunner

JOB_KIND = "gradients"
CUSTOM = "custom"
WEIGHT_CHOICES = ("imagenet-v2", "imagenet-v1", "random")
SETTINGS_GROUP = "gradient_lab"


def main_path_layout() -> list[tuple[str, str]]:
    """(layer, stage) of the 50 main-path layers, from the model's stage table, for the empty plot
    before the first run; a run's own layer list replaces it (explorer.core.gradients is the
    authority, and tests check the two agree)."""
    layout = [("conv1", "stage1")]
    stage_of = {spec.module: spec.name for spec in RESNET50_STAGES}
    for block in block_names():
        layout += [(f"{block}.conv{k}", stage_of[block.split(".")[0]]) for k in (1, 2, 3)]
    return layout + [("fc", "head")]


class GradientPanel(QWidget):
    """Side panel of knobs, the plot, verdict and conditions. Emits ``run_finished(list[GradResult])``."""

    run_finished = Signal(object)  # list[GradResult]

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._job_id = 0
        self._started = 0.0
        self._results: list[GradResult] = []
        self._plain_blocks: set[str] = set()
        self._lesioned: set[str] = set()
        self._images: tuple[str, ...] = ()
        self._build()
        self._apply_preset(next(iter(PRESETS)))
        self.plot.set_layout(main_path_layout())
        self.plot.show_curves([], self._quantity())
        runner.progress.connect(self._on_runner_progress)
        runner.finished.connect(self._on_runner_finished)
        runner.failed.connect(self._on_runner_failed)

    # -- construction ---------------------------------------------------------------------------------

    def _build(self) -> None:
        self.plot = GradientPlot(self)
        self.quantity_box = QComboBox()
        for key, label in QUANTITIES.items():
            self.quantity_box.addItem(label, key)
        self.quantity_box.setToolTip("Activation std reproduces He et al. 2015, Fig. 7")
        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        for suffix, label in ((".png", "PNG image…"), (".svg", "SVG drawing…"), (".csv", "CSV table…")):
            menu.addAction(label, lambda s=suffix: self._on_export_menu_triggered(s))
        self.export_button.setMenu(menu)
        self.export_button.setEnabled(False)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Plot:"))
        bar.addWidget(self.quantity_box)
        bar.addStretch(1)
        bar.addWidget(self.export_button)

        self.hover_label = _wrapping_label(selectable=False)
        self.hover_label.setText("Hover over the plot to read a layer's name and values.")
        self.verdict_label = _wrapping_label()
        self.verdict_label.setTextFormat(Qt.TextFormat.PlainText)
        font = self.verdict_label.font()
        font.setBold(True)
        self.verdict_label.setFont(font)
        self.conditions_label = _wrapping_label()
        self.skipped_label = _wrapping_label()
        self.message_label = _wrapping_label()

        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(bar)
        column.addWidget(self.plot, 1)
        for label in (self.hover_label, self.verdict_label, self.conditions_label, self.skipped_label):
            column.addWidget(label)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left)
        splitter.addWidget(self._build_side())
        splitter.setStretchFactor(0, 1)
        splitter.setChildrenCollapsible(False)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(splitter)

        # Ctrl+R while the focus is in this panel. A window that also wants a global Ctrl+R should
        # reuse this action (with WindowShortcut context) rather than add a second one, which Qt
        # would report as an ambiguous shortcut.
        self.run_action = QAction("Run gradient lab", self)
        self.run_action.setShortcut(QKeySequence("Ctrl+R"))
        self.run_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.run_action.triggered.connect(self.run)
        self.addAction(self.run_action)

        self.quantity_box.currentIndexChanged.connect(self._on_quantity_box_changed)
        self.plot.layer_hovered.connect(self._on_plot_layer_hovered)

    def _build_side(self) -> QWidget:
        self.preset_box = QComboBox()
        for preset in PRESETS.values():
            self.preset_box.addItem(preset.title, preset.name)
        self.preset_box.addItem("Custom settings", CUSTOM)
        self.preset_description = _wrapping_label(selectable=False)

        self.shortcuts_box = _choice_box(SHORTCUT_CHOICES, {"both": "both (overlay)", "on": "on only", "off": "off only"})
        self.shortcuts_box.setCurrentIndex(self.shortcuts_box.findData("both"))
        self.norm_box = _choice_box(NORMS, {"batch": "batch statistics", "frozen": "frozen running statistics", "none": "none (no BN)"})
        self.init_box = _choice_box(INITS, {"he": "He (Kaiming normal)", "pytorch": "PyTorch default", "weights": "loaded weights"})
        self.weights_box = QComboBox()
        self.weights_box.setEditable(True)
        self.weights_box.addItems(WEIGHT_CHOICES)
        self.weights_browse = QPushButton("File…")
        weights_row = _row(self.weights_box, self.weights_browse)
        self.inputs_box = _choice_box(("noise", "images"), {"noise": "seeded noise", "images": "images"})
        self.images_button = QPushButton("Choose images…")
        self.images_label = _wrapping_label(selectable=False)
        self.targets_box = _choice_box(TARGETS, {"random": "seeded random labels", "top1": "model's own top-1"})
        self.batch_spin = _spin(1, 256)
        self.size_spin = _spin(8, 1024)
        self.seed_spin = _spin(0, 2**31 - 1)
        self.device_box = QComboBox()
        for device in available_devices():
            self.device_box.addItem(device, device)
        self.switches_label = _wrapping_label(selectable=False)
        self._show_switches()

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Preset", self.preset_box)
        form.addRow(self.preset_description)
        form.addRow("Shortcuts", self.shortcuts_box)
        form.addRow("Normalisation", self.norm_box)
        form.addRow("Initialisation", self.init_box)
        form.addRow("Weights", weights_row)
        form.addRow("Inputs", _row(self.inputs_box, self.images_button))
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

        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Run both variants with these settings (Ctrl+R)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.progress_bar.setTextVisible(False)

        side = QWidget()
        box = QVBoxLayout(side)
        box.addWidget(knobs)
        box.addWidget(diagram)
        box.addWidget(_row(self.run_button, self.cancel_button))
        box.addWidget(self.progress_bar)
        box.addWidget(self.message_label)
        box.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Wide enough for the knobs, not more: the plot gets the rest (scales with the font, so 200%
        # scaling keeps the proportions).
        chars = self.fontMetrics().averageCharWidth()
        needed = side.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width() + 4
        scroll.setMinimumWidth(needed)
        scroll.setMaximumWidth(max(needed, 56 * chars))

        self.preset_box.currentIndexChanged.connect(self._on_preset_box_changed)
        for box_ in (self.shortcuts_box, self.norm_box, self.init_box, self.inputs_box, self.targets_box, self.weights_box):
            box_.currentIndexChanged.connect(self._on_knob_changed)
        self.weights_box.editTextChanged.connect(self._on_knob_changed)
        for spin in (self.batch_spin, self.size_spin, self.seed_spin):
            spin.valueChanged.connect(self._on_knob_changed)
        self.weights_browse.clicked.connect(self._on_weights_browse_clicked)
        self.images_button.clicked.connect(self._on_images_button_clicked)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        return scroll

    # -- public API --------------------------------------------------------------------------------

    def set_block_switches(self, plain_blocks: set[str], lesioned: set[str]) -> None:
        """Blocks whose shortcut (plain) or residual branch (lesioned) the diagram switched off.
        They apply to the next run; the shown run keeps its own conditions."""
        self._plain_blocks, self._lesioned = set(plain_blocks), set(lesioned)
        self._show_switches()

    def config(self) -> GradConfig:
        """The settings of the next run, as the knobs and the diagram's switches say."""
        order = {name: i for i, name in enumerate(block_names())}
        in_order = lambda blocks: tuple(sorted(blocks, key=lambda b: order.get(b, len(order))))
        uses_weights = self.init_box.currentData() == "weights"
        return GradConfig(
            plain_blocks=in_order(self._plain_blocks) or None,
            lesion=in_order(self._lesioned),
            norm=self.norm_box.currentData(),
            init=self.init_box.currentData(),
            weights=(self.weights_box.currentText().strip() or None) if uses_weights else None,
            inputs=self._images if self.inputs_box.currentData() == "images" else (),
            targets=self.targets_box.currentData(),
            batch=self.batch_spin.value(),
            size=self.size_spin.value(),
            seed=self.seed_spin.value(),
        )

    def run(self) -> None:
        """Start a run with the current settings; a run already in flight is cancelled (latest wins)."""
        config = self.config()
        shortcuts, device = self.shortcuts_box.currentData(), self.device_box.currentData()
        try:
            for on in {"on": [True], "off": [False], "both": [True, False]}[shortcuts]:
                validate(replace(config, shortcuts=on))
            if self.inputs_box.currentData() == "images" and not self._images:
                raise ValueError("choose at least one image, or use seeded noise")
        except ValueError as exc:
            self._say(f"Cannot run: {exc}")
            return

        def job(progress, cancelled):  # worker thread: core only, no widgets
            return run_comparison(config, shortcuts, device, progress=progress, cancel=cancelled)

        self._job_id = self._runner.submit(JOB_KIND, job)
        self._started = time.monotonic()
        self.progress_bar.setValue(0)
        self.cancel_button.setEnabled(True)
        self._say("Running…")

    def cancel(self) -> None:
        if self._runner.is_busy(JOB_KIND):
            self._runner.cancel(JOB_KIND)
            self._say("Cancelled; the plot still shows the previous run.")
        self._job_id = 0
        self.cancel_button.setEnabled(False)
        self.progress_bar.setValue(0)

    def results(self) -> list[GradResult]:
        return list(self._results)

    def export(self, path: str) -> bool:
        """Write the shown run to ``path``: .png or .svg (the plot), .csv (every layer of every run,
        with the conditions and verdicts as leading ``#`` lines). Returns False and says why on
        failure (nothing shown yet, unknown suffix, unwritable path)."""
        suffix = Path(path).suffix.lower()
        try:
            if not self._results:
                raise ValueError("nothing to export yet: run the gradient lab first")
            if suffix == ".csv":
                self._write_csv(Path(path))
            elif suffix == ".png":
                pyqtgraph.exporters.ImageExporter(self.plot.getPlotItem()).export(path)
            elif suffix == ".svg":
                self._write_svg(path)
            else:
                raise ValueError(f"cannot export {suffix or 'a file without suffix'}: use .png, .svg or .csv")
            if not Path(path).is_file():
                raise OSError("the file was not written")
        except (ValueError, OSError) as exc:
            self._say(f"Export to {Path(path).name} failed: {exc}")
            return False
        self._say(f"Exported {Path(path).name}")
        return True

    def save_settings(self, settings: QSettings) -> None:
        settings.beginGroup(SETTINGS_GROUP)
        settings.setValue("preset", self.preset_box.currentData())
        for key, box in self._boxes().items():
            settings.setValue(key, box.currentData() if key != "weights" else box.currentText())
        for key, spin in self._spins().items():
            settings.setValue(key, spin.value())
        settings.setValue("images", list(self._images))
        settings.setValue("quantity", self.quantity_box.currentData())
        settings.endGroup()

    def restore_settings(self, settings: QSettings) -> None:
        settings.beginGroup(SETTINGS_GROUP)
        try:
            preset = settings.value("preset", "", type=str)
            if preset in PRESETS:
                self._apply_preset(preset)
            blockers = [QSignalBlocker(w) for w in (*self._boxes().values(), *self._spins().values())]
            for key, box in self._boxes().items():
                value = settings.value(key, "", type=str)
                if key == "weights" and value:
                    box.setCurrentText(value)
                elif value and box.findData(value) >= 0:
                    box.setCurrentIndex(box.findData(value))
            for key, spin in self._spins().items():
                if settings.contains(key):
                    value = settings.value(key, type=int)
                    if spin.minimum() <= value <= spin.maximum():
                        spin.setValue(value)
            images = settings.value("images", [], type=list) or []
            self._images = tuple(str(p) for p in images)
            del blockers
            quantity = settings.value("quantity", "", type=str)
            if quantity and self.quantity_box.findData(quantity) >= 0:
                self.quantity_box.setCurrentIndex(self.quantity_box.findData(quantity))
        finally:
            settings.endGroup()
        self._sync_preset_box()
        self._sync_enabled()

    # -- runner signals ------------------------------------------------------------------------------

    @Slot(str, int, str, float)
    def _on_runner_progress(self, kind: str, job_id: int, text: str, fraction: float) -> None:
        if kind == JOB_KIND and job_id == self._job_id:
            self.progress_bar.setValue(round(1000 * fraction))
            self._say(text)

    @Slot(str, int, object)
    def _on_runner_finished(self, kind: str, job_id: int, results: object) -> None:
        if kind != JOB_KIND or job_id != self._job_id:
            return
        self._job_id = 0
        self._results = list(results)
        self.cancel_button.setEnabled(False)
        self.progress_bar.setValue(1000)
        self.export_button.setEnabled(True)
        self._say(f"Finished in {time.monotonic() - self._started:.1f} s.")
        self._render()
        self.run_finished.emit(list(self._results))

    @Slot(str, int, str)
    def _on_runner_failed(self, kind: str, job_id: int, message: str) -> None:
        if kind != JOB_KIND or job_id != self._job_id:
            return
        self._job_id = 0
        self.cancel_button.setEnabled(False)
        self.progress_bar.setValue(0)
        self._say(f"Run failed: {message}")

    # -- widget signals ---------------------------------------------------------------------------------

    def _on_preset_box_changed(self, index: int) -> None:
        name = self.preset_box.itemData(index)
        if name in PRESETS:
            self._apply_preset(name)
        else:
            self.preset_description.setText("Your own settings.")

    def _on_knob_changed(self, *_: object) -> None:
        self._sync_preset_box()
        self._sync_enabled()

    def _on_quantity_box_changed(self, index: int) -> None:
        self._render()

    def _on_plot_layer_hovered(self, text: str) -> None:
        if text:
            self.hover_label.setText(text)

    def _on_weights_browse_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Weights for the gradient lab", "", "Checkpoints (*.pth *.pt *.bin *.safetensors);;All files (*)"
        )
        if path:
            self.weights_box.setCurrentText(path)

    def _on_images_button_clicked(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Images for the gradient lab", "", "Images (*.jpg *.jpeg *.png *.bmp *.gif *.tif *.tiff *.webp);;All files (*)"
        )
        if paths:
            self.set_images(paths)

    def set_images(self, paths: Sequence[str]) -> None:
        """Use these images as the input batch (the knob switches to images)."""
        self._images = tuple(paths)
        with QSignalBlocker(self.inputs_box):
            self.inputs_box.setCurrentIndex(self.inputs_box.findData("images"))
        self._sync_preset_box()
        self._sync_enabled()

    # -- helpers ------------------------------------------------------------------------------------------

    def _boxes(self) -> dict[str, QComboBox]:
        return {
            "shortcuts": self.shortcuts_box,
            "norm": self.norm_box,
            "init": self.init_box,
            "weights": self.weights_box,
            "inputs": self.inputs_box,
            "targets": self.targets_box,
            "device": self.device_box,
        }

    def _spins(self) -> dict[str, QSpinBox]:
        return {"batch": self.batch_spin, "size": self.size_spin, "seed": self.seed_spin}

    def _apply_preset(self, name: str) -> None:
        """Set every knob from a preset without each change echoing back as 'custom'."""
        preset = PRESETS[name]
        c = preset.config
        blockers = [QSignalBlocker(w) for w in (self.preset_box, *self._boxes().values(), *self._spins().values())]
        self.preset_box.setCurrentIndex(self.preset_box.findData(name))
        self.norm_box.setCurrentIndex(self.norm_box.findData(c.norm))
        self.init_box.setCurrentIndex(self.init_box.findData(c.init))
        if c.weights:
            self.weights_box.setCurrentText(c.weights)
        self.targets_box.setCurrentIndex(self.targets_box.findData(c.targets))
        self.batch_spin.setValue(c.batch)
        self.size_spin.setValue(c.size)
        self.seed_spin.setValue(c.seed)
        # The "trained weights" preset is about real images; keep noise until the user picks some.
        self.inputs_box.setCurrentIndex(self.inputs_box.findData("images" if c.inputs else "noise"))
        if c.inputs:
            self._images = tuple(c.inputs)
        del blockers
        self.preset_description.setText(preset.description)
        self._sync_enabled()

    def _matching_preset(self) -> str:
        """The preset whose defining settings (what it is about: normalisation, initialisation,
        weights, targets) the knobs show; batch, size and seed may differ, e.g. a faster 64 px run."""
        mine = self.config()
        for name, preset in PRESETS.items():
            c = preset.config
            if (c.norm, c.init, c.targets) == (mine.norm, mine.init, mine.targets) and (
                c.init != "weights" or c.weights == mine.weights
            ):
                return name
        return CUSTOM

    def _sync_preset_box(self) -> None:
        name = self._matching_preset()
        with QSignalBlocker(self.preset_box):
            self.preset_box.setCurrentIndex(self.preset_box.findData(name))
        self.preset_description.setText(PRESETS[name].description if name in PRESETS else "Your own settings.")

    def _sync_enabled(self) -> None:
        weights = self.init_box.currentData() == "weights"
        self.weights_box.setEnabled(weights)
        self.weights_browse.setEnabled(weights)
        images = self.inputs_box.currentData() == "images"
        self.batch_spin.setEnabled(not images)
        if images:
            names = ", ".join(Path(p).name for p in self._images[:3]) + ("…" if len(self._images) > 3 else "")
            self.images_label.setText(
                f"{len(self._images)} image(s): {names} (the batch is these images)" if self._images else "No images chosen yet."
            )
        self.images_label.setVisible(images)

    def _show_switches(self) -> None:
        plain = ", ".join(sorted(self._plain_blocks)) or "none"
        lesion = ", ".join(sorted(self._lesioned)) or "none"
        scope = f"only in {plain}" if self._plain_blocks else "in all 16 blocks"
        self.switches_label.setText(
            f"Shortcuts off (diagram): {plain}\nResidual branch lesioned: {lesion}\n"
            f"The run without shortcuts switches them off {scope}. Applies to the next run."
        )

    def _quantity(self) -> str:
        return self.quantity_box.currentData()

    def _render(self) -> None:
        """Draw the stored results: curves, verdict, conditions, and what could not be drawn."""
        if not self._results:
            return
        main = [layer for layer in self._results[0].layers if not layer.shortcut]
        self.plot.set_layout([(layer.name, layer.stage) for layer in main])
        quantity = self._quantity()
        curves = [
            Curve(r.shortcuts, tuple(getattr(layer, quantity) for layer in r.layers if not layer.shortcut))
            for r in self._results
        ]
        skipped = self.plot.show_curves(curves, quantity)
        self.verdict_label.setText("\n".join(r.verdict for r in self._results))
        self.conditions_label.setText(describe_conditions(self._results))
        self.skipped_label.setText(describe_skipped(skipped, QUANTITIES[quantity]))
        self.skipped_label.setVisible(bool(skipped))

    def _write_svg(self, path: str) -> None:
        try:
            pyqtgraph.exporters.SVGExporter(self.plot.getPlotItem()).export(path)
        except ValueError:
            # pyqtgraph 0.14.0 cannot parse the path syntax newer Qt writes (pyqtgraph issues #3485,
            # #3495; fix pending in PR #3458). Qt's own generator paints the same scene as vectors.
            item = self.plot.getPlotItem()
            source = item.sceneBoundingRect()
            target = QRectF(0, 0, source.width(), source.height())
            generator = QSvgGenerator()
            generator.setFileName(path)
            # At the screen's DPI: at the generator's default 72 dpi the axes shrink relative to the curves.
            generator.setResolution(self.plot.logicalDpiX())
            generator.setSize(source.size().toSize())
            generator.setViewBox(target)
            generator.setTitle("ResNet-50 gradient lab")
            generator.setDescription(describe_conditions(self._results))
            painter = QPainter(generator)
            try:
                painter.fillRect(target, self.plot.backgroundBrush())
                self.plot.scene().render(painter, target, source)
            finally:
                painter.end()

    def _write_csv(self, path: Path) -> None:
        with path.open("w", newline="", encoding="utf-8") as f:
            for line in describe_conditions(self._results).splitlines():
                f.write(f"# {line}\n")
            for result in self._results:
                f.write(f"# {result.verdict}\n")
            writer = csv.writer(f)
            writer.writerow(["shortcuts", "index", "layer", "stage", "projection_shortcut", "grad_norm", "activation_std"])
            for result in self._results:
                for i, layer in enumerate(result.layers):
                    writer.writerow(
                        [
                            "on" if result.shortcuts else "off",
                            i,
                            layer.name,
                            layer.stage,
                            layer.shortcut,
                            "" if layer.grad_norm is None else repr(layer.grad_norm),
                            "" if layer.activation_std is None else repr(layer.activation_std),
                        ]
                    )

    def _say(self, text: str) -> None:
        self.message_label.setText(text)


def describe_conditions(results: Sequence[GradResult]) -> str:
    """The exact settings of a shown run, from the results themselves (not from the knobs)."""
    c = results[0].config
    inputs = f"{len(c['inputs'])} image(s): " + ", ".join(Path(p).name for p in c["inputs"]) if c["inputs"] else "seeded noise"
    init = f"weights {c['weights']}" if c["init"] == "weights" else c["init"]
    plain = "all 16 blocks" if c["plain_blocks"] is None else ", ".join(c["plain_blocks"])
    lesion = ", ".join(c["lesion"]) or "none"
    losses = ", ".join(f"{CURVE_NAMES[r.shortcuts].split(' (')[0]} {r.loss:.4g}" for r in results)
    return (
        f"Conditions: normalisation {c['norm']}, init {init}, inputs {inputs}, targets {c['targets']}, "
        f"batch {c['batch']}, size {c['size']}x{c['size']}, seed {c['seed']}, {c['num_classes']} classes, "
        f"device {results[0].device}.\nShortcuts off in: {plain} (run without shortcuts); lesioned: {lesion}. "
        f"Loss: {losses}."
    )


def describe_skipped(skipped: Sequence[Skipped], quantity: str) -> str:
    """Say which points a log axis could not show (zero, missing or non-finite), per curve."""
    if not skipped:
        return ""
    parts = []
    for shortcuts in (True, False):
        mine = [s for s in skipped if s.shortcuts == shortcuts]
        if mine:
            kinds = sorted({"missing (layer not used)" if s.value is None else f"{s.value:g}" for s in mine})
            names = ", ".join(s.layer for s in mine[:6]) + (f" and {len(mine) - 6} more" if len(mine) > 6 else "")
            parts.append(f"{CURVE_NAMES[shortcuts]}: {names} ({'; '.join(kinds)})")
    return f"Not drawn ({len(skipped)} point(s) whose {quantity} a log axis cannot show): " + ". ".join(parts) + "."


def _wrapping_label(selectable: bool = True) -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _choice_box(values: Sequence[str], labels: dict[str, str]) -> QComboBox:
    box = QComboBox()
    for value in values:
        box.addItem(labels.get(value, value), value)
    return box


def _spin(low: int, high: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    return spin


def _row(*widgets: QWidget) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for w in widgets:
        layout.addWidget(w)
    return row
