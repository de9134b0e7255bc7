"""A plot axis whose tick labels never overlap: a label that would overlap the one before it is
left out. pyqtgraph draws every tick label it is given (ResNet-18's one-layer stem and four-layer
stage2 drew "stestage2", on screen and in the exported PNG) and, on a short log axis, every minor
label ("8 6 4 3 2" on top of each other in a 90 px race plot).

UI layer (pyqtgraph).
"""

from __future__ import annotations

import pyqtgraph as pg

GAP_PX = 2.0


class TidyAxis(pg.AxisItem):
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
