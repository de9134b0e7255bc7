"""The paths view's plots, Veit, Wilber & Belongie 2016's Fig. 6 for the loaded network: (a) how many
of the 2^n paths have each length (a binomial), (b) the gradient one path of that length carries to
the input (log axis), (c) their product, the share of the total gradient each length carries: where
the "effective paths" lie.

UI layer (pyqtgraph), drawing the plain ``PathsResult`` values handed to it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from explorer.core.theory.paths import PathsResult
from explorer.ui.theory.plots import PlotRow, run_colour

TITLES = ("(a) paths", "(b) gradient per path", "(c) share of the total")
IDLE = "Run to see the gradient paths of each length carry"


class PathsPlot(PlotRow):
    LOGS = (False, True, False)  # a log y axis, per plot

    def __init__(self, parent: QWidget | None = None, plots: Sequence[pg.PlotItem] | None = None) -> None:
        super().__init__(TITLES, self.LOGS, IDLE, parent, plots)

    def show_result(self, result: PathsResult, name: str) -> int:
        """Replace the plots; returns how many lengths the log axis could not show."""
        self.clear_plots(result.blocks + 1)
        self.set_runs([name])
        lengths = np.arange(result.blocks + 1, dtype=float)
        brush = pg.mkBrush(run_colour(0))
        for plot, values in ((self.plots[0], result.distribution), (self.plots[2], result.total_by_length)):
            plot.addItem(pg.BarGraphItem(x=lengths, height=np.asarray(values, dtype=float), width=0.8, brush=brush, pen=pg.mkPen(None)))
        skipped = self.draw(self.plots[1], 0, list(lengths), list(result.gradient_by_length), log=True)
        self.at_least_decades(self.plots[1])
        return skipped

    def bars(self, plot_index: int) -> list[float]:
        """The bar heights one plot shows (empty for the line plot): what the user sees."""
        items = [i for i in self.plots[plot_index].items if isinstance(i, pg.BarGraphItem)]
        return [float(h) for item in items for h in item.opts["height"]]
