"""What the theory lab's plots share: a row of pyqtgraph plots under one legend line that follows the
system's light or dark palette (and is exported with them), the two runs' colours and marks, and
the rule that a log axis leaves out what it cannot show (zero, missing, not finite) and counts it.

UI layer (pyqtgraph): the views draw plain values handed to them and compute nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QWidget

from explorer.ui.common.axes import CachedAxis
from explorer.ui.common.palette import CURVE_COLOURS, CURVE_MARKS, CURVE_SYMBOLS

# The first run of a pair takes the residual network's colour, the second the plain one's: in the
# signal view's default comparison that is exactly what they are.
RUN_KEYS = (True, False)
# Enough for a legend, titles and a readable curve: a bottom dock at 1280x720 gives about 170 px.
MIN_HEIGHT = 150
# A log axis spans at least this many decades, so that one labelled decade tick always shows.
LEAST_DECADES = 1.5


def drawable(value: float | None, log: bool) -> bool:
    return value is not None and math.isfinite(value) and (value > 0 or not log)


def run_colour(index: int) -> str:
    return CURVE_COLOURS[RUN_KEYS[index % 2]]


class DecadeAxis(CachedAxis):
    """A log axis that writes only the decades (0.01, 0.1, 1, ...): a plot 60 px high has no room
    for the 2..9 between them, which pyqtgraph labels whenever the range spans few decades."""

    def logTickStrings(self, values, scale, spacing):  # noqa: ANN001, ANN201, N802 - pyqtgraph's hook
        return [f"{10.0**v:g}" if abs(v - round(v)) < 1e-6 else "" for v in values]


def row_plot(log: bool) -> pg.PlotItem:
    """One empty plot of a row (6-9 ms: a row's three at once took 18-30 ms), log y if ``log``."""
    plot = pg.PlotItem(axisItems={"left": (DecadeAxis if log else CachedAxis)("left"), "bottom": CachedAxis("bottom")}, enableMenu=False)
    plot.showGrid(x=False, y=True, alpha=0.25)
    plot.getAxis("left").enableAutoSIPrefix(False)
    plot.setLogMode(x=False, y=log)
    return plot


class PlotRow(pg.GraphicsLayoutWidget):
    """A legend line over ``titles`` plots side by side (log y where ``logs`` says)."""

    def __init__(self, titles: Sequence[str], logs: Sequence[bool], idle: str, parent: QWidget | None = None,
                 plots: Sequence[pg.PlotItem] | None = None) -> None:
        """``plots``: made beforehand by :func:`row_plot`, one per entry of ``logs`` (TheoryPanel.in_steps)."""
        super().__init__(parent)
        self._idle = idle
        self._names: list[str] = []
        self.legend = self.addLabel("", col=0, colspan=len(titles))
        self.nextRow()
        self.titles = tuple(titles)
        self.plots: list[pg.PlotItem] = list(plots or [row_plot(log) for log in logs])
        for plot in self.plots:
            self.addItem(plot)
        self._apply_palette()
        # Three titled plots need their titles' width; below it the dock scrolls instead of clipping.
        least = self.ci.effectiveSizeHint(Qt.SizeHint.MinimumSize).width()
        self.setMinimumSize(math.ceil(least) + 8, MIN_HEIGHT)

    def set_runs(self, names: Sequence[str]) -> None:
        """The legend: one entry per run, in the runs' colours."""
        self._names = list(names)
        self._apply_palette()

    def draw(self, plot: pg.PlotItem, index: int, x: Sequence[float], y: Sequence[float | None], log: bool) -> int:
        """Run ``index``'s curve on ``plot``; returns how many points a log axis could not show
        (they leave a gap in the line)."""
        keep = [i for i, value in enumerate(y) if drawable(value, log)]
        colour = run_colour(index)
        connect = np.append(np.diff(np.asarray(keep)) == 1, False) if keep else "all"
        plot.plot(
            np.asarray([x[i] for i in keep], dtype=float), np.asarray([y[i] for i in keep], dtype=float), connect=connect,
            pen=pg.mkPen(colour, width=2), symbol=CURVE_SYMBOLS[RUN_KEYS[index % 2]], symbolSize=6, symbolBrush=colour,
            symbolPen=pg.mkPen(colour),
        )
        return len(y) - len(keep)

    def at_least_decades(self, plot: pg.PlotItem) -> None:
        """Let a log axis span at least LEAST_DECADES around its curves: values that barely differ (a
        branch variance of 1 at every block, under BN) would otherwise magnify rounding into zigzags
        and leave no tick to read."""
        values = [v for item in plot.listDataItems() for v in (item.getOriginalDataset()[1] if item.getOriginalDataset()[1] is not None else [])]
        if not values:
            return
        low, high = math.log10(min(values)), math.log10(max(values))
        if high - low < LEAST_DECADES:
            middle = (low + high) / 2
            plot.setYRange(middle - LEAST_DECADES / 2, middle + LEAST_DECADES / 2, padding=0)  # a log axis's view: log10
        else:
            plot.enableAutoRange(axis="y")

    def points(self, plot_index: int) -> list[int]:
        """How many points each curve of one plot draws: what the user sees."""
        counts = []
        for item in self.plots[plot_index].listDataItems():
            _, y = item.getOriginalDataset()
            counts.append(0 if y is None else len(y))
        return counts

    def clear_plots(self, count: int) -> None:
        """Empty plots whose x axis spans ``count`` positions (0 .. count - 1), with room for the end
        ticks' labels."""
        for plot in self.plots:
            plot.clear()
            plot.setXRange(-0.6, count - 0.4, padding=0)

    # -- palette ------------------------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        if getattr(self, "plots", None) and event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._apply_palette()
        super().changeEvent(event)

    def _apply_palette(self) -> None:
        """Follow the system light/dark palette rather than pyqtgraph's fixed black background."""
        pal = self.palette()
        base, text = pal.color(QPalette.ColorRole.Base), pal.color(QPalette.ColorRole.Text)
        self.setBackground(base)
        size = f"{self.font().pointSizeF():g}pt"
        for title, plot in zip(self.titles, self.plots):
            plot.setTitle(title, color=text.name(), size=size)
            for name in ("left", "bottom"):
                plot.getAxis(name).setPen(pg.mkPen(text))
                plot.getAxis(name).setTextPen(pg.mkPen(text))
        parts = [f'<span style="color:{run_colour(i)}">{CURVE_MARKS[RUN_KEYS[i % 2]]}</span> {name}' for i, name in enumerate(self._names)]
        self.legend.setText("&nbsp;&nbsp;&nbsp;".join(parts) or self._idle, color=text.name(), size=size)
