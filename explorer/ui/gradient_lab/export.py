"""Export of the shown gradient-lab run: the plot as PNG or SVG, the table as CSV in the one schema
the ``grads`` command writes (explorer.core.gradients.report). Every file is written to a temporary
name beside the target and renamed over it only when complete, so a failure leaves nothing half-made.

UI layer (pyqtgraph exporters, Qt's SVG generator).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters
from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter
from PySide6.QtSvg import QSvgGenerator

from explorer.core.gradients import GradResult, write_csv
from explorer.ui.gradient_lab.text import describe_conditions

SUFFIXES = (".png", ".svg", ".csv")


class ExportError(ValueError):
    """The export could not be written; ``str(e)`` is one line. Any earlier file is untouched."""


def export(path: str | Path, plot: pg.PlotWidget, results: Sequence[GradResult]) -> Path:
    """Write ``results`` (the shown run) to ``path``: the plot for .png/.svg, the table for .csv."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not results:
        raise ExportError("nothing to export yet: run the gradient lab first")
    if suffix not in SUFFIXES:
        raise ExportError(f"cannot export {suffix or 'a file without suffix'}: use .png, .svg or .csv")
    if not path.parent.is_dir():
        raise ExportError(f"no such folder {path.parent}")
    try:
        if suffix == ".csv":
            write_csv(path, results)
        else:
            writer = _write_png if suffix == ".png" else _write_svg
            _atomically(path, lambda temp: writer(temp, plot, results))
    except OSError as exc:
        raise ExportError(f"cannot write {path.name}: {exc.strerror or exc}") from None
    return path


def _atomically(path: Path, write: Callable[[str], None]) -> None:
    fd, temp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(temp)
        if os.path.getsize(temp) == 0:
            raise OSError("the file came out empty")
        os.replace(temp, path)
    finally:
        Path(temp).unlink(missing_ok=True)


def _write_png(path: str, plot: pg.PlotWidget, results: Sequence[GradResult]) -> None:
    pyqtgraph.exporters.ImageExporter(plot.getPlotItem()).export(path)


def _write_svg(path: str, plot: pg.PlotWidget, results: Sequence[GradResult]) -> None:
    try:
        pyqtgraph.exporters.SVGExporter(plot.getPlotItem()).export(path)
        return
    except ValueError:
        # pyqtgraph 0.14.0 cannot parse the path syntax newer Qt writes (pyqtgraph issues #3485,
        # #3495; fix pending in PR #3458). Qt's own generator paints the same scene as vectors.
        pass
    item = plot.getPlotItem()
    source = item.sceneBoundingRect()
    target = QRectF(0, 0, source.width(), source.height())
    generator = QSvgGenerator()
    generator.setFileName(path)
    # At the screen's DPI: at the generator's default 72 dpi the axes shrink relative to the curves.
    generator.setResolution(plot.logicalDpiX())
    generator.setSize(source.size().toSize())
    generator.setViewBox(target)
    generator.setTitle("ResNet-50 gradient lab")
    generator.setDescription(describe_conditions(results))
    painter = QPainter(generator)
    try:
        painter.fillRect(target, plot.backgroundBrush())
        plot.scene().render(painter, target, source)
    finally:
        painter.end()
