"""The plots' axes (ui/common/axes.py): kept as pixmaps between changes, drawn anew when they change
and in an export."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest

from explorer.ui.common.axes import CachedAxis, TidyAxis
from explorer.ui.common.export import write_plot


@pytest.fixture
def plot(qtbot):
    view = pg.PlotWidget(axisItems={"left": TidyAxis("left"), "bottom": CachedAxis("bottom")})
    view.plot(np.arange(10.0), np.arange(10.0) ** 2)
    view.resize(400, 300)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    return view


@pytest.fixture
def axis_paints(monkeypatch):
    """Each axis paint, by orientation: what it costs (pyqtgraph replays its picture of the labels)."""
    paints: list[str] = []

    def counted(self, p, opt, widget):  # noqa: ANN001
        paints.append(self.orientation)
        pg.AxisItem.paint(self, p, opt, widget)

    monkeypatch.setattr(CachedAxis, "paint", counted, raising=False)
    return paints


def test_an_unchanged_axis_is_not_painted_again_with_its_plot(plot, axis_paints):
    plot.viewport().repaint()
    axis_paints.clear()
    for _ in range(3):
        plot.viewport().repaint()  # a curve moved, say: the plot repaints, its axes did not change
    assert axis_paints == []
    plot.setYRange(0, 500)  # a new range: new labels, painted once
    plot.viewport().repaint()
    plot.viewport().repaint()
    assert axis_paints == ["left"]


def test_an_svg_export_has_the_axes_as_text_and_the_pixmaps_are_kept_after(plot, tmp_path):
    write_plot(tmp_path / "plot.svg", plot, plot.getPlotItem(), "title", "description")
    svg = (tmp_path / "plot.svg").read_text()
    assert "<image" not in svg  # a pixmap of an axis would be a picture of its labels
    assert svg.count("<text") >= 8  # the tick labels of both axes (0 ... 80 and 0 ... 8)
    assert all(a.cacheMode() == a.CacheMode.DeviceCoordinateCache for a in (plot.getAxis("left"), plot.getAxis("bottom")))


def test_an_axis_keeps_its_width_when_its_labels_narrow(qtbot, plot, axis_paints):
    """A narrower label made pyqtgraph narrow the axis, which laid the plots out again and painted
    every axis twice more (a race's start: three rounds of all six axes)."""
    left = plot.getAxis("left")
    left.enableAutoSIPrefix(False)
    plot.setYRange(0, 800_000, padding=0)
    qtbot.wait(50)  # painted, and laid out again for the labels' width
    wide = left.width()
    plot.setYRange(0, 1, padding=0)
    axis_paints.clear()
    qtbot.wait(50)
    assert left.width() == wide and axis_paints == ["left"]  # painted once, for the new labels
