"""The Theory dock: the three results that explain why residual networks train, on the window's
network, as tabs: signal propagation (Brock, De & Smith 2021), paths (Veit, Wilber & Belongie 2016,
Fig. 6) and the effective receptive field (Luo et al. 2016); Run runs the shown tab's view, Cancel
stops it, a progress bar follows it, the knobs all three share sit beside the tabs.

UI layer. Each run is a job on the "theory" lane (``host.view_job``): the models live on that worker
and only the core's frozen results come back. Knobs live in a ``TheorySettings`` model.
"""

from __future__ import annotations

import time
from collections.abc import Generator

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.core.devices import available_devices
from explorer.core.theory.config import VIEWS
from explorer.ui.common.actions import Actions
from explorer.ui.common.widgets import ProgressBar, choice_box, row, scrolling, spin, wrapping_label
from explorer.ui.jobs import JobRunner, LatestJob
from explorer.ui.theory.actions import THEORY_ACTIONS
from explorer.ui.theory.erf_view import ErfView
from explorer.ui.theory.form import INIT_WORDS, TheoryForm
from explorer.ui.theory.host import view_job
from explorer.ui.theory.paths_plot import PathsPlot
from explorer.ui.theory.plots import row_plot
from explorer.ui.theory.settings import COMPARISONS, LIMITS, RANDOM_INITS, TheorySettings
from explorer.ui.theory.signal_plot import SignalPlot
from explorer.ui.theory.text import conditions, erf_notes, paths_notes, run_name, signal_notes

LANE = "theory"
TAB_TITLES = {"signal": "&Signal propagation", "paths": "&Paths", "erf": "&Effective receptive field"}
COMPARE_WORDS = {"plain": "residual vs plain (shortcuts off)", "init": "the initialisation vs another"}
IDLE_TEXT = "Press Run to measure the shown view."


class TheoryPanel(QWidget):
    """Tabs of the three views, Run/Cancel, progress and the shared knobs. Emits ``view_shown(str)``
    with the view whose new results are drawn, ``run_failed(str)`` with a failure's line."""

    view_shown = Signal(str)
    run_failed = Signal(str)

    def __init__(self, runner: JobRunner, parent: QWidget | None = None, views: tuple[SignalPlot, PathsPlot, ErfView] | None = None) -> None:
        super().__init__(parent)
        self._run = LatestJob(runner, LANE)
        self._started = 0.0
        self.results: dict[str, list] = {}  # the results each view shows, by view
        self.settings = TheorySettings(available_devices())
        self.signal_plot, self.paths_plot, self.erf_view = views or (SignalPlot(), PathsPlot(), ErfView())
        self._build()
        self.settings.changed.connect(self._on_settings_changed)
        self._on_settings_changed({"compare", "second_init", "samples"})

    @classmethod
    def in_steps(cls, runner: JobRunner) -> Generator[None, None, TheoryPanel]:
        """The panel built over several turns of the event loop, a plot per turn: its six plots took
        100-280 ms of the GUI thread at once, a row of three 18-30 ms
        (``self.theory = yield from TheoryPanel.in_steps(runner)``)."""
        views: list[SignalPlot | PathsPlot | ErfView] = []
        for row_view in (SignalPlot, PathsPlot):
            plots = []
            for log in row_view.LOGS:
                plots.append(row_plot(log))
                yield
            views.append(row_view(plots=plots))
        views.append(ErfView())
        yield
        return cls(runner, views=tuple(views))

    # -- construction ---------------------------------------------------------------------------------

    def _build(self) -> None:
        self.tabs = QTabWidget()
        for view, plot in zip(VIEWS, (self.signal_plot, self.paths_plot, self.erf_view)):
            self.tabs.addTab(plot, TAB_TITLES[view])
        # Each view's own knobs and notes sit beside the plots, not under them: in a bottom dock of
        # 200-300 px the plots need the height.
        self.compare_box = choice_box(COMPARISONS, COMPARE_WORDS)
        self.second_init_box = choice_box(RANDOM_INITS, INIT_WORDS)
        self.second_init_box.setToolTip("The initialisation set beside the chosen one (random weights)")
        self.samples_spin = spin(*LIMITS["samples"])
        self.samples_spin.setToolTip("Random subsets of blocks per path length, for networks beyond 12 blocks (ResNet-18 enumerates all 256)")
        for box in (self.compare_box, self.second_init_box):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(10)  # the longest entry must not widen the dock
        self.view_options = QStackedWidget()
        for rows in (
            [("Compare", self.compare_box), ("with", self.second_init_box)],
            [("Samples per length", self.samples_spin)],
            [wrapping_label("Each stage's centre unit; a second row shows the same network with random (He) weights "
                            "when other weights are chosen.", selectable=False)],
        ):
            page = QWidget()
            form = QFormLayout(page)
            form.setContentsMargins(0, 0, 0, 0)
            for entry in rows:
                if isinstance(entry, tuple):
                    form.addRow(*entry)
                else:
                    form.addRow(entry)
            self.view_options.addWidget(page)
        self.notes = {view: wrapping_label() for view in VIEWS}
        self.notes_stack = QStackedWidget()
        for view in VIEWS:
            self.notes_stack.addWidget(self.notes[view])

        self.form = TheoryForm(self.settings)
        self.actions = Actions(self, THEORY_ACTIONS, self)
        self.run_button = QPushButton("Run")
        self.cancel_button = QPushButton("Cancel")
        self.actions.bind(self.run_button, "theory.run")
        self.actions.bind(self.cancel_button, "theory.cancel")
        self.progress_bar = ProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setTextVisible(False)
        self.message_label = wrapping_label(IDLE_TEXT)
        side = QWidget()
        column = QVBoxLayout(side)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(row(self.run_button, self.cancel_button))
        for part in (self.progress_bar, self.message_label, self.view_options, self.notes_stack, self.form):
            column.addWidget(part)
        column.addStretch(1)
        side_scroll = scrolling(side)
        chars = self.fontMetrics().averageCharWidth()
        needed = side.minimumSizeHint().width() + side_scroll.verticalScrollBar().sizeHint().width() + 4
        side_scroll.setMinimumWidth(needed)
        side_scroll.setMaximumWidth(max(needed, 48 * chars))

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.tabs)
        splitter.addWidget(side_scroll)
        splitter.setStretchFactor(0, 1)
        splitter.setChildrenCollapsible(False)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(splitter)

        self.run_action, self.cancel_action = self.actions["theory.run"], self.actions["theory.cancel"]
        self.compare_box.currentIndexChanged.connect(lambda _: self.settings.set(compare=self.compare_box.currentData()))
        self.second_init_box.currentIndexChanged.connect(lambda _: self.settings.set(second_init=self.second_init_box.currentData()))
        self.samples_spin.valueChanged.connect(lambda value: self.settings.set(samples=value))
        self.tabs.currentChanged.connect(self._on_tabs_changed)

    # -- public API --------------------------------------------------------------------------------

    def view(self) -> str:
        """The view the shown tab holds: ``signal``, ``paths`` or ``erf``."""
        return VIEWS[self.tabs.currentIndex()]

    def set_network(self, arch: str) -> None:
        """The window's network changed: the lab runs that member next."""
        self.settings.set(arch=arch)

    def run(self) -> None:
        """Run the shown tab's view with the current settings; a run in flight is cancelled (latest wins)."""
        view = self.view()
        configs = {"signal": self.settings.signal_configs, "paths": lambda: [self.settings.paths_config()],
                   "erf": self.settings.erf_configs}[view]()
        problem = self.settings.problem(configs)
        if problem is not None:
            self._say(f"Cannot run: {problem}")
            return
        job = self._run.submit(view_job(view, configs, self.settings.values.device))
        job.progressed.connect(self._on_run_progressed)
        job.returned.connect(lambda results, view=view: self._on_run_returned(view, results))
        job.errored.connect(self._on_run_errored)
        job.finished.connect(self.actions.refresh)
        self._started = time.monotonic()
        self.progress_bar.setValue(0)
        self.actions.refresh()
        self._say(f"Running {TAB_TITLES[view].replace('&', '').lower()}…")

    def cancel(self) -> None:
        if self._run.cancel():
            self._say("Cancelled; the views still show their previous runs.")
        self.actions.refresh()
        self.progress_bar.setValue(0)

    def is_running(self) -> bool:
        return self._run.is_running()

    # -- signals ----------------------------------------------------------------------------------------

    def _on_settings_changed(self, names: set[str]) -> None:
        v = self.settings.values
        for name, widget in (("compare", self.compare_box), ("second_init", self.second_init_box)):
            if name in names:
                with QSignalBlocker(widget):
                    widget.setCurrentIndex(widget.findData(getattr(v, name)))
        if "samples" in names:
            with QSignalBlocker(self.samples_spin):
                self.samples_spin.setValue(v.samples)
        self.second_init_box.setEnabled(v.compare == "init")

    def _on_tabs_changed(self, index: int) -> None:
        self.view_options.setCurrentIndex(index)
        self.notes_stack.setCurrentIndex(index)

    def _on_run_progressed(self, text: str, fraction: float) -> None:
        self.progress_bar.setValue(round(1000 * fraction))
        self._say(text)

    def _on_run_returned(self, view: str, results: list) -> None:
        self.results[view] = results
        self.progress_bar.setValue(1000)
        self._say(f"Finished in {time.monotonic() - self._started:.1f} s.")
        {"signal": self._show_signal, "paths": self._show_paths, "erf": self._show_erf}[view](results)
        self.view_shown.emit(view)

    def _on_run_errored(self, message: str) -> None:
        self.progress_bar.setValue(0)
        self._say(f"Run failed: {message}")
        self.run_failed.emit(message)

    # -- rendering ------------------------------------------------------------------------------------------

    def _show_signal(self, results: list) -> None:
        compare = "plain" if len({r.config.shortcuts for r in results}) > 1 else "init"
        skipped = self.signal_plot.show_results(results, [run_name(r.config, compare) for r in results])
        self.notes["signal"].setText(f"{conditions(results[0].config, results[0].device)} {signal_notes(skipped)}")

    def _show_paths(self, results: list) -> None:
        (result,) = results
        skipped = self.paths_plot.show_result(result, run_name(result.config))
        self.notes["paths"].setText(f"{conditions(result.config, result.device)} {paths_notes(result, skipped)}")

    def _show_erf(self, results: list) -> None:
        rows = [(run_name(stages[0].config), stages) for stages in results]
        self.erf_view.show_results(rows)
        first = results[0][0]
        self.notes["erf"].setText(f"{conditions(first.config, first.device)} {erf_notes(rows)}")

    def _say(self, text: str) -> None:
        self.message_label.setText(text)
