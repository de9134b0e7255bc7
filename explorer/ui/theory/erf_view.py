"""The ERF view (Luo et al. 2016, Fig. 1 and 3): for each stage, the effective receptive field of its
centre unit overlaid on the input picture, with the theoretical receptive field's square (dashed where
it reaches past the picture, which it soon does, and cut at its edge) and the disc holding 95% of the map's mass; one row
per run, the chosen network's and the same network's with random weights.

UI layer (pyqtgraph), drawing the plain ``ErfResult`` values handed to it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsRectItem, QWidget

from explorer.core.insight.gradcam import colorize
from explorer.core.theory.erf import ErfResult
from explorer.ui.theory.plots import MIN_HEIGHT, run_colour

COLORMAP = "inferno"
IDLE = "Run to see where each stage's centre unit looks, against its theoretical receptive field"
FIELD_COLOUR = "#00E5FF"  # the theoretical square: cyan reads on the inferno map and on grey pictures
DISC_COLOUR = "#FFFFFF"


def blended(result: ErfResult) -> np.ndarray:
    """(H, W, 3) uint8: the picture in grey, the map coloured over it, opaque where the map is strong
    (the square root lets the faint tails show)."""
    grey = result.picture.astype(np.float64).mean(axis=2, keepdims=True) * 0.6
    alpha = np.sqrt(np.clip(result.map, 0.0, 1.0))[..., None] * 0.9
    colour = colorize(result.map, COLORMAP).astype(np.float64)
    return np.round((1 - alpha) * grey + alpha * colour).astype(np.uint8)


class ErfView(pg.GraphicsLayoutWidget):
    """A grid of maps: rows are runs, columns stages."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[str, list[ErfResult]]] = []
        self.cells: list[pg.PlotItem] = []
        self.setMinimumSize(360, MIN_HEIGHT)
        self._draw()

    def show_results(self, rows: Sequence[tuple[str, Sequence[ErfResult]]]) -> None:
        """One row per run: its name and its results, one per stage."""
        self._rows = [(name, list(results)) for name, results in rows]
        self._draw()

    def fields(self) -> list[list[tuple[float, float, float, float]]]:
        """The theoretical squares drawn (cut at the picture's edge), per cell, as (x, y, width,
        height): what the user sees."""
        return [[(r.x(), r.y(), r.width(), r.height()) for r in (i.rect() for i in cell.items if isinstance(i, QGraphicsRectItem))]
                for cell in self.cells]

    def _draw(self) -> None:
        self.clear()
        self.cells = []
        pal = self.palette()
        base, text = pal.color(QPalette.ColorRole.Base), pal.color(QPalette.ColorRole.Text).name()
        self.setBackground(base)
        size = f"{self.font().pointSizeF():g}pt"
        if not self._rows:
            self.addLabel(IDLE, color=text, size=size)
            return
        for index, (name, results) in enumerate(self._rows):
            # The run's name beside its row, turned: a row above would take height the maps need.
            self.addLabel(f'<span style="color:{run_colour(index)}">■</span> {name}', angle=-90, color=text, size=size)
            for result in results:
                self.cells.append(self._cell(result, text, size))
            self.nextRow()

    def _cell(self, result: ErfResult, text: str, size: str) -> pg.PlotItem:
        cell = self.addPlot(enableMenu=False)
        cell.hideButtons()
        for axis in ("left", "bottom"):
            cell.hideAxis(axis)
        cell.setTitle(result.stage, color=text, size=size)
        view = cell.getViewBox()
        view.setMouseEnabled(False, False)
        view.invertY(True)  # row 0 at the top, as the picture
        view.setAspectLocked(True)
        image = pg.ImageItem(blended(result).transpose(1, 0, 2))  # pyqtgraph takes (x, y, rgb)
        cell.addItem(image)
        height, width = result.size
        top, left, bottom, right = result.box()
        picture = QRectF(0, 0, width, height)
        field = QRectF(left, top, right - left + 1, bottom - top + 1)
        # Past the picture the square is cut at its edge and dashed: nothing outside was measured.
        square = QGraphicsRectItem(field.intersected(picture))
        past = not picture.contains(field)
        square.setPen(pg.mkPen(FIELD_COLOUR, width=2, style=Qt.PenStyle.DashLine if past else Qt.PenStyle.SolidLine))
        cell.addItem(square)
        row, col = result.centroid
        r = result.radius_95
        disc = QGraphicsEllipseItem(QRectF(col + 0.5 - r, row + 0.5 - r, 2 * r, 2 * r))
        disc.setPen(pg.mkPen(DISC_COLOUR, width=1, style=Qt.PenStyle.DotLine))
        cell.addItem(disc)
        view.setRange(picture, padding=0.02)
        return cell

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        if hasattr(self, "_rows") and event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._draw()
        super().changeEvent(event)
