"""Export of the shown gradient-lab run: the plot as PNG or SVG (explorer.ui.common.export), the
table as CSV in the one schema the ``grads`` command writes (explorer.core.gradients.report).

UI layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyqtgraph as pg

from explorer.core.gradients import GradResult, write_csv
from explorer.ui.common.export import ExportError, checked_target, write_file, write_plot
from explorer.ui.gradient_lab.text import describe_conditions, lab_title

__all__ = ["ExportError", "export"]


def export(path: str | Path, plot: pg.PlotWidget, results: Sequence[GradResult]) -> Path:
    """Write ``results`` (the shown run) to ``path``: the plot for .png/.svg, the table for .csv."""
    path, suffix = checked_target(path, None if results else "run the gradient lab first")
    if suffix == ".csv":
        write_file(path, lambda: write_csv(path, results))
    else:
        write_plot(path, plot, plot.getPlotItem(), lab_title(results), describe_conditions(results))
    return path
