"""The signal view's plots (Brock, De & Smith 2021, Fig. 1): per block, from the stem to the last
block, the average channel squared mean and variance of the block's output and the variance of its
residual branch, on log axes, one curve per run (residual and plain, or two initialisations).

UI layer (pyqtgraph), drawing the plain ``SignalResult`` values handed to it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from explorer.core.theory.signal import SignalResult
from explorer.ui.theory.plots import PlotRow

SERIES = ("mean_sq", "variance", "residual_variance")
TITLES = ("squared mean", "variance", "branch variance")
IDLE = "Run to see the signal at every block"


def stage_ticks(names: Sequence[str]) -> list[tuple[float, str]]:
    """A tick at the stem and at each stage's first block, short enough for a narrow plot
    (``layer2.0`` -> ``2``)."""
    ticks, seen = [], set()
    for i, name in enumerate(names):
        stage = name.split(".")[0]
        if stage not in seen:
            seen.add(stage)
            ticks.append((float(i), stage.removeprefix("layer")))
    return ticks


class SignalPlot(PlotRow):
    LOGS = (True,) * len(SERIES)  # a log y axis, per plot

    def __init__(self, parent: QWidget | None = None, plots: Sequence[pg.PlotItem] | None = None) -> None:
        super().__init__(TITLES, self.LOGS, IDLE, parent, plots)

    def show_results(self, results: Sequence[SignalResult], names: Sequence[str]) -> dict[str, int]:
        """Replace the curves; ``names`` are the legend's. Returns, per series, the points left out."""
        blocks = [b.name for b in results[0].blocks] if results else []
        self.clear_plots(len(blocks))
        self.set_runs(names)
        skipped = dict.fromkeys(SERIES, 0)
        for plot, series in zip(self.plots, SERIES):
            plot.getAxis("bottom").setTicks([stage_ticks(blocks), []])
            for index, result in enumerate(results):
                values = [getattr(b, series) for b in result.blocks]
                x = list(range(len(values)))
                if series == "residual_variance":  # the stem has no branch: not a point left out
                    x, values = x[1:], values[1:]
                skipped[series] += self.draw(plot, index, x, values, log=True)
            self.at_least_decades(plot)
        return skipped
