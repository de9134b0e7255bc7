"""Plots that follow the system's light or dark palette instead of pyqtgraph's fixed black
background, written once for every plot of the app (the gradient lab's, the race's, the lesion
sweep's): the background from the palette's base colour, axes and text in its text colour, again
whenever the palette changes.

UI layer (Qt, pyqtgraph).
"""

from __future__ import annotations

from collections.abc import Iterable

import pyqtgraph as pg
from PySide6.QtCore import QEvent
from PySide6.QtGui import QColor, QPalette

PALETTE_EVENTS = (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)


class FollowsPalette:
    """A mixin for a pyqtgraph widget (listed before it): the subclass writes ``apply_palette`` and
    calls :meth:`follow_palette` at the end of its constructor; pyqtgraph's own constructor changes
    the palette before the subclass's items exist, so nothing is applied until then."""

    _palette_ready = False

    def follow_palette(self) -> None:
        self._palette_ready = True
        self.apply_palette()

    def apply_palette(self) -> None:
        raise NotImplementedError

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        if self._palette_ready and event.type() in PALETTE_EVENTS:
            self.apply_palette()
        super().changeEvent(event)  # type: ignore[misc]

    def palette_colours(self) -> tuple[QColor, QColor]:
        """(background, text) of the current palette, the background already applied."""
        pal = self.palette()  # type: ignore[attr-defined]
        base, text = pal.color(QPalette.ColorRole.Base), pal.color(QPalette.ColorRole.Text)
        self.setBackground(base)  # type: ignore[attr-defined]
        return base, text


def colour_axes(axes: Iterable[pg.AxisItem], text: QColor) -> None:
    """Axis lines and tick labels in the text colour."""
    for axis in axes:
        axis.setPen(pg.mkPen(text))
        axis.setTextPen(pg.mkPen(text))
