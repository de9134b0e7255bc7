"""The Insight panel's Lesions tab (Veit et al. 2016): the block's residual branch or shortcut removed
on a private copy, the top-5 before and after; a sweep over every block charts the drop of the
top-1 probability in percentage points.

UI layer (Qt widgets). It renders ``Lesion`` and ``Sweep`` results computed by ``insight.host``.
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from explorer.core.insight.lesion import KINDS, Lesion, Sweep
from explorer.core.network.blocks import residual_blocks
from explorer.ui.common.widgets import ProgressBar, buddy, wrapping_label
from explorer.ui.insight.views import SweepChart, TopTable

KIND_TITLES = {"residual": "residual branch (keep the shortcut)", "shortcut": "shortcut (keep the residual branch)"}


class LesionsTab(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind_box = QComboBox()
        for kind in KINDS:
            self.kind_box.addItem(KIND_TITLES[kind], kind)
        self.lesion_label = wrapping_label()
        self.top_table = TopTable()
        self._blocks = residual_blocks()
        self.sweep_button = QPushButton(f"S&weep all {len(self._blocks)} blocks")
        self.sweep_button.setToolTip("Lesion each block in turn and chart how much the top-1 probability drops")
        self.sweep_progress = ProgressBar()
        self.sweep_progress.setRange(0, 1000)
        self.sweep_progress.setTextVisible(False)
        self.sweep_label = wrapping_label()
        self.chart = SweepChart()
        form = QFormLayout()
        form.addRow(buddy("&Remove", self.kind_box), self.kind_box)
        form.addRow(self.lesion_label)
        left = QVBoxLayout()
        left.addLayout(form)
        left.addWidget(self.top_table, 1)
        right = QVBoxLayout()
        buttons = QHBoxLayout()
        buttons.addWidget(self.sweep_button)
        buttons.addWidget(self.sweep_progress, 1)
        right.addLayout(buttons)
        right.addWidget(self.sweep_label)
        right.addWidget(self.chart, 1)
        row = QHBoxLayout(self)
        row.addLayout(left, 2)
        row.addLayout(right, 3)

    def set_blocks(self, blocks: tuple[str, ...]) -> None:
        """The residual blocks of the network the lesions run on."""
        self._blocks = blocks
        self.sweep_button.setText(f"S&weep all {len(blocks)} blocks")

    def want(self) -> tuple:
        return (self.kind_box.currentData(),)

    def show_lesion(self, lesion: Lesion, names: tuple[str, ...]) -> None:
        cells = lambda top: [f"{names[i]}  {p:.1%}" for i, p in top]  # noqa: E731
        self.top_table.set_columns(cells(lesion.before), cells(lesion.after))
        (c, p), after = lesion.before[0], dict(lesion.after)
        q = after.get(c)
        now = f"{q:.1%}" if q is not None else "below the top-5"
        self.lesion_label.setText(
            f"Without the {lesion.kind} of {lesion.block}: “{names[c]}” goes from {p:.1%} to {now}. "
            "Computed on a copy; the classifier is untouched."
        )

    def show_stem(self) -> None:
        self.top_table.set_columns([], [])
        self.lesion_label.setText(f"The stem has no shortcut to keep: choose a block, {self._blocks[0]} … {self._blocks[-1]}.")

    def show_sweep(self, sweep: Sweep, names: tuple[str, ...]) -> None:
        self.chart.set_sweep(sweep)
        self.sweep_progress.setValue(1000)
        rows = [r for r in sweep.blocks if r.drop is not None]
        worst = max(rows, key=lambda r: r.drop) if rows else None
        skipped = [r.block for r in sweep.blocks if r.skipped]
        text = f"Removing each block's {sweep.kind} in turn: drop of “{names[sweep.class_index]}” ({sweep.prob:.1%})."
        if worst is not None:
            text += f" Largest: {worst.block}, {100 * worst.drop:.1f} points."
        if skipped:
            text += f" Skipped: {', '.join(skipped)}."
        self.sweep_label.setText(text)

    def clear(self) -> None:
        self.top_table.set_columns([], [])
        self.lesion_label.setText("")
        self.chart.set_sweep(None)
        self.sweep_label.setText("")
        self.sweep_progress.setValue(0)
