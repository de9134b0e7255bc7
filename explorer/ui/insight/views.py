"""Widgets of the Insight panel that only render plain results: the grid of a block's most active
channels (click one to enlarge), the before/after top-5 table of a lesion and the bar chart of a
lesion sweep.

UI layer (Qt, pyqtgraph, numpy). Nothing here runs a model: the panel hands over ChannelMap lists
and Sweep results computed by ``insight.host`` on a worker thread.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from explorer.core.insight.activations import ChannelMap
from explorer.core.insight.gradcam import colorize
from explorer.core.insight.lesion import Sweep
from explorer.ui.common.axes import CachedAxis
from explorer.ui.common.pixmaps import rgb_pixmap
from explorer.ui.common.plot_palette import FollowsPalette, colour_axes

GRID_COLUMNS = 4
TILE_PX = 72
ENLARGED_PX = 280
CHANNEL_COLORMAP = "inferno"


def channel_rgb(channel: ChannelMap, top: float) -> np.ndarray:
    """A channel map coloured on a scale from 0 to ``top`` (shared by the grid, so tiles compare)."""
    scale = top if top > 0 else 1.0
    return colorize(channel.map / scale, CHANNEL_COLORMAP)


class ActivationGrid(QWidget):
    """The most active channels of a block as tiles, most active first; clicking (or Enter/Space on
    a focused tile) enlarges one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._channels: list[ChannelMap] = []
        self._top = 1.0
        self.tiles: list[QToolButton] = []
        self._tile_box = QWidget()
        self._tile_layout = QGridLayout(self._tile_box)
        self._tile_layout.setSpacing(4)
        self._tile_layout.setContentsMargins(0, 0, 0, 0)
        self.enlarged = QLabel()
        self.enlarged.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.enlarged.setMinimumSize(160, 160)
        self.enlarged.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.enlarged_caption = QLabel()
        self.enlarged_caption.setWordWrap(True)
        self.enlarged_caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        right = QVBoxLayout()
        right.addWidget(self.enlarged, 1)
        right.addWidget(self.enlarged_caption)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._tile_box, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(right, 1)
        self.clear("")

    def set_channels(self, channels: list[ChannelMap]) -> None:
        """Show these channels (most active first) on one colour scale; enlarge the first."""
        self._channels = list(channels)
        self._top = max((float(c.map.max()) for c in channels), default=1.0)
        for tile in self.tiles:
            tile.deleteLater()
        self.tiles = []
        for i, channel in enumerate(self._channels):
            tile = QToolButton()
            tile.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            pixmap = rgb_pixmap(channel_rgb(channel, self._top), TILE_PX)
            tile.setIcon(QIcon(pixmap))
            tile.setIconSize(pixmap.size())
            tile.setText(f"#{channel.channel}\n{channel.mean:.3g}")
            tile.setToolTip(f"channel {channel.channel}: mean activation {channel.mean:.4g}, peak {float(channel.map.max()):.4g}")
            tile.setCheckable(True)
            tile.setAutoExclusive(True)
            tile.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            tile.clicked.connect(lambda _=False, index=i: self.enlarge(index))
            self._tile_layout.addWidget(tile, i // GRID_COLUMNS, i % GRID_COLUMNS)
            self.tiles.append(tile)
        if self._channels:
            self.enlarge(0)

    def clear(self, text: str) -> None:
        self.set_channels([])
        self.enlarged.setPixmap(QPixmap())
        self.enlarged.setText(text)
        self.enlarged_caption.setText("")

    def shown(self) -> list[tuple[int, float]]:
        """(channel, mean) of every tile, in display order."""
        return [(c.channel, c.mean) for c in self._channels]

    def enlarge(self, index: int) -> None:
        channel = self._channels[index]
        self.tiles[index].setChecked(True)
        h, w = channel.map.shape
        self.enlarged.setPixmap(rgb_pixmap(channel_rgb(channel, self._top), ENLARGED_PX))
        self.enlarged_caption.setText(
            f"Channel {channel.channel} ({w}×{h}): mean {channel.mean:.4g}, peak {float(channel.map.max()):.4g}. "
            f"Colour scale 0 (dark) to {self._top:.4g} (bright), shared by the grid."
        )


class TopTable(QTableWidget):
    """Top-5 before and after a lesion: one row per rank, "label  p%" in each column."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(5, 2, parent)
        self.setHorizontalHeaderLabels(["Before", "After the lesion"])
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.horizontalHeader().setStretchLastSection(True)
        self.horizontalHeader().setSectionResizeMode(0, self.horizontalHeader().ResizeMode.Stretch)
        self.verticalHeader().setVisible(True)

    def set_columns(self, before: list[str], after: list[str]) -> None:
        for column, cells in enumerate((before, after)):
            for row in range(self.rowCount()):
                self.setItem(row, column, QTableWidgetItem(cells[row] if row < len(cells) else ""))

    def column(self, index: int) -> list[str]:
        return [self.item(row, index).text() if self.item(row, index) else "" for row in range(self.rowCount())]


class SweepChart(FollowsPalette, pg.PlotWidget):
    """The drop of the unlesioned top-1's probability when each block is lesioned, in percentage
    points: one bar per block, in network order; a skipped block (its other path already off) gets
    no bar. ``heights`` holds the drops as probabilities (0..1), as the core reports them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, enableMenu=False, axisItems={"left": CachedAxis("left"), "bottom": CachedAxis("bottom")})
        self.setMinimumHeight(160)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.showGrid(y=True, alpha=0.3)
        self.getAxis("left").enableAutoSIPrefix(False)
        self.setLabel("left", "top-1 probability drop (points)")
        self.setLabel("bottom", "lesioned block (layerN.i)")
        self._bars: pg.BarGraphItem | None = None
        self.heights: list[float] = []
        self.names: list[str] = []
        self._waiting = False  # showing the caption of no sweep yet
        self.follow_palette()
        self.set_sweep(None)

    def set_sweep(self, sweep: Sweep | None) -> None:
        if sweep is None and self._waiting:
            return  # already so: a new image cleared it again, and the title's relayout took 8 ms of that turn
        if self._bars is not None:
            self.removeItem(self._bars)
            self._bars = None
        self._waiting = sweep is None
        if sweep is None:
            # Before any sweep: no made-up 0..1 ticks on either axis, a caption instead.
            self.heights, self.names = [], []
            self.getAxis("bottom").setTicks([[]])
            self.getAxis("left").setTicks([[]])
            self.setTitle("Press Sweep to lesion each block in turn")
            return
        self.getAxis("left").setTicks(None)
        self.setTitle(None)
        self.names = [row.block for row in sweep.blocks]
        self.heights = [row.drop if row.drop is not None else 0.0 for row in sweep.blocks]
        x = np.arange(len(self.heights))
        points = [100 * h for h in self.heights]
        self._bars = pg.BarGraphItem(x=x, height=points, width=0.7, brush=pg.mkBrush("#3d7bd9"), pen=pg.mkPen(None))
        self.addItem(self._bars)
        # "1.0" for layer1.0: the full names do not fit under 16 bars; the axis label says what they are.
        self.getAxis("bottom").setTicks([[(i, name.removeprefix("layer")) for i, name in enumerate(self.names)]])
        self.setXRange(-0.6, len(x) - 0.4, padding=0)
        low, high = min(0.0, *points), max(0.0, *points)
        self.setYRange(low, high if high > low else low + 0.1)

    def apply_palette(self) -> None:
        _, text = self.palette_colours()
        colour_axes((self.getAxis(name) for name in ("left", "bottom")), text)
