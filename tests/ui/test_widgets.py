"""The shared widgets' behaviour that the panels rely on (ui/common/widgets.py)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QProgressBar

from explorer.ui.common.widgets import ProgressBar


class PaintCounter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.paints = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        self.paints += event.type() == QEvent.Type.Paint
        return False


@pytest.mark.parametrize(("kind", "painted_inside"), [(QProgressBar, True), (ProgressBar, False)])
def test_a_new_progress_is_painted_with_the_rest_of_the_window_not_inside_set_value(qtbot, kind, painted_inside):
    """Qt's bar repaints inside setValue, and with it whatever else of the window waits to be painted
    (a race's first step painted its plots and the diagram there); ours asks for a paint."""
    bar = kind()
    bar.setRange(0, 1000)
    bar.setTextVisible(False)
    bar.resize(300, 24)
    qtbot.addWidget(bar)
    bar.show()
    qtbot.waitExposed(bar)
    counter = PaintCounter()
    bar.installEventFilter(counter)
    qtbot.wait(50)
    counter.paints = 0
    bar.setValue(600)
    assert (counter.paints > 0) is painted_inside
    qtbot.waitUntil(lambda: counter.paints > 0)
    assert bar.value() == 600
