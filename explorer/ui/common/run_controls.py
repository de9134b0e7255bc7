"""What the rooms that run something long share (the gradient lab, the race): Run, Cancel and an
Export menu (PNG, SVG, CSV) bound to the room's action table, a progress bar, the message line and
the verdict, first in a side column as wide as its knobs need, so a short dock shows them without
scrolling; and the export actions of such a room, declared once.

UI layer (Qt widgets).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QMenu, QPushButton, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from explorer.ui.common import dialogs
from explorer.ui.common.actions import Actions, ActionSpec
from explorer.ui.common.widgets import ProgressBar, bold, row, scrolling

EXPORTS = {".png": "PNG image…", ".svg": "SVG drawing…", ".csv": "CSV table…"}


def export_specs(room: str) -> tuple[ActionSpec, ...]:
    """The room's export actions: each asks for a file name and writes the shown result; enabled
    once there is one (the owner's ``can_export()``; its ``ask_export(suffix)`` acts)."""
    return tuple(
        ActionSpec(f"{room}.export_{suffix[1:]}", label, lambda owner, s=suffix: owner.ask_export(s), lambda owner: owner.can_export())
        for suffix, label in EXPORTS.items()
    )


def ask_export(parent: QWidget, title: str, stem: str, suffix: str, export: Callable[[str], object]) -> None:
    """Ask for the file (the real dialog; tests answer it) and write it with ``export(path)``."""
    path = dialogs.save_export(parent, title, f"{stem}{suffix}", suffix)
    if path:
        export(path)


class NoteLabel(QLabel):
    """A wrapping line that takes no room while it says nothing: two empty lines under Run made the
    controls taller than a 1280x720 bottom dock gives them at first start."""

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802
        super().setText(text)
        self.setVisible(bool(text))

    def clear(self) -> None:
        self.setText("")

    # Qt's wrapping label asks for the height of its text wrapped at a width of its own guessing (a
    # verdict of 200 characters: 190 px, so the dock scrolled at 1600x1000); it needs the height at
    # the width it has, which the layout asks again whenever that width changes.
    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return self._at_own_width(super().minimumSizeHint())

    def sizeHint(self) -> QSize:  # noqa: N802
        return self._at_own_width(super().sizeHint())

    def _at_own_width(self, hint: QSize) -> QSize:
        return QSize(hint.width(), self.heightForWidth(self.width())) if self.text() and self.width() > 0 else hint

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.updateGeometry()


class RunControls(QWidget):
    """Run, Cancel and Export in a row, then the progress bar, the message line and the verdict. The
    buttons trigger ``{room}.run``, ``{room}.cancel`` and the export actions of ``actions``."""

    def __init__(self, actions: Actions, room: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run_button = QPushButton("Run")
        self.cancel_button = QPushButton("Cancel")
        actions.bind(self.run_button, f"{room}.run")
        actions.bind(self.cancel_button, f"{room}.cancel")
        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_menu = QMenu(self.export_button)
        exports = [actions[spec.id] for spec in export_specs(room)]
        self.export_menu.addActions(exports)
        self.export_button.setMenu(self.export_menu)
        self.export_button.setEnabled(exports[0].isEnabled())
        exports[0].enabledChanged.connect(self.export_button.setEnabled)  # the three share one predicate
        self.progress_bar = ProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setTextVisible(False)
        self.message_label = NoteLabel()
        self.verdict_label = bold(NoteLabel())
        self.verdict_label.setTextFormat(Qt.TextFormat.PlainText)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(row(self.run_button, self.cancel_button, self.export_button))
        for part in (self.progress_bar, self.message_label, self.verdict_label):
            column.addWidget(part)

    def say(self, text: str) -> None:
        self.message_label.setText(text)

    def set_progress(self, fraction: float) -> None:
        self.progress_bar.setValue(round(1000 * fraction))


def side_column(controls: QWidget, parts: list[QWidget], owner: QWidget, max_chars: int) -> QWidget:
    """``controls`` on top, never scrolled away or squeezed, and ``parts`` under them in a scroll
    area, as wide as they need and at most ``max_chars`` average characters wide (it scales with the
    font): the plot beside it gets the rest."""
    inner = QWidget()
    column = QVBoxLayout(inner)
    column.setContentsMargins(0, 0, 0, 0)
    for part in parts:
        column.addWidget(part)
    column.addStretch(1)
    area = scrolling(inner)
    area.setMinimumHeight(2 * owner.fontMetrics().lineSpacing())  # the knobs scroll; Run and the verdict get the height
    side = QWidget()
    outer = QVBoxLayout(side)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(controls)
    outer.addWidget(area, 1)
    needed = max(inner.minimumSizeHint().width() + area.verticalScrollBar().sizeHint().width() + 4, controls.minimumSizeHint().width())
    side.setMinimumWidth(needed)
    side.setMaximumWidth(max(needed, max_chars * owner.fontMetrics().averageCharWidth()))
    return side
