"""Plot axes that repaint cheaply (:class:`CachedAxis`) and whose tick labels never overlap
(:class:`TidyAxis`: a label that would overlap the one before it is left out). pyqtgraph draws every
tick label it is given (ResNet-18's one-layer stem and four-layer stage2 drew "stestage2", on screen
and in the exported PNG) and, on a short log axis, every minor label ("8 6 4 3 2" on top of each
other in a 90 px race plot).

UI layer (pyqtgraph).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem

GAP_PX = 2.0


class CachedAxis(pg.AxisItem):
    """``pg.AxisItem`` kept by Qt as a pixmap until it changes (its range, size or style: pyqtgraph
    calls ``update()``). Without it pyqtgraph replays its recorded picture of the labels on every
    paint of the plot, whatever changed: 1.5 ms an axis, 12 of the 14 ms of a repaint of the race's
    three plots with nothing changed (1.5-2 ms with the cache), in every redraw of a running race.
    Drawing the labels straight into the pixmap instead of through pyqtgraph's picture gained
    nothing measurable. Its width only grows: pyqtgraph narrowed an axis whose labels narrowed,
    which laid the plots out again and painted every axis anew, twice more at a race's start (the
    GUI thread's turns 23-36, 16-23 and 12-18 ms; one turn of 24-29 ms with this)."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - pyqtgraph's signature
        super().__init__(*args, **kwargs)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setStyle(autoReduceTextSpace=False)


class TidyAxis(CachedAxis):
    """``pg.AxisItem`` that keeps, in axis order, only the labels clear of the last one kept."""

    def generateDrawSpecs(self, p):  # noqa: ANN001, ANN201, N802 - pyqtgraph's signature
        specs = super().generateDrawSpecs(p)
        if specs is None:
            return None
        axis, ticks, texts = specs
        vertical = self.orientation in ("left", "right")
        start = (lambda rect: rect.top()) if vertical else (lambda rect: rect.left())
        end = (lambda rect: rect.bottom()) if vertical else (lambda rect: rect.right())
        kept: list = []
        for spec in sorted(texts, key=lambda spec: start(spec[0])):
            if not kept or start(spec[0]) >= end(kept[-1][0]) + GAP_PX:
                kept.append(spec)
        return axis, ticks, kept
