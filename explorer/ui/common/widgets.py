"""Small widgets the feature panels share: a note banner that follows light and dark palettes,
wrapping labels, labels that elide a long text (with the whole of it as their tooltip), a progress
bar painted with the rest of the window, labelled buddies, choice boxes, spin boxes and rows, and a scroll area that keeps a panel's content from
setting the dock's (and so the window's) minimum size.

UI layer (Qt widgets only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import QEvent, QSignalBlocker, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QComboBox, QFrame, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QProgressBar, QScrollArea, QSizePolicy, QSpinBox, QVBoxLayout, QWidget

# The note colours: amber on light themes, a deep amber on dark ones (text contrast above 7:1 on both).
LIGHT_BANNER = ("#fff1c2", "#3b2f00")
DARK_BANNER = ("#5c4700", "#fff3cf")


class Banner(QLabel):
    """A highlighted one-paragraph note ("untrained weights", "drop an image first"), hidden while
    its text is empty. Picks its colours from the palette's lightness, so a dark theme gets a dark
    banner instead of a light-yellow patch."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)
        self.setAutoFillBackground(True)
        self.setMargin(6)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self._restyle()

    def set_note(self, text: str) -> None:
        self.setText(text)
        self.setVisible(bool(text))

    def colours(self) -> tuple[QColor, QColor]:
        """(background, text) for the current palette."""
        dark = self.palette().color(QPalette.ColorRole.Window).lightness() < 128
        back, text = DARK_BANNER if dark else LIGHT_BANNER
        return QColor(back), QColor(text)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange) and not getattr(self, "_styling", False):
            self._restyle()
        super().changeEvent(event)

    def _restyle(self) -> None:
        self._styling = True  # setPalette itself sends a PaletteChange
        try:
            back, text = self.colours()
            pal = self.palette()
            pal.setColor(QPalette.ColorRole.Window, back)
            pal.setColor(QPalette.ColorRole.WindowText, text)
            self.setPalette(pal)
        finally:
            self._styling = False


class ElidedLabel(QLabel):
    """One line that shortens itself with "…" to the room it gets, instead of demanding the width of
    its whole text (a long class name clipped the probability bars); the tooltip has the whole text."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 6)

    def setText(self, text: str) -> None:  # noqa: N802
        super().setText(text)
        self.setToolTip(text)

    def shown_text(self) -> str:
        """The text as painted now (elided to the label's width)."""
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, self.contentsRect().width())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(self.contentsRect(), int(self.alignment() | Qt.AlignmentFlag.AlignVCenter), self.shown_text())


class ProgressBar(QProgressBar):
    """A progress bar whose new value is painted with the rest of the window. ``QProgressBar.setValue``
    repaints at once, and a repaint paints whatever else of the window waits to be painted, inside the
    call: a race's first progress painted its three plots and the diagram there (55 ms of the GUI
    thread), and each classification's five bars did so one after the other."""

    def setValue(self, value: int) -> None:  # noqa: N802 - Qt's name, so every caller gets this
        self.setUpdatesEnabled(False)  # the repaint inside setValue does nothing
        super().setValue(value)
        self.setUpdatesEnabled(True)  # and this asks for a paint, as update() does


def wrapping_label(text: str = "", selectable: bool = True) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def bold(label: QLabel, scale: float = 1.0) -> QLabel:
    font = label.font()
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * scale)
    label.setFont(font)
    return label


def buddy(text: str, widget: QWidget) -> QLabel:
    """A label whose Alt+letter mnemonic focuses ``widget``."""
    label = QLabel(text)
    label.setBuddy(widget)
    return label


def choice_box(values: Sequence[str], labels: Mapping[str, str] | None = None) -> QComboBox:
    """A combo box whose items show ``labels[value]`` (or the value) and carry the value as data."""
    box = QComboBox()
    for value in values:
        box.addItem((labels or {}).get(value, value), value)
    return box


def spin(low: int, high: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    return box


def show_settings(
    values: object, names: set[str], boxes: Mapping[str, QComboBox], spins: Mapping[str, QSpinBox] | None = None
) -> None:
    """Show the settings ``names`` of ``values`` in their combo and spin boxes, signals blocked so
    that nothing echoes back into the model."""
    for name, box in boxes.items():
        if name in names:
            with QSignalBlocker(box):
                box.setCurrentIndex(box.findData(getattr(values, name)))
    for name, number in (spins or {}).items():
        if name in names:
            with QSignalBlocker(number):
                number.setValue(getattr(values, name))


def settings_group(
    title: str, rows: Sequence[Sequence[tuple[str, QWidget]]], last: QWidget, owner: QWidget
) -> None:
    """``owner``'s knobs in a titled box: a grid of rows of one or two labelled widgets (one alone
    takes the row's width), then ``last`` across the bottom."""
    grid = QGridLayout()
    for r, pairs in enumerate(rows):
        for i, (text, widget) in enumerate(pairs):
            grid.addWidget(QLabel(text), r, 2 * i)
            grid.addWidget(widget, r, 2 * i + 1, 1, 1 if len(pairs) > 1 else 3)
    grid.addWidget(last, len(rows), 0, 1, 4)
    grid.setColumnStretch(1, 1)
    grid.setColumnStretch(3, 1)
    knobs = QGroupBox(title)
    knobs.setLayout(grid)
    column = QVBoxLayout(owner)
    column.setContentsMargins(0, 0, 0, 0)
    column.addWidget(knobs)


def row(*widgets: QWidget, stretch_last: bool = False) -> QWidget:
    """Widgets side by side without margins."""
    holder = QWidget()
    layout = QHBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    for i, widget in enumerate(widgets):
        layout.addWidget(widget, 1 if stretch_last and i == len(widgets) - 1 else 0)
    return holder


def scrolling(content: QWidget, horizontal: bool = False) -> QScrollArea:
    """``content`` in a frameless scroll area: when its dock is small it scrolls instead of
    demanding room, so no panel's minimum size can grow the window or push its neighbours over."""
    area = QScrollArea()
    area.setWidget(content)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    if not horizontal:
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return area
