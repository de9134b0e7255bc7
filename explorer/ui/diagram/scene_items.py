"""The diagram's non-selectable items (a stage's tinted background with its title, the edges between
blocks labelled with the shape of the tensor they carry, the colour bar of a metric overlay) and the
fold of a long stage's identity blocks, a stack that unfolds when clicked.

UI layer (Qt graphics items). Secondary text (edge shapes) is left out when it would be too small to
read at the current zoom.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QLinearGradient, QPainter, QPalette, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsSceneMouseEvent, QStyleOptionGraphicsItem, QWidget

from explorer.ui.common.overlay import BlockOverlay
from explorer.ui.common.text import shape_text
from explorer.ui.diagram import layout
from explorer.ui.diagram.block_item import BlockItem
from explorer.ui.diagram.painting import BODY_H, BODY_W, PORT_Y, font, label_font, mix, overlay_colour, palette, polyline, shows_detail
from explorer.ui.diagram.structure import Fold

if TYPE_CHECKING:
    from explorer.core.network.summary import ModelSummary

COLOUR_BAR_W = 240.0
STACK_STEP = 4.0  # the offset of each block drawn behind a fold's front box
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

    def title_width(self) -> float:
        """The width the title needs, margins included (scene units)."""
        return QFontMetricsF(font(1.0, bold=True)).horizontalAdvance(self.title) + 24

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


class FoldItem(BlockItem):
    """Identity blocks of a long stage as one box (``×35``) drawn as a stack; a click unfolds them."""

    def __init__(self, fold: Fold, hue: QColor) -> None:
        super().__init__(fold.name, "fold", fold.lines, hue)
        self.fold = fold
        self.setToolTip(f"{len(fold.blocks)} identity blocks, {fold.blocks[0]} … {fold.blocks[-1]}: click to unfold")

    def boundingRect(self) -> QRectF:  # noqa: N802
        return super().boundingRect().adjusted(0, -2 * STACK_STEP, 2 * STACK_STEP, 0)

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        # Unfolding hides this item: on the press, the release would reach no one (a Qt warning).
        if event.button() == Qt.MouseButton.LeftButton:
            event.accept()
        else:
            event.ignore()

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self.contains(event.pos()):
            self.clicked.emit(self.name)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        fill, _ = self._body_colours()
        painter.setPen(self.outline_pen(self.hue))
        painter.setBrush(QBrush(fill))
        for step in (2, 1):  # the blocks behind the front one
            painter.drawRoundedRect(QRectF(step * STACK_STEP, -step * STACK_STEP, BODY_W, BODY_H), 6, 6)
        super().paint(painter, option, widget)


def route_edges(
    edges: list[EdgeItem], boxes: list[layout.Box], placement: layout.Placement, shapes: dict[str, list[int]],
    summary: ModelSummary | None,
) -> None:
    """Route the image edge, one edge between each pair of drawn boxes (labelled with the shape the
    first one outputs) and the classes edge; edges left over (a fold hides blocks) are hidden."""

    def label(shape: list[int] | None) -> str:
        if not shape:
            return ""
        return str(shape[0]) if len(shape) == 1 else f"{shape[0]}\n{shape_text(shape[1:])}"

    used = edges[: len(boxes) + 1]
    for index, edge in enumerate(edges):
        edge.setVisible(index < len(used))
    gap = layout.EDGE_GAP
    x0, y0 = placement.positions[boxes[0].name]
    image = label([3, *summary.input_size]) if summary else ""
    # The input's edge is as long as its label ("224×224"), which the stem box hid on a 44-unit edge.
    lead = max(gap, QFontMetricsF(label_font()).horizontalAdvance(image.split("\n")[-1]) + 16)
    start = QPointF(x0 - lead, y0 + PORT_Y)
    used[0].set_route([start, QPointF(x0, start.y())], image, QPointF(x0 - lead / 2 - 2, start.y() + 4))
    for edge, a, b in zip(used[1:-1], boxes, boxes[1:]):
        points = [QPointF(*p) for p in layout.route(placement, a, b, PORT_Y)]
        anchor = QPointF((points[0].x() + points[1].x()) / 2, points[0].y() + 4) if len(points) == 2 else QPointF(
            points[0].x() + layout.WRAP_OUT + 22, points[0].y() + 4
        )
        edge.set_route(points, label(shapes.get(a.name)), anchor)
    last = boxes[-1]
    lx, ly = placement.positions[last.name]
    out = QPointF(lx + last.width, ly + PORT_Y)
    classes = f"{summary.num_classes}\nclasses" if summary else ""
    used[-1].set_route([out, QPointF(out.x() + gap, out.y())], classes, QPointF(out.x() + gap / 2, out.y() + 4))
