"""Export of the shown race: the three plots as PNG or SVG (explorer.ui.common.export), the steps as
CSV in the one schema the ``race`` command writes (explorer.core.race.report).

UI layer.
"""

from __future__ import annotations

from pathlib import Path

from explorer.core.race.report import RaceResult, write_csv
from explorer.ui.common.export import ExportError, checked_target, write_file, write_plot
from explorer.ui.race.plot import RacePlot

__all__ = ["ExportError", "export"]


def export(path: str | Path, plot: RacePlot, result: RaceResult | None) -> Path:
    """Write ``result`` (the finished race shown) to ``path``: the plots for .png/.svg, the table for .csv."""
    path, suffix = checked_target(path, None if result is not None else "run a race to the end first")
    if suffix == ".csv":
        write_file(path, lambda: write_csv(path, result))
    else:
        write_plot(path, plot, plot.ci, "ResNet training race", (result.conditions, result.verdict))
    return path
