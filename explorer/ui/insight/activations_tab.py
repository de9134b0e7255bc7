"""The Insight panel's Activations tab: the k most active channels of the chosen block for the
selected image, on one colour scale, click (or Space) to enlarge. UI layer (Qt widgets); it renders
a ``ChannelGrid`` computed by ``insight.host``."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QSpinBox, QVBoxLayout, QWidget

from explorer.ui.common.widgets import buddy, wrapping_label
from explorer.ui.insight.host import ChannelGrid
from explorer.ui.insight.views import ActivationGrid

DEFAULT_CHANNELS = 16


class ActivationsTab(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.channels_spin = QSpinBox()
        self.channels_spin.setRange(1, 64)
        self.channels_spin.setValue(DEFAULT_CHANNELS)
        self.activations_label = wrapping_label()
        self.grid = ActivationGrid()
        row = QHBoxLayout()
        row.addWidget(buddy("&Channels", self.channels_spin))
        row.addWidget(self.channels_spin)
        row.addWidget(self.activations_label, 1)
        column = QVBoxLayout(self)
        column.addLayout(row)
        column.addWidget(self.grid, 1)

    def want(self) -> tuple:
        """This tab's own settings, part of what its view must show."""
        return (self.channels_spin.value(),)

    def show_grid(self, grid: ChannelGrid) -> None:
        self.grid.set_channels(grid.channels)
        c, (h, w) = len(grid.channels), grid.channels[0].map.shape
        self.activations_label.setText(
            f"{grid.block}: the {c} most active channels by mean activation ({w}×{h} each), most active first. "
            "Click a tile (or Tab to it and press Space) to enlarge it."
        )

    def clear(self) -> None:
        self.grid.clear("")
        self.activations_label.setText("")
