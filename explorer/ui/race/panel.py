"""The Race view: a residual network and its plain twin trained side by side (He et al. 2015, Fig. 1
and 4), or two networks of different depths each with its twin (Fig. 6), with live plots of each
step's training loss, batch accuracy and stem gradient norm, the verdict and the exact conditions when
the race ends, Run/Cancel with progress, export to PNG, SVG and CSV, and the knobs beside it.

UI layer. The race itself is ``explorer.core.race.train.run_race`` in a job on the "race" lane: the
models live on that worker and only plain values come back (a ``RaceStep`` per step through the job's
``published`` signal, the ``RaceResult`` through ``returned``). Knobs live in a ``RaceSettings`` model.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from explorer.core.devices import available_devices
from explorer.core.race.config import RaceConfig
from explorer.core.race.report import SERIES, RaceResult, RaceStep, planned_runs
from explorer.core.race.train import run_race
from explorer.ui.common.actions import Actions
from explorer.ui.common.export import export_saying
from explorer.ui.common.run_controls import RunControls, ask_export, side_column
from explorer.ui.common.text import sentence
from explorer.ui.common.widgets import wrapping_label
from explorer.ui.jobs import JobContext, JobRunner, LatestJob
from explorer.ui.race.actions import RACE_ACTIONS
from explorer.ui.race.export import export
from explorer.ui.race.form import RaceForm
from explorer.ui.race.plot import RacePlot, series_plot
from explorer.ui.race.settings import RaceSettings

LANE = "race"
IDLE_TEXT = "Run: the networks, the same batches."  # one line: the dock is short at 1280x720


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

    def __init__(self, runner: JobRunner, parent: QWidget | None = None, plots: Sequence[pg.PlotItem] | None = None) -> None:
        super().__init__(parent)
        self._race = LatestJob(runner, LANE)
        self._result: RaceResult | None = None
        self._steps_seen = 0
        self.settings = RaceSettings()
        self._build(plots)

    @classmethod
    def in_steps(cls, runner: JobRunner) -> Generator[None, None, RacePanel]:
        """The panel built over turns of the event loop, a plot per turn: all at once took 26-36 ms of
        the GUI thread, 45-55 ms while the launch's weights loaded on a worker
        (``self.race = yield from RacePanel.in_steps(runner)``)."""
        plots = []
        for series in SERIES:
            plots.append(series_plot(series))
            yield
        return cls(runner, plots=plots)

    # -- construction ---------------------------------------------------------------------------------

    def _build(self, plots: Sequence[pg.PlotItem] | None) -> None:
        self.actions = Actions(self, RACE_ACTIONS, self)
        self.plot = RacePlot(self, plots)
        self.conditions_label = wrapping_label()
        self.conditions_label.setTextFormat(Qt.TextFormat.PlainText)
        self.form = RaceForm(self.settings, available_devices())
        # Beside the plots, not under them: in a bottom dock of 200-300 px the plots need the height.
        # Run and the verdict come first, so a short dock shows them without scrolling; the knobs follow.
        self.controls = RunControls(self.actions, "race")
        self.controls.say(IDLE_TEXT)
        c = self.controls
        self.run_button, self.cancel_button, self.export_button, self.export_menu = c.run_button, c.cancel_button, c.export_button, c.export_menu
        self.progress_bar, self.message_label, self.verdict_label = c.progress_bar, c.message_label, c.verdict_label
        self.run_action, self.cancel_action = self.actions["race.run"], self.actions["race.cancel"]

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.plot)
        splitter.addWidget(side_column(self.controls, [self.conditions_label, self.form], self, 42))
        splitter.setStretchFactor(0, 1)
        splitter.setChildrenCollapsible(False)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(splitter)

    # -- public API --------------------------------------------------------------------------------

    def run(self) -> None:
        """Start a race with the current settings; a race in flight is cancelled (latest wins)."""
        try:
            config = self.settings.config()
        except ValueError as exc:
            self._say(f"Cannot race: {exc}")
            return
        job = self._race.submit(race_job(config), after_paint=self.plot)  # the cleared plots first, then the networks
        job.progressed.connect(self._on_race_progressed)
        job.published.connect(self._on_race_published)
        job.returned.connect(self._on_race_returned)
        job.errored.connect(self._on_race_errored)
        job.finished.connect(self.actions.refresh)
        self._result = None
        self._steps_seen = 0
        self.plot.clear_curves(config.steps, planned_runs(config))
        self.verdict_label.setText("Racing…")
        self.conditions_label.clear()
        self.controls.set_progress(0)
        self._say("Reading the data…")
        self.actions.refresh()

    def cancel(self) -> None:
        if self._race.cancel():
            self._say(f"Cancelled after {self._steps_seen} step{'s' if self._steps_seen != 1 else ''}; "
                      "the plots show the steps done.")
            self.verdict_label.setText("Cancelled: no verdict.")
        self.controls.set_progress(0)
        self.actions.refresh()

    def is_running(self) -> bool:
        return self._race.is_running()

    def result(self) -> RaceResult | None:
        """The finished race shown, or None (none yet, one in flight, or the last was cancelled)."""
        return self._result

    def can_export(self) -> bool:
        """True while a finished race is shown: what the export actions write."""
        return self._result is not None

    def ask_export(self, suffix: str) -> None:
        """Ask for a file name and write the shown race there (the export actions)."""
        ask_export(self, "Export the race", "race", suffix, self.export)

    def export(self, path: str) -> bool:
        """Write the shown race to ``path`` (.png, .svg or .csv). Returns False and says why on failure."""
        return export_saying(path, lambda: export(path, self.plot, self._result), self._say)

    # -- signals ----------------------------------------------------------------------------------------

    def _on_race_progressed(self, text: str, fraction: float) -> None:
        self._say(text)

    def _on_race_published(self, step: RaceStep) -> None:
        self._steps_seen = step.step
        self.plot.add_step(step)
        self.controls.set_progress(step.step / step.steps)
        losses = ", ".join(f"{n.label} {n.loss:.3f}" for n in step.nets)
        self._say(f"Step {step.step} of {step.steps}: loss {losses} ({step.seconds:.0f} s)")

    def _on_race_returned(self, result: RaceResult) -> None:
        self._result = result
        self.plot.show_result(result)
        self.controls.set_progress(1)
        self.verdict_label.setText(result.verdict)  # word for word what the race command prints
        self.conditions_label.setText(f"Conditions: {result.conditions}.")
        self._say(f"Finished in {result.seconds:.1f} s.")
        self.actions.refresh()
        self.race_finished.emit(result)

    def _on_race_errored(self, message: str) -> None:
        self.controls.set_progress(0)
        self.verdict_label.setText("The race failed: no verdict.")
        self._say(sentence(f"Race failed: {message}"))
        self.race_failed.emit(message)

    def _say(self, text: str) -> None:
        self.controls.say(text)
