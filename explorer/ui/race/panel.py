"""The Race view: a residual network and its plain twin trained side by side (He et al. 2015, Fig. 1
and 4), or two networks of different depths each with its twin (Fig. 6), with live plots of each
step's training loss, batch accuracy and stem gradient norm, the verdict and the exact conditions when
the race ends, Run/Cancel with progress, export to PNG, SVG and CSV, and the knobs beside it.

UI layer. The race itself is ``explorer.core.race.train.run_race`` in a job on the "race" lane: the
models live on that worker and only plain values come back (a ``RaceStep`` per step through the job's
``published`` signal, the ``RaceResult`` through ``returned``). Knobs live in a ``RaceSettings`` model.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QProgressBar, QPushButton, QSplitter, QToolButton, QVBoxLayout, QWidget

from explorer.core.devices import available_devices
from explorer.core.race.config import RaceConfig
from explorer.core.race.report import RaceResult, RaceStep, planned_runs
from explorer.core.race.train import run_race
from explorer.ui.common import dialogs
from explorer.ui.common.export import export_saying
from explorer.ui.common.widgets import bold, row, scrolling, wrapping_label
from explorer.ui.jobs import JobContext, JobRunner, LatestJob
from explorer.ui.race.export import export
from explorer.ui.race.form import RaceForm
from explorer.ui.race.plot import RacePlot
from explorer.ui.race.settings import RaceSettings

LANE = "race"
EXPORTS = {".png": "PNG image…", ".svg": "SVG drawing…", ".csv": "CSV table…"}
IDLE_TEXT = "Press Run to train the networks on the same batches."


def race_job(config: RaceConfig):  # noqa: ANN201 - a JobFn
    """The worker's side: the race, each step published, polled for cancel between steps."""

    def run(ctx: JobContext) -> RaceResult:
        def on_data(info) -> None:  # noqa: ANN001 - a DataInfo
            ctx.progress(f"{info.train} training images of {len(info.classes)} classes; building the networks…", 0.0)

        return run_race(config, on_step=ctx.publish, cancel=ctx.cancelled, on_data=on_data)

    return run


class RacePanel(QWidget):
    """The plots, verdict and conditions, and the knobs. Emits ``race_finished(RaceResult)`` and
    ``race_failed(str)``."""

    race_finished = Signal(object)  # RaceResult
    race_failed = Signal(str)

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._race = LatestJob(runner, LANE)
        self._result: RaceResult | None = None
        self._steps_seen = 0
        self.settings = RaceSettings()
        self._build()

    # -- construction ---------------------------------------------------------------------------------

    def _build(self) -> None:
        self.plot = RacePlot(self)
        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_menu = QMenu(self.export_button)
        for suffix, label in EXPORTS.items():
            self.export_menu.addAction(label, lambda s=suffix: self._on_export_menu_triggered(s))
        self.export_button.setMenu(self.export_menu)
        self.export_button.setEnabled(False)
        self.verdict_label = bold(wrapping_label(IDLE_TEXT))
        self.verdict_label.setTextFormat(Qt.TextFormat.PlainText)
        self.conditions_label = wrapping_label()
        self.conditions_label.setTextFormat(Qt.TextFormat.PlainText)
        self.form = RaceForm(self.settings, available_devices())
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Train the networks with these settings")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setTextVisible(False)
        self.message_label = wrapping_label()
        # Beside the plots, not under them: in a bottom dock of 200-300 px the plots need the height.
        # Run and the verdict come first, so a short dock shows them without scrolling; the knobs follow.
        side = QWidget()
        column = QVBoxLayout(side)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(row(self.run_button, self.cancel_button, self.export_button))
        for part in (self.progress_bar, self.message_label, self.verdict_label, self.conditions_label, self.form):
            column.addWidget(part)
        column.addStretch(1)
        side_scroll = scrolling(side)
        chars = self.fontMetrics().averageCharWidth()
        needed = side.minimumSizeHint().width() + side_scroll.verticalScrollBar().sizeHint().width() + 4
        side_scroll.setMinimumWidth(needed)
        side_scroll.setMaximumWidth(max(needed, 42 * chars))

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.plot)
        splitter.addWidget(side_scroll)
        splitter.setStretchFactor(0, 1)
        splitter.setChildrenCollapsible(False)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(splitter)

        self.run_action = QAction("Run &race", self)
        self.run_action.triggered.connect(self.run)
        self.cancel_action = QAction("Cancel r&ace", self)
        self.cancel_action.triggered.connect(self.cancel)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)

    # -- public API --------------------------------------------------------------------------------

    def run(self) -> None:
        """Start a race with the current settings; a race in flight is cancelled (latest wins)."""
        try:
            config = self.settings.config()
        except ValueError as exc:
            self._say(f"Cannot race: {exc}")
            return
        job = self._race.submit(race_job(config))
        job.progressed.connect(self._on_race_progressed)
        job.published.connect(self._on_race_published)
        job.returned.connect(self._on_race_returned)
        job.errored.connect(self._on_race_errored)
        self._result = None
        self._steps_seen = 0
        self.export_button.setEnabled(False)
        self.plot.clear_curves(config.steps, planned_runs(config))
        self.verdict_label.setText("Racing…")
        self.conditions_label.clear()
        self.progress_bar.setValue(0)
        self.cancel_button.setEnabled(True)
        self._say("Reading the data…")

    def cancel(self) -> None:
        if self._race.cancel():
            self._say(f"Cancelled after {self._steps_seen} step{'s' if self._steps_seen != 1 else ''}; "
                      "the plots show the steps done.")
            self.verdict_label.setText("Cancelled: no verdict.")
        self.cancel_button.setEnabled(False)
        self.progress_bar.setValue(0)

    def is_running(self) -> bool:
        return self._race.is_running()

    def result(self) -> RaceResult | None:
        """The finished race shown, or None (none yet, one in flight, or the last was cancelled)."""
        return self._result

    def export(self, path: str) -> bool:
        """Write the shown race to ``path`` (.png, .svg or .csv). Returns False and says why on failure."""
        return export_saying(path, lambda: export(path, self.plot, self._result), self._say)

    # -- signals ----------------------------------------------------------------------------------------

    def _on_race_progressed(self, text: str, fraction: float) -> None:
        self._say(text)

    def _on_race_published(self, step: RaceStep) -> None:
        self._steps_seen = step.step
        self.plot.add_step(step)
        self.progress_bar.setValue(round(1000 * step.step / step.steps))
        losses = ", ".join(f"{n.label} {n.loss:.3f}" for n in step.nets)
        self._say(f"Step {step.step} of {step.steps}: loss {losses} ({step.seconds:.0f} s)")

    def _on_race_returned(self, result: RaceResult) -> None:
        self._result = result
        self.plot.show_result(result)
        self.cancel_button.setEnabled(False)
        self.progress_bar.setValue(1000)
        self.export_button.setEnabled(True)
        self.verdict_label.setText(result.verdict[0].upper() + result.verdict[1:])
        self.conditions_label.setText(f"Conditions: {result.conditions}.")
        self._say(f"Finished in {result.seconds:.1f} s.")
        self.race_finished.emit(result)

    def _on_race_errored(self, message: str) -> None:
        self.cancel_button.setEnabled(False)
        self.progress_bar.setValue(0)
        self.verdict_label.setText("The race failed: no verdict.")
        self._say(f"Race failed: {message}")
        self.race_failed.emit(message)

    def _on_export_menu_triggered(self, suffix: str) -> None:
        path = dialogs.save_export(self, "Export the race", f"race{suffix}", suffix)
        if path:
            self.export(path)

    def _say(self, text: str) -> None:
        self.message_label.setText(text)
