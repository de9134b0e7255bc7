"""The race's live plots: per step, the training loss, the batch accuracy and the stem conv's gradient
norm (on a log axis) of the residual network and its plain twin (or, in a depth race, of each network
and its twin: four curves told apart by colour and marker), side by side in one layout, with a legend
line above them naming each run, exported with the plots.

UI layer (pyqtgraph): it draws the plain values handed to it (``RaceStep``, ``RaceResult``) and
computes nothing. Points a plot cannot show (a diverged loss, a zero gradient on the log axis) are
left out of their curve, which breaks there, instead of being clipped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from explorer.core.race.config import RaceConfig
from explorer.core.race.report import RESIDUAL, SERIES, PlannedRun, RaceResult, RaceStep, planned_runs
from explorer.ui.common.axes import TidyAxis
from explorer.ui.common.palette import DEPTH_COLOURS, DEPTH_MARKS, DEPTH_SYMBOLS
from explorer.ui.common.plot_palette import FollowsPalette, colour_axes

# Short: three plots share a dock's width, and a title sets its plot's least width.
TITLES = {"loss": "training loss", "accuracy": "batch accuracy %", "stem_grad": "stem gradient (log)"}
NAMES = {RESIDUAL: "with shortcuts (residual)", "plain": "without shortcuts (plain)"}  # a depth race's runs keep their labels
LOG_SERIES = frozenset({"stem_grad"})
SCALE = {"accuracy": 100.0}  # shown in percent
DEFAULT = RaceConfig()
MIN_HEIGHT = 120


def drawable(series: str, value: float) -> bool:
    return math.isfinite(value) and (value > 0 or series not in LOG_SERIES)


def run_styles(runs: tuple[PlannedRun, ...]) -> dict[str, tuple[str, str, str]]:
    """Per run label, its colour, pyqtgraph symbol and legend mark: residual blue, plain orange; in a
    depth race the shallower network of each kind in the next shade with another mark."""
    styles = {}
    for run in runs:
        rank = sum(1 for other in runs[runs.index(run) + 1:] if other.shortcuts == run.shortcuts)  # deeper ones after it
        on = run.shortcuts
        styles[run.label] = (DEPTH_COLOURS[on][rank], DEPTH_SYMBOLS[on][rank], DEPTH_MARKS[on][rank])
    return styles


def series_plot(series: str) -> pg.PlotItem:
    """The empty plot of one series (9 ms: a RacePlot's three at once took 26-36 ms)."""
    plot = pg.PlotItem(axisItems={"left": TidyAxis("left"), "bottom": TidyAxis("bottom")}, enableMenu=False)
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.setTitle(TITLES[series])
    plot.getAxis("left").enableAutoSIPrefix(False)
    if series in LOG_SERIES:
        plot.setLogMode(x=False, y=True)
    return plot


class RacePlot(FollowsPalette, pg.GraphicsLayoutWidget):
    """Three plots over the step axis; one curve per run in each."""

    def __init__(self, parent: QWidget | None = None, plots: Sequence[pg.PlotItem] | None = None) -> None:
        """``plots``: made beforehand by :func:`series_plot`, one per series (see RacePanel.in_steps)."""
        super().__init__(parent)
        self.legend = self.addLabel("", col=0, colspan=len(SERIES))
        self.nextRow()
        self.plots: dict[str, pg.PlotItem] = {}
        self._curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        self._values: dict[tuple[str, str], list[float]] = {}
        self._runs: tuple[PlannedRun, ...] = ()
        for series, plot in zip(SERIES, plots or [series_plot(series) for series in SERIES], strict=True):
            self.addItem(plot)
            self.plots[series] = plot
        self.clear_curves()
        self.follow_palette()
        # The layout does not shrink below its titles' and axes' widths; a narrower view would clip
        # the last plot, so the widget asks for that much (the dock scrolls instead). Short enough for
        # a 200 px bottom dock at 1280x720 (the plots are the height left after the legend and
        # titles); the step axis is named in the legend line, not under every plot.
        least = self.ci.effectiveSizeHint(Qt.SizeHint.MinimumSize).width()
        self.setMinimumSize(math.ceil(least) + 8, MIN_HEIGHT)

    def clear_curves(self, steps: int = DEFAULT.steps, runs: tuple[PlannedRun, ...] = planned_runs(DEFAULT)) -> None:
        """Empty curves, one per run of ``runs``, before a race of ``steps`` steps: the step axis spans
        the whole race, so the curves grow across it."""
        if runs != self._runs:
            self._runs = runs
            styles = run_styles(runs)
            for (series, _), item in self._curves.items():
                self.plots[series].removeItem(item)
            self._curves = {}
            for series, plot in self.plots.items():
                for run in runs:
                    colour, symbol, _ = styles[run.label]
                    self._curves[(series, run.label)] = plot.plot(
                        pen=pg.mkPen(colour, width=2), symbol=symbol, symbolSize=6, symbolBrush=colour,
                        symbolPen=pg.mkPen(colour), name=NAMES.get(run.label, run.label),
                    )
            if self._palette_ready:
                self.apply_palette()
        self._values = {key: [] for key in self._curves}
        for plot in self.plots.values():
            plot.setXRange(0, steps + 1, padding=0)
        self._redraw()

    def add_step(self, step: RaceStep) -> None:
        """One step's numbers, appended to every curve."""
        for net in step.nets:
            for series in SERIES:
                self._values[(series, net.label)].append(getattr(net, series))
        self._redraw()

    def show_result(self, result: RaceResult) -> None:
        """Every curve from a finished race (the same numbers the steps brought)."""
        for run in result.runs:
            for series in SERIES:
                self._values[(series, run.label)] = list(getattr(run, series))
        self._redraw()

    def points(self, series: str, label: str) -> int:
        """How many points the curve of ``label`` in plot ``series`` draws: what the user sees."""
        _, y = self._curves[(series, label)].getOriginalDataset()
        return 0 if y is None else int(np.isfinite(y).sum())

    def _redraw(self) -> None:
        for key, item in self._curves.items():
            series = key[0]
            y = np.array([v * SCALE.get(series, 1.0) if drawable(series, v) else np.nan for v in self._values[key]], dtype=float)
            item.setData(np.arange(1, len(y) + 1, dtype=float), y, connect="finite")

    # -- palette ----------------------------------------------------------------------------------

    def apply_palette(self) -> None:
        _, text = self.palette_colours()
        size = f"{self.font().pointSizeF():g}pt"
        for series, plot in self.plots.items():
            plot.setTitle(TITLES[series], color=text.name(), size=size)
            colour_axes((plot.getAxis(name) for name in ("left", "bottom")), text)
        styles = run_styles(self._runs)
        parts = [f'<span style="color:{styles[run.label][0]}">{styles[run.label][2]}</span> {NAMES.get(run.label, run.label)}'
                 for run in self._runs]
        self.legend.setText("&nbsp;&nbsp;&nbsp;".join(parts) + "&nbsp;&nbsp;&nbsp;· per training step", color=text.name(), size=size)
