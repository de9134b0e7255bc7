"""The gradient lab's plot: per-layer gradient norm (or activation std, He et al. 2015, Fig. 7) along
the 50 main-path layers of ResNet-50, on a log axis with real values as tick labels, one curve per
run, with stage bands and a legend naming each run as measured ("shortcuts off in layer2.1").

UI layer (pyqtgraph): it draws plain data handed to it and computes nothing about the network.
Values that a log axis cannot show (zero, missing, non-finite) are left out of the curve and
counted, so the caller can say so next to the plot instead of clipping them silently.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QWidget

from explorer.ui.common.axes import TidyAxis
from explorer.ui.common.palette import CURVE_COLOURS, CURVE_MARKS, CURVE_SYMBOLS
from explorer.ui.common.plot_palette import FollowsPalette, colour_axes

# A depth comparison's curves of one kind (one colour) differ by their line and their marker, the
# shallowest solid with circles: with one marker per kind, plain-50, -101 and -152 looked the same.
DEPTH_PENS = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine, Qt.PenStyle.DashDotLine)
DEPTH_SYMBOLS = ("o", "s", "d", "star")
DEPTH_MARKS = ("●", "■", "◆", "★")  # the legend's text for the same
# One-layer stages get short tick labels so they fit beside their neighbours.
TICK_NAMES = {"stage1": "stem", "head": "fc"}


def curve_name(label: str) -> str:
    """The legend's words for a run label: ``residual``, ``plain`` or ``plain in layer2.1,...``."""
    if label == "residual":
        return "with shortcuts (residual)"
    if label == "plain":
        return "without shortcuts (plain)"
    if label.startswith("plain in "):
        return "shortcuts off in " + label.removeprefix("plain in ").replace(",", ", ")
    return label


def quantity_label(quantity: str, norm: str | None = None) -> str:
    """The y axis label: the gradient norm, or the activation std measured where the run measured it
    (after BN and before ReLU; with no normalisation the conv output itself)."""
    if quantity == "grad_norm":
        return "gradient norm ‖∂L/∂W‖₂"
    return "activation std (conv output, no BN)" if norm == "none" else "activation std (after BN, before ReLU)"


@dataclass(frozen=True)
class Curve:
    """One run's values along the main path; ``values[i]`` belongs to ``layout[i]``. ``shortcuts``
    picks the colour and marker, ``name`` is the legend's text. A curve of another depth than the
    layout's (a depth comparison) gives its own ``layers`` and their relative ``positions`` (0 at
    the stem conv, 1 at the fc), and ``dash`` picks its line style."""

    shortcuts: bool
    values: tuple[float | None, ...]
    name: str = ""
    layers: tuple[str, ...] = ()
    positions: tuple[float, ...] = ()
    dash: int = 0

    def x(self, i: int, count: int) -> float:
        """Where value ``i`` sits on an axis of ``count`` layers."""
        return self.positions[i] * (count - 1) if self.positions else float(i)

    def nearest(self, index: int, count: int) -> int | None:
        """The index of the value drawn nearest to layer ``index`` of the axis."""
        if not self.positions:
            return index if index < len(self.values) else None
        return min(range(len(self.values)), key=lambda i: abs(self.x(i, count) - index), default=None)

    def value_near(self, index: int, count: int) -> float | None:
        """The value drawn nearest to layer ``index`` of the axis."""
        nearest = self.nearest(index, count)
        return None if nearest is None else self.values[nearest]

    @property
    def title(self) -> str:
        return self.name or curve_name("residual" if self.shortcuts else "plain")

    @property
    def symbol(self) -> str:
        return DEPTH_SYMBOLS[self.dash % len(DEPTH_SYMBOLS)] if self.positions else CURVE_SYMBOLS[self.shortcuts]

    @property
    def mark(self) -> str:
        return DEPTH_MARKS[self.dash % len(DEPTH_MARKS)] if self.positions else CURVE_MARKS[self.shortcuts]


@dataclass(frozen=True)
class Skipped:
    """A point that a log axis cannot show."""

    shortcuts: bool
    layer: str
    value: float | None


def drawable(value: float | None) -> bool:
    return value is not None and math.isfinite(value) and value > 0


class _LayerAxis(TidyAxis):
    """x axis: stage names at the centre of each stage's band instead of layer indices; a name that
    would overlap its neighbour is left out (the band still shows the stage)."""

    def __init__(self) -> None:
        super().__init__("bottom")

    def set_stages(self, ticks: list[tuple[float, str]]) -> None:
        self.setTicks([ticks, []])


class GradientPlot(FollowsPalette, pg.PlotWidget):
    """Log-y plot of one quantity per main-path layer, curves overlaid, legend, stage bands."""

    layer_hovered = Signal(str)  # "layer3.2.conv2 (stage4): with shortcuts 1.2e-03, ..." or ""

    def __init__(self, parent: QWidget | None = None) -> None:
        self._axis = _LayerAxis()
        super().__init__(parent, axisItems={"bottom": self._axis, "left": TidyAxis("left")}, enableMenu=False)
        self._layout: tuple[tuple[str, str], ...] = ()
        self._bands: list[pg.LinearRegionItem] = []
        self._curves: list[pg.PlotDataItem] = []
        self._shown: tuple[Curve, ...] = ()
        self._quantity = "grad_norm"
        item = self.getPlotItem()
        item.setLogMode(x=False, y=True)
        item.showGrid(x=False, y=True, alpha=0.25)
        # Real values on the log axis: the SI prefix would put "(x0.001)" in the label and 1..100 on
        # the ticks for values of 0.001..0.1.
        item.getAxis("left").enableAutoSIPrefix(False)
        # The legend is the plot's title line: inside the view box it would hide data somewhere
        # (the curves can sit anywhere from 1e-20 to 1e5), and the title is exported with the plot.
        self._legend_entries: list[Curve] = []
        self.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)
        # Short enough for a 200 px bottom dock at 1280x720: a taller minimum made the dock scroll and
        # hid the plot's lower half.
        self.setMinimumSize(360, 100)
        self.follow_palette()

    # -- state ------------------------------------------------------------------------------------

    def axis_text(self) -> str:
        """What the x axis runs along, said beside the plot (a label under it took a short dock's
        last lines of plot)."""
        return f"x: the main-path layers, stem conv → {max(0, len(self._layout) - 2)} convs → fc, by stage."

    def layout_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self._layout)

    def set_layout(self, layout: Sequence[tuple[str, str]]) -> None:
        """The x positions: ``(layer name, stage name)`` in network order. Draws the stage bands."""
        layout = tuple(layout)
        if layout == self._layout:
            return
        self._layout = layout
        for band in self._bands:
            self.removeItem(band)
        self._bands = []
        ticks = []
        spans = _stage_spans(layout)
        for i, (stage, first, last) in enumerate(spans):
            band = pg.LinearRegionItem((first - 0.5, last + 0.5), movable=False, pen=pg.mkPen(None))
            band.setZValue(-10)
            band.setAcceptHoverEvents(False)
            band.stage = stage
            self._bands.append(band)
            self.addItem(band)
            ticks.append(((first + last) / 2, TICK_NAMES.get(stage, stage)))
        self._axis.set_stages(ticks)
        # Room for the "stem" and "fc" tick labels; autorange and panning stay within the layers.
        self.getPlotItem().vb.setLimits(xMin=-2, xMax=len(layout) + 1)
        self.setXRange(-2, len(layout) + 1, padding=0)
        self.apply_palette()

    def show_curves(self, curves: Sequence[Curve], quantity: str, norm: str | None = None) -> list[Skipped]:
        """Replace the curves; return the points left out because a log axis cannot draw them."""
        for curve in self._curves:
            self.removeItem(curve)
        self._curves = []
        self._shown = tuple(curves)
        self._quantity = quantity
        self._legend_entries = list(curves)
        self._show_legend()
        self.getPlotItem().setLabel("left", quantity_label(quantity, norm))
        skipped: list[Skipped] = []
        count = len(self._layout)
        for curve in curves:
            indices: list[int] = []
            ys: list[float] = []
            tips: list[str] = []
            names = curve.layers or tuple(f"{name} ({stage})" for name, stage in self._layout)
            for i, (name, value) in enumerate(zip(names, curve.values)):
                if drawable(value):
                    indices.append(i)
                    ys.append(value)
                    tips.append(f"{name}\n{curve.title}\n{value:.3e}")
                else:
                    skipped.append(Skipped(curve.shortcuts, name.split(" (")[0], value))
            # The line joins neighbours only: a left-out point leaves a visible gap.
            connect = np.append(np.diff(np.asarray(indices)) == 1, False) if indices else "all"
            colour = CURVE_COLOURS[curve.shortcuts]
            item = pg.PlotDataItem(
                np.asarray([curve.x(i, count) for i in indices], dtype=float),
                np.asarray(ys, dtype=float),
                connect=connect,
                name=curve.title,
                pen=pg.mkPen(colour, width=2, style=DEPTH_PENS[curve.dash % len(DEPTH_PENS)]),
                symbol=curve.symbol,
                symbolSize=7,
                symbolBrush=colour,
                symbolPen=pg.mkPen(colour),
                data=tips,
            )
            item.scatter.opts["hoverable"] = True
            item.scatter.opts["tip"] = lambda x, y, data: data
            self._curves.append(item)
            self.addItem(item)
        return skipped

    def curve_points(self) -> list[tuple[str, int]]:
        """(legend name, number of drawn points) of each curve: what the user sees."""
        out = []
        for item in self._curves:
            _, y = item.getOriginalDataset()
            out.append((item.name(), 0 if y is None else len(y)))
        return out

    def hover_text(self, index: int) -> str:
        """What the hover readout says for x position ``index``."""
        if not 0 <= index < len(self._layout):
            return ""
        name, stage = self._layout[index]
        parts = [f"{name} ({stage})"]
        for curve in self._shown:
            nearest = curve.nearest(index, len(self._layout))
            value = None if nearest is None else curve.values[nearest]
            shown = f"{value:.3e}" if drawable(value) else f"{value} (not drawable on a log axis)"
            # A curve of another depth names its own layer there, as its tooltip does.
            own = f" at {curve.layers[nearest].split(' (')[0]}" if curve.layers and nearest is not None else ""
            parts.append(f"{curve.title}{own}: {shown}")
        return ";  ".join(parts)

    def _on_scene_mouse_moved(self, pos: QPointF) -> None:
        item = self.getPlotItem()
        if not item.sceneBoundingRect().contains(pos):
            self.layer_hovered.emit("")
            return
        x = item.vb.mapSceneToView(pos).x()
        self.layer_hovered.emit(self.hover_text(round(x)))

    # -- palette ------------------------------------------------------------------------------------

    def apply_palette(self) -> None:
        _, text = self.palette_colours()
        colour_axes((self.getPlotItem().getAxis(name) for name in ("left", "bottom")), text)
        self._show_legend()
        shade = _with_alpha(text, 18)
        for i, band in enumerate(self._bands):
            band.setBrush(pg.mkBrush(shade if i % 2 == 0 else _with_alpha(text, 0)))

    def _show_legend(self) -> None:
        text = self.palette().color(QPalette.ColorRole.Text).name()
        parts = [f'<span style="color:{CURVE_COLOURS[c.shortcuts]}">{c.mark}</span>&nbsp;{c.title}' for c in self._legend_entries]
        # Two entries a line: a depth comparison's six did not fit one line and were cut ("plai...").
        lines = ["&nbsp;&nbsp;&nbsp;".join(parts[i : i + 2]) for i in range(0, len(parts), 2)]
        self.getPlotItem().setTitle("<br>".join(lines) or "Run the lab to see the curves", color=text, size=f"{self.font().pointSizeF():g}pt")


def _with_alpha(colour: QColor, alpha: int) -> QColor:
    c = QColor(colour)
    c.setAlpha(alpha)
    return c


def _stage_spans(layout: Sequence[tuple[str, str]]) -> list[tuple[str, int, int]]:
    """Consecutive runs of one stage: (stage, first index, last index)."""
    spans: list[tuple[str, int, int]] = []
    for i, (_, stage) in enumerate(layout):
        if spans and spans[-1][0] == stage:
            spans[-1] = (stage, spans[-1][1], i)
        else:
            spans.append((stage, i, i))
    return spans


