"""Graphics items of the block diagram: one item per block (stem, bottlenecks, head), one per layer of
an expanded block, stage backgrounds, the edges that carry output shapes, and the colour bar of a
metric overlay (``BlockOverlay``: a value per block, coloured with viridis).

UI layer (Qt, and pyqtgraph's colour maps). Items render the state the view gives them and emit ``clicked``,
``double_clicked`` and ``context_menu_requested``; they decide nothing (the view does).
Colours come from the palette so the diagram follows light and dark themes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QLinearGradient, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsItem,
    QGraphicsObject,
    QGraphicsSceneContextMenuEvent,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

# Geometry in scene units (scaled as a whole by zoom and by QT_SCALE_FACTOR).
BODY_W = 112.0
BODY_H = 64.0
PORT_Y = BODY_H / 2  # where edges enter and leave a block, relative to its top
ADD_R = 7.0  # radius of the addition node
ADD_X = BODY_W + 16.0  # centre of the addition node of a collapsed bottleneck
ARC_H = 40.0  # room above a bottleneck for its shortcut arc
ARC_IN = -16.0  # the arc leaves the incoming edge this far left of the block
LAYER_W = 150.0
LAYER_H = 20.0
LAYER_GAP = 5.0
HEADER_H = 24.0
FIRST_LAYER_Y = PORT_Y + 14  # below the input line, which splits into main path and shortcut

# One hue per stage, then the head; mixed with palette colours at paint time.
STAGE_HUES = ("#7a8aa0", "#3d7bd9", "#2e9e5b", "#e08a1e", "#9b59b6", "#c0392b")
# Metric overlays: perceptually uniform and readable in grey (Smith & van der Walt, matplotlib 2015).
OVERLAY_COLORMAP = "viridis"
COLOUR_BAR_W = 240.0
COLOUR_BAR_H = 14.0


@dataclass(frozen=True)
class BlockOverlay:
    """A metric per block to colour the diagram by: ``values`` by block name ("stem", "layer1.0",
    ..., "head"; blocks without a value keep their stage colour), the colour bar's ``label``, and
    whether the colours follow log10 of the values (for metrics spanning decades)."""

    values: dict[str, float]
    label: str
    log_scale: bool = False

    def fractions(self) -> dict[str, float]:
        """Each value's position on the colour scale, 0 (lowest) to 1 (highest); monotonic in the value.
        Non-positive values on a log scale have no position and are left out."""
        scaled = {
            name: (math.log10(v) if self.log_scale else v)
            for name, v in self.values.items()
            if math.isfinite(v) and (v > 0 or not self.log_scale)
        }
        if not scaled:
            return {}
        low, high = min(scaled.values()), max(scaled.values())
        span = high - low
        return {name: (v - low) / span if span > 0 else 0.5 for name, v in scaled.items()}

    def bounds(self) -> tuple[float, float]:
        """The lowest and highest value that has a colour."""
        shown = [self.values[name] for name in self.fractions()]
        return (min(shown), max(shown)) if shown else (0.0, 0.0)


def overlay_colour(fraction: float) -> QColor:
    return pg.colormap.get(OVERLAY_COLORMAP).mapToQColor(min(1.0, max(0.0, fraction)))


def readable_text(fill: QColor) -> QColor:
    """Black or white, whichever reads better on ``fill`` (relative luminance, ITU-R BT.709)."""
    luminance = 0.2126 * fill.redF() + 0.7152 * fill.greenF() + 0.0722 * fill.blueF()
    return QColor("black") if luminance > 0.45 else QColor("white")


def mix(a: QColor, b: QColor, t: float) -> QColor:
    """Linear blend from ``a`` (t=0) to ``b`` (t=1)."""
    return QColor.fromRgbF(
        a.redF() + (b.redF() - a.redF()) * t,
        a.greenF() + (b.greenF() - a.greenF()) * t,
        a.blueF() + (b.blueF() - a.blueF()) * t,
    )


def palette() -> QPalette:
    return QApplication.palette()


def small_font(scale: float = 0.85, bold: bool = False) -> QFont:
    font = QFont(QApplication.font())
    font.setPointSizeF(max(6.0, font.pointSizeF() * scale))
    font.setBold(bold)
    return font


def shape_text(shape: list[int] | tuple[int, ...]) -> str:
    return "×".join(str(d) for d in shape)


@dataclass(frozen=True)
class LayerView:
    """What a layer box shows: derived from a LayerSummary by the view."""

    name: str  # module path, "layer2.0.conv2", or "<block>.add" for the addition node
    text: str  # "3×3 conv /2, 128"
    tooltip: str
    shortcut: bool = False


class SelectableItem(QGraphicsObject):
    """Base of everything the user can select: a name, a selected flag and click signals."""

    clicked = Signal(str)
    double_clicked = Signal(str)
    context_menu_requested = Signal(str, QPoint)

    def __init__(self, name: str, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.selected = False
        self.hovered = False
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def set_selected(self, selected: bool) -> None:
        if selected != self.selected:
            self.selected = selected
            self.update()

    def hoverEnterEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self.hovered = True
        self.update()

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802
        self.hovered = False
        self.update()

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self.name)
            event.accept()
        else:
            event.ignore()

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self.double_clicked.emit(self.name)
            event.accept()

    def contextMenuEvent(self, event: QGraphicsSceneContextMenuEvent) -> None:  # noqa: N802
        self.context_menu_requested.emit(self.name, event.screenPos())
        event.accept()

    def outline_pen(self, colour: QColor) -> QPen:
        pal = palette()
        if self.selected:
            return QPen(pal.color(QPalette.ColorRole.Highlight), 3.0)
        return QPen(colour.darker(115) if self.hovered else colour, 1.6 if self.hovered else 1.2)


class LayerItem(SelectableItem):
    """One layer of an expanded block (conv, BN, ReLU, pool, fc) or its addition node."""

    def __init__(self, view: LayerView, hue: QColor, parent: QGraphicsItem) -> None:
        super().__init__(view.name, parent)
        self.view = view
        self.hue = hue
        self.greyed = False
        self.setToolTip(view.tooltip)

    def boundingRect(self) -> QRectF:  # noqa: N802
        return QRectF(-2, -2, LAYER_W + 4, LAYER_H + 4)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        pal = palette()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        fill = mix(pal.color(QPalette.ColorRole.Base), self.hue, 0.12 if self.greyed else 0.3)
        painter.setBrush(QBrush(fill))
        painter.setPen(self.outline_pen(self.hue))
        painter.drawRoundedRect(QRectF(0, 0, LAYER_W, LAYER_H), 4, 4)
        group = QPalette.ColorGroup.Disabled if self.greyed else QPalette.ColorGroup.Active
        painter.setPen(pal.color(group, QPalette.ColorRole.Text))
        painter.setFont(small_font(0.8))
        painter.drawText(QRectF(6, 0, LAYER_W - 12, LAYER_H), Qt.AlignmentFlag.AlignVCenter, self.view.text)


class AddItem(SelectableItem):
    """The addition node F(x) + shortcut(x) of an expanded bottleneck."""

    def __init__(self, name: str, tooltip: str, hue: QColor, parent: QGraphicsItem) -> None:
        super().__init__(name, parent)
        self.hue = hue
        self.setToolTip(tooltip)

    def boundingRect(self) -> QRectF:  # noqa: N802
        r = ADD_R + 3
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        draw_add_node(painter, QPointF(0, 0), self.outline_pen(self.hue))


def draw_add_node(painter: QPainter, centre: QPointF, pen: QPen) -> None:
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QBrush(palette().color(QPalette.ColorRole.Base)))
    painter.setPen(pen)
    painter.drawEllipse(centre, ADD_R, ADD_R)
    painter.drawLine(QPointF(centre.x() - ADD_R + 3, centre.y()), QPointF(centre.x() + ADD_R - 3, centre.y()))
    painter.drawLine(QPointF(centre.x(), centre.y() - ADD_R + 3), QPointF(centre.x(), centre.y() + ADD_R - 3))


def arrow_head(painter: QPainter, tip: QPointF, direction: QPointF, size: float = 6.0) -> None:
    """A filled arrow head at ``tip`` pointing along the unit vector ``direction``."""
    back = QPointF(tip.x() - direction.x() * size, tip.y() - direction.y() * size)
    normal = QPointF(-direction.y() * size * 0.5, direction.x() * size * 0.5)
    path = QPainterPath(tip)
    path.lineTo(back + normal)
    path.lineTo(back - normal)
    path.closeSubpath()
    painter.fillPath(path, painter.pen().color())


class BlockItem(SelectableItem):
    """A stem, bottleneck or head block. Collapsed: a box, and for a bottleneck its shortcut arc
    (with the projection on it for a convolutional block) into an addition node. Expanded: its
    layers as child ``LayerItem``s, the shortcut path beside the main path, the addition below."""

    def __init__(self, name: str, kind: str, lines: tuple[str, ...], hue: QColor) -> None:
        super().__init__(name)
        self.kind = kind  # "stem" | "conv" | "identity" | "head"
        self.lines = lines  # text in the collapsed box, first line bold
        self.hue = hue
        self.shortcut_on = True
        self.residual_on = True
        self.expanded = False
        self.projection_text = ""  # e.g. "1×1 conv /2": drawn on a convolutional block's arc
        self.overlay: QColor | None = None  # a metric's colour instead of the stage's, or None
        self.layer_items: dict[str, SelectableItem] = {}
        self._main: list[LayerItem] = []
        self._short: list[LayerItem] = []
        self._after: list[LayerItem] = []
        self._add: AddItem | None = None
        self._size = (self._collapsed_width(), BODY_H)

    @property
    def bottleneck(self) -> bool:
        return self.kind in ("conv", "identity")

    def _collapsed_width(self) -> float:
        return ADD_X + ADD_R + 4 if self.bottleneck else BODY_W

    def size(self) -> tuple[float, float]:
        """Width and height of the block's body (ports at x=0 and x=width, y=PORT_Y)."""
        return self._size

    def top_margin(self) -> float:
        """Room needed above the body (the shortcut arc)."""
        return ARC_H if self.bottleneck and not self.expanded else 0.0

    # -- state ----------------------------------------------------------------------------------

    def set_switches(self, shortcut_on: bool, residual_on: bool) -> None:
        self.shortcut_on, self.residual_on = shortcut_on, residual_on
        for item in self._main:
            item.greyed = not residual_on
            item.update()
        for item in self._short:
            item.greyed = not shortcut_on
            item.update()
        self.update()

    def set_overlay(self, colour: QColor | None) -> None:
        self.overlay = colour
        self.update()

    def set_layers(self, main: list[LayerView], shortcut: list[LayerView], after: list[LayerView], add: LayerView | None) -> None:
        """Create the child items shown when expanded (hidden while collapsed)."""
        for item in self.layer_items.values():
            item.setParentItem(None)
            if item.scene() is not None:
                item.scene().removeItem(item)
        self.layer_items.clear()
        self._main = [LayerItem(v, self.hue, self) for v in main]
        self._short = [LayerItem(v, self.hue, self) for v in shortcut]
        self._after = [LayerItem(v, self.hue, self) for v in after]
        self._add = AddItem(add.name, add.tooltip, self.hue, self) if add is not None else None
        for item in [*self._main, *self._short, *self._after, *([self._add] if self._add else [])]:
            self.layer_items[item.name] = item
        self.set_switches(self.shortcut_on, self.residual_on)
        self.set_expanded(self.expanded)

    def layer_names(self) -> list[str]:
        """Selectable children in network order: main path, shortcut path, addition, after it."""
        order = [*self._main, *self._short, *([self._add] if self._add else []), *self._after]
        return [item.name for item in order]

    def set_expanded(self, expanded: bool) -> None:
        self.prepareGeometryChange()
        self.expanded = expanded and bool(self.layer_items)
        for item in self.layer_items.values():
            item.setVisible(self.expanded)
        if not self.expanded:
            self._size = (self._collapsed_width(), BODY_H)
        else:
            self._place_layers()
        self.update()

    def _place_layers(self) -> None:
        step = LAYER_H + LAYER_GAP
        x_main = 12.0
        y = FIRST_LAYER_Y
        for item in self._main:
            item.setPos(x_main, y)
            y += step
        width = x_main + LAYER_W + 12
        if self.bottleneck:
            x_short = x_main + LAYER_W + 24
            # The projection sits level with the middle of the main path, as in the paper's figure.
            y_short = FIRST_LAYER_Y + step * max(0, (len(self._main) - len(self._short)) / 2)
            for item in self._short:
                item.setPos(x_short, y_short)
                y_short += step
            width = x_short + LAYER_W + 12
            if self._add is not None:
                self._add.setPos(x_main + LAYER_W / 2, y + ADD_R + 2)
            y += 2 * ADD_R + 10
        for item in self._after:
            item.setPos(x_main, y)
            y += step
        self._size = (width, y + 6)

    # -- painting -------------------------------------------------------------------------------

    def boundingRect(self) -> QRectF:  # noqa: N802
        w, h = self._size
        top = self.top_margin()
        return QRectF(ARC_IN - 4, -top - 4, w - ARC_IN + 8, h + top + 8)

    def shape(self) -> QPainterPath:
        # Clicks on the arc's empty area fall through to the scene; only the box selects.
        path = QPainterPath()
        w, h = self._size
        path.addRect(QRectF(0, 0, BODY_W if not self.expanded else w, h))
        return path

    def _body_colours(self) -> tuple[QColor, QColor]:
        pal = palette()
        if not self.residual_on:  # lesioned: the residual branch is greyed out
            return pal.color(QPalette.ColorRole.Window), pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        if self.overlay is not None:
            return self.overlay, readable_text(self.overlay)
        return mix(pal.color(QPalette.ColorRole.Base), self.hue, 0.22), pal.color(QPalette.ColorRole.Text)

    def shortcut_pen(self) -> QPen:
        """The pen of the shortcut path: dashed when the shortcut is switched off."""
        pen = QPen(self.hue.darker(110), 1.8)
        if not self.shortcut_on:
            pen.setStyle(Qt.PenStyle.DashLine)
            pen.setColor(palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text))
        return pen

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.expanded:
            self._paint_expanded(painter)
        else:
            self._paint_collapsed(painter)

    def _paint_collapsed(self, painter: QPainter) -> None:
        fill, text = self._body_colours()
        body = QRectF(0, 0, BODY_W, BODY_H)
        painter.setBrush(QBrush(fill))
        pen = self.outline_pen(self.hue)
        if not self.residual_on and not self.selected:
            pen.setStyle(Qt.PenStyle.DotLine)
        painter.setPen(pen)
        painter.drawRoundedRect(body, 6, 6)
        self._paint_lines(painter, body, text)
        if not self.bottleneck:
            return
        edge_pen = QPen(palette().color(QPalette.ColorRole.Text), 1.2)
        painter.setPen(edge_pen)
        painter.drawLine(QPointF(BODY_W, PORT_Y), QPointF(ADD_X - ADD_R, PORT_Y))
        painter.drawLine(QPointF(ADD_X + ADD_R, PORT_Y), QPointF(self._size[0], PORT_Y))
        arc = QPainterPath(QPointF(ARC_IN, PORT_Y))
        arc.cubicTo(QPointF(ARC_IN, -ARC_H * 0.9), QPointF(ADD_X, -ARC_H * 0.9), QPointF(ADD_X, PORT_Y - ADD_R))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(self.shortcut_pen())
        painter.drawPath(arc)
        arrow_head(painter, QPointF(ADD_X, PORT_Y - ADD_R), QPointF(0, 1))
        if self.kind == "conv" and self.projection_text:
            self._paint_projection(painter, arc.pointAtPercent(0.5))
        draw_add_node(painter, QPointF(ADD_X, PORT_Y), edge_pen)

    def _paint_projection(self, painter: QPainter, centre: QPointF) -> None:
        """The 1x1 conv + BN that makes a block convolutional, drawn on its shortcut arc."""
        font = small_font(0.75)
        width = QFontMetricsF(font).horizontalAdvance(self.projection_text) + 10
        box = QRectF(centre.x() - width / 2, centre.y() - 8, width, 16)
        painter.setBrush(QBrush(mix(palette().color(QPalette.ColorRole.Base), self.hue, 0.45)))
        painter.setPen(self.shortcut_pen())
        painter.drawRect(box)
        painter.setFont(font)
        painter.setPen(palette().color(QPalette.ColorRole.Text))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self.projection_text)

    def _paint_lines(self, painter: QPainter, body: QRectF, colour: QColor) -> None:
        painter.setPen(colour)
        y = body.top() + 6
        for index, line in enumerate(self.lines):
            font = small_font(0.95 if index == 0 else 0.8, bold=index == 0)
            height = QFontMetricsF(font).height()
            painter.setFont(font)
            painter.drawText(QRectF(body.left() + 4, y, body.width() - 8, height), Qt.AlignmentFlag.AlignHCenter, line)
            y += height + 1

    def _paint_expanded(self, painter: QPainter) -> None:
        pal = palette()
        w, h = self._size
        _, text = self._body_colours()
        painter.setBrush(QBrush(mix(pal.color(QPalette.ColorRole.Base), self.hue, 0.1)))
        painter.setPen(self.outline_pen(self.hue))
        painter.drawRoundedRect(QRectF(0, 0, w, h), 6, 6)
        if self.overlay is not None:
            painter.fillRect(QRectF(2, 2, w - 4, HEADER_H - 2), self.overlay)
            text = readable_text(self.overlay)
        painter.setPen(text)
        painter.setFont(small_font(0.9, bold=True))
        painter.drawText(QRectF(8, 2, w - 16, HEADER_H), Qt.AlignmentFlag.AlignVCenter, " · ".join(self.lines[:2]))
        edge = QPen(pal.color(QPalette.ColorRole.Text), 1.0)
        painter.setPen(edge)
        if self._main:
            first = self._top(self._main[0])
            self._chain(painter, [QPointF(0, PORT_Y), QPointF(first.x(), PORT_Y), first])
        for a, b in zip(self._main, self._main[1:]):
            self._chain(painter, [self._bottom(a), self._top(b)])
        if self.bottleneck:
            self._paint_expanded_shortcut(painter, edge)
        for a, b in zip(self._after, self._after[1:]):
            self._chain(painter, [self._bottom(a), self._top(b)])
        if self._after:
            last = self._after[-1]
            out = QPointF(last.pos().x() + LAYER_W, last.pos().y() + LAYER_H / 2)
            self._chain(painter, [out, QPointF(w - 4, out.y()), QPointF(w - 4, PORT_Y), QPointF(w, PORT_Y)])
        elif self._main:
            last = self._main[-1]
            out = QPointF(last.pos().x() + LAYER_W, last.pos().y() + LAYER_H / 2)
            self._chain(painter, [out, QPointF(w - 4, out.y()), QPointF(w - 4, PORT_Y), QPointF(w, PORT_Y)])

    def _paint_expanded_shortcut(self, painter: QPainter, edge: QPen) -> None:
        if self._add is None or not self._main:
            return
        add = self._add.pos()
        self._chain(painter, [self._bottom(self._main[-1]), QPointF(add.x(), add.y() - ADD_R)])
        if self._after:
            self._chain(painter, [QPointF(add.x(), add.y() + ADD_R), self._top(self._after[0])])
        x_short = self._main[0].pos().x() + LAYER_W + 24 + LAYER_W / 2
        painter.setPen(self.shortcut_pen())
        start = QPointF(6, PORT_Y)
        points = [start, QPointF(x_short, PORT_Y)]
        if self._short:
            points.append(self._top(self._short[0]))
            self._chain(painter, points, arrow=True)
            for a, b in zip(self._short, self._short[1:]):
                self._chain(painter, [self._bottom(a), self._top(b)])
            points = [self._bottom(self._short[-1])]
        points += [QPointF(x_short, add.y()), QPointF(add.x() + ADD_R, add.y())]
        self._chain(painter, points)
        painter.setPen(edge)

    @staticmethod
    def _top(item: SelectableItem) -> QPointF:
        return QPointF(item.pos().x() + LAYER_W / 2, item.pos().y())

    @staticmethod
    def _bottom(item: SelectableItem) -> QPointF:
        return QPointF(item.pos().x() + LAYER_W / 2, item.pos().y() + LAYER_H)

    @staticmethod
    def _chain(painter: QPainter, points: list[QPointF], arrow: bool = True) -> None:
        if len(points) < 2:
            return
        painter.setBrush(Qt.BrushStyle.NoBrush)
        path = QPainterPath(points[0])
        for p in points[1:]:
            path.lineTo(p)
        painter.drawPath(path)
        if arrow:
            a, b = points[-2], points[-1]
            length = max(1e-6, ((b.x() - a.x()) ** 2 + (b.y() - a.y()) ** 2) ** 0.5)
            arrow_head(painter, b, QPointF((b.x() - a.x()) / length, (b.y() - a.y()) / length), 5.0)


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
        painter.setFont(small_font(0.9, bold=True))
        painter.drawText(self.rect.adjusted(10, 4, -10, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, self.title)


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
        fm = QFontMetricsF(small_font(0.75))
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
        BlockItem._chain(painter, self.points)
        if self.label:
            painter.setFont(small_font(0.75))
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
        fm = QFontMetricsF(small_font(0.8))
        width = max(COLOUR_BAR_W, fm.horizontalAdvance(self.label)) + 8
        return QRectF(-4, -4, width, COLOUR_BAR_H + 2 * fm.height() + 12)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        pal = palette()
        font = small_font(0.8)
        fm = QFontMetricsF(font)
        painter.setFont(font)
        painter.setPen(pal.color(QPalette.ColorRole.Text))
        painter.drawText(QRectF(0, 0, self.boundingRect().width(), fm.height()), Qt.AlignmentFlag.AlignLeft, self.label)
        bar = QRectF(0, fm.height() + 2, COLOUR_BAR_W, COLOUR_BAR_H)
        gradient = QLinearGradient(bar.topLeft(), bar.topRight())
        for i in range(11):
            gradient.setColorAt(i / 10, overlay_colour(i / 10))
        painter.setBrush(QBrush(gradient))
        painter.setPen(QPen(pal.color(QPalette.ColorRole.Text), 0.8))
        painter.drawRect(bar)
        scale = " (log scale)" if self.log_scale else ""
        below = QRectF(0, bar.bottom() + 2, COLOUR_BAR_W, fm.height())
        painter.drawText(below, Qt.AlignmentFlag.AlignLeft, f"{self.low:.3g}")
        painter.drawText(below, Qt.AlignmentFlag.AlignHCenter, scale.strip(" ()"))
        painter.drawText(below, Qt.AlignmentFlag.AlignRight, f"{self.high:.3g}")
