"""The gradient lab panel: the per-layer plot of gradient norm or activation std with and without
shortcuts (He et al. 2015, Fig. 7), or of several depths at once (Fig. 4's plain-18 vs plain-34 and
residual-18 vs residual-34, along the relative depth), the hover readout, verdict and exact
conditions of the shown run, Run/Cancel with progress, export to PNG, SVG and CSV, and the knobs.

UI layer. The run itself is ``explorer.core.gradients.run_comparison`` (or ``run_depth_comparison``)
in a job on the "gradients" lane, on its own models; this panel keeps only the plain results. Knobs live in a ``LabSettings``
model, the diagram's switches in the shared ``BlockSwitches``.
"""

from __future__ import annotations

import time
from collections.abc import Generator

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from explorer.core.gradients import GradResult, run_comparison
from explorer.core.gradients.depth import DepthComparison, run_depth_comparison
from explorer.core.network.blocks import stage_of
from explorer.core.network.stages import DEFAULT_ARCH
from explorer.core.network.summary import ModelSummary
from explorer.ui.common.actions import Actions
from explorer.ui.common.export import export_saying
from explorer.ui.common.switches import BlockSwitches
from explorer.ui.common.run_controls import RunControls, ask_export, side_column
from explorer.ui.common.text import sentence
from explorer.ui.common.widgets import scrolling, wrapping_label
from explorer.ui.gradient_lab.actions import LAB_ACTIONS
from explorer.ui.gradient_lab.export import export
from explorer.ui.gradient_lab.form import LabForm
from explorer.ui.gradient_lab.plot import Curve, GradientPlot, curve_name, quantity_label
from explorer.ui.gradient_lab.settings import QUANTITIES, LabSettings
from explorer.ui.gradient_lab.text import describe_conditions, describe_skipped, in_window_terms
from explorer.ui.jobs import JobRunner, LatestJob

LANE = "gradients"
SETTINGS_GROUP = "gradient_lab"
HOVER_HINT = "Hover over the plot to read a layer's name and values."


def main_path_layout(summary: ModelSummary) -> list[tuple[str, str]]:
    """(layer, stage) of the 50 main-path layers (the weighted layers off the shortcut) for the empty
    plot before the first run, from the architecture summary; a run's own layer list replaces it
    (explorer.core.gradients is the authority, and tests check the two agree)."""
    return [
        (layer.name, stage_of(layer.name))
        for layer in summary.layers().values()
        if layer.type in ("Conv2d", "Linear") and not layer.shortcut
    ]


def depth_curves(comparison: DepthComparison, quantity: str) -> tuple[list, list[Curve]]:
    """The deepest network's main-path layers (the x axis) and one curve per run of a depth
    comparison, each along its relative depth (0 stem conv, 1 fc)."""
    deepest = max(comparison.results, key=lambda r: len(r.layers))
    curves = []
    for curve, result in zip(comparison.curves, comparison.results):
        main = [layer for layer in result.layers if not layer.shortcut]
        curves.append(Curve(
            curve.shortcuts, tuple(getattr(layer, quantity) for layer in main), curve.label,
            tuple(f"{layer.name} ({layer.stage}, {curve.label})" for layer in main), curve.positions,
            comparison.archs.index(curve.arch),
        ))
    return [layer for layer in deepest.layers if not layer.shortcut], curves


class GradientPanel(QWidget):
    """The plot, verdict and conditions, and the knobs. Emits ``run_finished(list[GradResult])``
    and ``run_failed(str)``."""

    run_finished = Signal(object)  # list[GradResult]
    run_failed = Signal(str)

    def __init__(self, runner: JobRunner, switches: BlockSwitches, parent: QWidget | None = None,
                 plot: GradientPlot | None = None) -> None:
        super().__init__(parent)
        self._run = LatestJob(runner, LANE)
        self._started = 0.0
        self._results: list[GradResult] = []
        self._comparison: DepthComparison | None = None  # when the shown run compares depths
        self.settings = LabSettings()
        self.switches = switches
        self._build(plot or GradientPlot())
        self.plot.show_curves([], self.settings.values.quantity)
        self.settings.changed.connect(self._on_settings_changed)

    @classmethod
    def in_steps(cls, runner: JobRunner, switches: BlockSwitches) -> Generator[None, None, GradientPanel]:
        """The panel built over two turns of the event loop, the plot first: at once it took 18-29 ms
        of the GUI thread while torch's parts loaded (``self.gradient = yield from GradientPanel.in_steps(...)``)."""
        plot = GradientPlot()
        yield
        return cls(runner, switches, plot=plot)

    # -- construction ---------------------------------------------------------------------------------

    def _build(self, plot: GradientPlot) -> None:
        self.actions = Actions(self, LAB_ACTIONS, self)
        self.plot = plot
        self.quantity_box = QComboBox()
        for key in QUANTITIES:
            self.quantity_box.addItem(quantity_label(key), key)
        self.quantity_box.setToolTip("Activation std reproduces He et al. 2015, Fig. 7")
        # Beside Run, not above the plot: in a short dock the plot needs every line of height.
        shown = QWidget()
        bar = QHBoxLayout(shown)
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(QLabel("Plot:"))
        bar.addWidget(self.quantity_box, 1)

        self.hover_label = wrapping_label(HOVER_HINT, selectable=False)
        self.conditions_label = wrapping_label()
        self.skipped_label = wrapping_label()
        self.skipped_label.hide()
        notes = QWidget()
        notes_column = QVBoxLayout(notes)
        notes_column.setContentsMargins(0, 0, 0, 0)
        for label in (self.hover_label, self.conditions_label, self.skipped_label):
            notes_column.addWidget(label)
        notes_column.addStretch(1)
        # The plot and its notes share the height; the notes scroll rather than push the plot away.
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.plot)
        notes_area = scrolling(notes)
        notes_area.setMinimumHeight(self.fontMetrics().lineSpacing() * 2)  # the plot gets a short dock's height
        split.addWidget(notes_area)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)

        self.form = LabForm(self.settings, self.switches)
        # Run, progress and verdict first: a short dock shows them without scrolling; the knobs follow.
        self.controls = RunControls(self.actions, "lab")
        c = self.controls
        self.run_button, self.cancel_button, self.export_button, self.export_menu = c.run_button, c.cancel_button, c.export_button, c.export_menu
        self.progress_bar, self.message_label, self.verdict_label = c.progress_bar, c.message_label, c.verdict_label
        self.run_action, self.cancel_action = self.actions["lab.run"], self.actions["lab.cancel"]
        self.addAction(self.run_action)  # Ctrl+R inside the panel, and in the window's Lab menu

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(split)
        splitter.addWidget(side_column(self.controls, [shown, self.form], self, 56))
        splitter.setStretchFactor(0, 1)
        splitter.setChildrenCollapsible(False)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(splitter)

        self.quantity_box.currentIndexChanged.connect(lambda _: self.settings.set(quantity=self.quantity_box.currentData()))
        self.plot.layer_hovered.connect(self._on_plot_layer_hovered)

    # -- public API --------------------------------------------------------------------------------

    def set_summary(self, summary: ModelSummary) -> None:
        """The architecture summary: the layer axis of the empty plot before the first run."""
        if not self._results:
            self.plot.set_layout(main_path_layout(summary))
            self.hover_label.setText(self._hover_hint())

    def set_network(self, arch: str) -> None:
        """The window's network changed: the lab runs that member next (its own choice may differ),
        and a shown run of another network is cleared, its exports with it."""
        self.settings.set(arch=arch)
        if self._results and any(r.config.get("arch", DEFAULT_ARCH) != arch for r in self._results):
            self._results, self._comparison = [], None
            self.plot.show_curves([], self.settings.values.quantity)
            for label in (self.verdict_label, self.conditions_label, self.skipped_label):
                label.clear()
            self.hover_label.setText(self._hover_hint())
            self._say("The window shows another network now: run the lab for it.")
            self.actions.refresh()

    def comparison(self) -> DepthComparison | None:
        """The depth comparison shown, or None for a run of one network."""
        return self._comparison

    def config(self):  # noqa: ANN201 - a GradConfig
        """The settings of the next run, as the knobs and the diagram's switches say."""
        return self.settings.config(self.switches.plain_blocks(), self.switches.residual_off_blocks())

    def run(self) -> None:
        """Start a run with the current settings; a run already in flight is cancelled (latest wins)."""
        config = self.config()
        problem = self.settings.problem(config)
        if problem is not None:
            self._say(sentence(f"Cannot run: {in_window_terms(problem)}"))
            return
        shortcuts, device, archs = self.settings.values.shortcuts, self.settings.values.device, self.settings.depth_archs()
        if archs:
            job = self._run.submit(lambda ctx: run_depth_comparison(config, archs, device, ctx.progress, ctx.cancelled))
        else:
            job = self._run.submit(lambda ctx: run_comparison(config, shortcuts, device, progress=ctx.progress, cancel=ctx.cancelled))
        job.progressed.connect(self._on_run_progressed)
        job.returned.connect(self._on_run_returned)
        job.errored.connect(self._on_run_errored)
        job.finished.connect(self.actions.refresh)
        self._started = time.monotonic()
        self.controls.set_progress(0)
        self._say("Running…")
        self.actions.refresh()

    def cancel(self) -> None:
        if self._run.cancel():
            self._say("Cancelled; the plot still shows the previous run." if self._results else "Cancelled; nothing was measured.")
        self.controls.set_progress(0)
        self.actions.refresh()

    def is_running(self) -> bool:
        return self._run.is_running()

    def results(self) -> list[GradResult]:
        return list(self._results)

    def can_export(self) -> bool:
        """True while a run is shown: what the export actions write."""
        return bool(self._results)

    def ask_export(self, suffix: str) -> None:
        """Ask for a file name and write the shown run there (the export actions)."""
        ask_export(self, "Export the gradient lab", "gradients", suffix, self.export)

    def export(self, path: str) -> bool:
        """Write the shown run to ``path`` (.png, .svg or .csv). Returns False and says why on failure."""
        return export_saying(path, lambda: export(path, self.plot, self._results), self._say)

    def save_settings(self, settings: QSettings) -> None:
        settings.beginGroup(SETTINGS_GROUP)
        for key, value in self.settings.as_dict().items():
            settings.setValue(key, list(value) if isinstance(value, tuple) else value)
        settings.endGroup()

    def restore_settings(self, settings: QSettings) -> None:
        settings.beginGroup(SETTINGS_GROUP)
        try:
            saved = {key: settings.value(key) for key in settings.childKeys()}
        finally:
            settings.endGroup()
        if "images" in saved and not isinstance(saved["images"], list):  # QSettings' one-item lists
            saved["images"] = [] if saved["images"] in (None, "") else [saved["images"]]
        for key in ("batch", "size", "seed"):
            if key in saved:
                try:
                    saved[key] = int(saved[key])
                except (TypeError, ValueError):
                    del saved[key]
        self.settings.load(saved)

    # -- signals ----------------------------------------------------------------------------------------

    def _on_settings_changed(self, names: set[str]) -> None:
        if "quantity" in names:
            self.quantity_box.setCurrentIndex(self.quantity_box.findData(self.settings.values.quantity))
            self._render()

    def _on_run_progressed(self, text: str, fraction: float) -> None:
        self.controls.set_progress(fraction)
        self._say(text)

    def _on_run_returned(self, results: list[GradResult] | DepthComparison) -> None:
        self._comparison = results if isinstance(results, DepthComparison) else None
        self._results = list(results.results if isinstance(results, DepthComparison) else results)
        self.controls.set_progress(1)
        self._say(f"Finished in {time.monotonic() - self._started:.1f} s.")
        self._render()
        self.actions.refresh()
        if self._comparison is None:  # the blocks of another network's run mean nothing on the diagram
            # A turn later, once the plot is painted: the diagram's overlay painted with it held the
            # window 45-60 ms (bench --suite ui).
            results = list(self._results)
            QTimer.singleShot(1, self, lambda: self.run_finished.emit(results))

    def _on_run_errored(self, message: str) -> None:
        self.controls.set_progress(0)
        self._say(sentence(f"Run failed: {in_window_terms(message)}"))
        self.run_failed.emit(message)

    def _on_plot_layer_hovered(self, text: str) -> None:
        if text:
            self.hover_label.setText(text)

    # -- rendering ------------------------------------------------------------------------------------------

    def _render(self) -> None:
        """Draw the stored results: curves, verdict, conditions, and what could not be drawn."""
        if not self._results:
            return
        quantity = self.settings.values.quantity
        if self._comparison is None:
            main = [layer for layer in self._results[0].layers if not layer.shortcut]
            curves = [
                Curve(r.shortcuts, tuple(getattr(layer, quantity) for layer in r.layers if not layer.shortcut), curve_name(r.label))
                for r in self._results
            ]
            verdict = "\n".join(r.verdict for r in self._results)
        else:
            main, curves = depth_curves(self._comparison, quantity)
            verdict = self._comparison.verdict
        self.plot.set_layout([(layer.name, layer.stage) for layer in main])
        self.hover_label.setText(self._hover_hint())  # the readout of the previous run is stale now
        skipped = self.plot.show_curves(curves, quantity, self._results[0].config["norm"])
        self.verdict_label.setText(verdict)
        self.conditions_label.setText(describe_conditions(self._results))
        self.skipped_label.setText(describe_skipped(skipped, quantity, {c.shortcuts: c.title for c in curves}))
        self.skipped_label.setVisible(bool(skipped))

    def _hover_hint(self) -> str:
        return f"{self.plot.axis_text()} {HOVER_HINT}"

    def _say(self, text: str) -> None:
        self.controls.say(text)
