"""The diagram's non-selectable items: a stage's tinted background with its title, the edges between
blocks labelled with the shape of the tensor they carry, and the colour bar of a metric overlay.

UI layer (Qt graphics items). Secondary text (edge shapes) is left out when it would be too small to
read at the current zoom.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QLinearGradient, QPainter, QPalette, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from explorer.ui.common.overlay import BlockOverlay
from explorer.ui.diagram.painting import font, label_font, mix, overlay_colour, palette, polyline, shows_detail

COLOUR_BAR_W = 240.0
COLOUR_BAR_H = 14.0


class StageItem(QGraphicsItem):
    """A stage's tinted background with its title; sits behind its blocks."""

    def __init__(self, title: str, hue: QColor) -> None:
        super().__init__()
        self.title = title
        self.hue = hue
        self.rect = QRectF()
        self.setZValue(-10)

    def set_rect(self, rect: QRectF) -> None:
        self.prepareGeometryChange()
        self.rect = rect

    def boundingRect(self) -> QRectF:  # noqa: N802
        return self.rect.adjusted(-2, -2, 2, 2)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        pal = palette()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(QBrush(mix(pal.color(QPalette.ColorRole.Window), self.hue, 0.1)))
        painter.setPen(QPen(self.hue, 1.0))
        painter.drawRoundedRect(self.rect, 10, 10)
        painter.setPen(pal.color(QPalette.ColorRole.Text))
        painter.setFont(font(1.0, bold=True))
        flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextSingleLine
        painter.drawText(self.rect.adjusted(10, 4, -10, 0), flags, self.title)


class EdgeItem(QGraphicsItem):
    """The connection from one block's output to the next block's input, labelled with the shape
    of the tensor it carries (channels over height×width)."""

    def __init__(self) -> None:
        super().__init__()
        self.points: list[QPointF] = []
        self.label = ""
        self.label_pos = QPointF()
        self.setZValue(-5)

    def set_route(self, points: list[QPointF], label: str, label_pos: QPointF) -> None:
        self.prepareGeometryChange()
        self.points, self.label, self.label_pos = points, label, label_pos

    def _label_rect(self) -> QRectF:
        fm = QFontMetricsF(label_font())
        lines = self.label.split("\n") if self.label else []
        width = max((fm.horizontalAdvance(s) for s in lines), default=0.0) + 4
        return QRectF(self.label_pos.x() - width / 2, self.label_pos.y(), width, fm.height() * len(lines))

    def boundingRect(self) -> QRectF:  # noqa: N802
        rect = QRectF()
        for p in self.points:
            rect = rect.united(QRectF(p.x() - 6, p.y() - 6, 12, 12))
        return rect.united(self._label_rect())

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if len(self.points) < 2:
            return
        pal = palette()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(pal.color(QPalette.ColorRole.Text), 1.2))
        polyline(painter, self.points)
        f = label_font()
        if self.label and shows_detail(painter, f):
            painter.setFont(f)
            painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self._label_rect(), Qt.AlignmentFlag.AlignHCenter, self.label)


class ColourBarItem(QGraphicsItem):
    """The colour bar of a metric overlay: the colour map from low to high with both ends' values
    and the metric's name; hidden while no overlay is shown."""

    def __init__(self) -> None:
        super().__init__()
        self.label = ""
        self.low = self.high = 0.0
        self.log_scale = False
        self.setVisible(False)

    def set_overlay(self, overlay: BlockOverlay | None) -> None:
        self.prepareGeometryChange()
        self.setVisible(overlay is not None and bool(overlay.fractions()))
        if overlay is not None:
            self.label, self.log_scale = overlay.label, overlay.log_scale
            self.low, self.high = overlay.bounds()
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802
        fm = QFontMetricsF(font(1.0))
        width = max(COLOUR_BAR_W, fm.horizontalAdvance(self.label)) + 8
        return QRectF(-4, -4, width, COLOUR_BAR_H + 2 * fm.height() + 12)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        pal = palette()
        f = font(1.0)
        fm = QFontMetricsF(f)
        painter.setFont(f)
        painter.setPen(pal.color(QPalette.ColorRole.Text))
        painter.drawText(QRectF(0, 0, self.boundingRect().width(), fm.height()), Qt.AlignmentFlag.AlignLeft, self.label)
        bar = QRectF(0, fm.height() + 2, COLOUR_BAR_W, COLOUR_BAR_H)
        gradient = QLinearGradient(bar.topLeft(), bar.topRight())
        for i in range(11):
            gradient.setColorAt(i / 10, overlay_colour(i / 10))
        painter.setBrush(QBrush(gradient))
        painter.setPen(QPen(pal.color(QPalette.ColorRole.Text), 0.8))
        painter.drawRect(bar)
        below = QRectF(0, bar.bottom() + 2, COLOUR_BAR_W, fm.height())
        painter.drawText(below, Qt.AlignmentFlag.AlignLeft, f"{self.low:.3g}")
        if self.log_scale:
            painter.drawText(below, Qt.AlignmentFlag.AlignHCenter, "log scale")
        painter.drawText(below, Qt.AlignmentFlag.AlignRight, f"{self.high:.3g}")
