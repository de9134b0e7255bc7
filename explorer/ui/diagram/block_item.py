"""The diagram's selectable items: one per block (stem, residual blocks, head) and, inside an expanded
block, one per layer and its addition node.

UI layer (Qt graphics items). Items render the state the view gives them and emit ``clicked``,
``double_clicked`` and ``context_menu_requested``; they decide nothing (the view does). Colours come
from the palette so the diagram follows light and dark themes; sizes from ``painting``.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsObject,
    QGraphicsSceneContextMenuEvent,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from explorer.ui.diagram.painting import (
    ADD_R,
    ADD_X,
    ARC_H,
    ARC_IN,
    BODY_H,
    BODY_W,
    FIRST_LAYER_Y,
    HEADER_H,
    LAYER_GAP,
    LAYER_H,
    LAYER_W,
    PORT_Y,
    arrow_head,
    detail_font,
    draw_add_node,
    font,
    label_font,
    mix,
    name_font,
    palette,
    polyline,
    readable_text,
    shows_detail,
)


@dataclass(frozen=True)
class LayerView:
    """What a layer box shows: derived from a layer of the summary by the view."""

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
        if self.selected:
            return QPen(palette().color(QPalette.ColorRole.Highlight), 3.0)
        return QPen(colour.darker(115) if self.hovered else colour, 1.6 if self.hovered else 1.2)


class LayerItem(SelectableItem):
    """One layer of an expanded block (conv, BN, ReLU, pool, fc)."""

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
        painter.setBrush(QBrush(mix(pal.color(QPalette.ColorRole.Base), self.hue, 0.12 if self.greyed else 0.3)))
        painter.setPen(self.outline_pen(self.hue))
        painter.drawRoundedRect(QRectF(0, 0, LAYER_W, LAYER_H), 4, 4)
        group = QPalette.ColorGroup.Disabled if self.greyed else QPalette.ColorGroup.Active
        painter.setPen(pal.color(group, QPalette.ColorRole.Text))
        painter.setFont(label_font())
        painter.drawText(QRectF(6, 0, LAYER_W - 12, LAYER_H), Qt.AlignmentFlag.AlignVCenter, self.view.text)


class AddItem(SelectableItem):
    """The addition node F(x) + shortcut(x) of an expanded residual block."""

    def __init__(self, name: str, tooltip: str, hue: QColor, parent: QGraphicsItem) -> None:
        super().__init__(name, parent)
        self.hue = hue
        self.setToolTip(tooltip)

    def boundingRect(self) -> QRectF:  # noqa: N802
        r = ADD_R + 3
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        draw_add_node(painter, QPointF(0, 0), self.outline_pen(self.hue))


class BlockItem(SelectableItem):
    """A stem, residual or head block. Collapsed: a box, and for a residual block its shortcut arc
    (with the projection on it for a convolutional block) into an addition node. Expanded: its
    layers as child ``LayerItem``s, the shortcut path beside the main path, the addition below."""

    def __init__(self, name: str, kind: str, lines: tuple[str, ...], hue: QColor) -> None:
        super().__init__(name)
        self.kind = kind  # "stem" | "conv" | "identity" | "head" | "fold"
        self.description = kind  # the tooltip's words, e.g. "identity block of two 3×3 convolutions"
        self.lines = lines  # text in the collapsed box, the first (the name) bold and largest
        self.hue = hue
        self.shortcut_on = True
        self.residual_on = True
        self.expanded = False
        self.projection_text = ""  # e.g. "1×1 conv /2": drawn on a convolutional block's arc
        self.overlay: QColor | None = None  # a metric's colour instead of the stage's, or None
        self._views: tuple[list[LayerView], list[LayerView], list[LayerView], LayerView | None] = ([], [], [], None)
        self.layer_items: dict[str, SelectableItem] = {}  # made on first need (see set_layers)
        self._main: list[LayerItem] = []
        self._short: list[LayerItem] = []
        self._after: list[LayerItem] = []
        self._add: AddItem | None = None
        self._layer_names: list[str] = []
        self._size = (self._collapsed_width(), BODY_H)

    @property
    def residual(self) -> bool:
        """True for a block with a shortcut and a residual branch (not the stem or the head)."""
        return self.kind in ("conv", "identity")

    def _collapsed_width(self) -> float:
        return ADD_X + ADD_R + 4 if self.residual else BODY_W

    def size(self) -> tuple[float, float]:
        """Width and height of the block's body (ports at x=0 and x=width, y=PORT_Y)."""
        return self._size

    def top_margin(self) -> float:
        """Room needed above the body (the shortcut arc)."""
        return ARC_H if self.residual and not self.expanded else 0.0

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
        """Take the layers shown when expanded. Their items are made when first needed (expanded,
        selected, found): ResNet-152 has 500 layers, and making them all with the summary held the
        window 20-30 ms."""
        for item in self.layer_items.values():
            item.setParentItem(None)
            if item.scene() is not None:
                item.scene().removeItem(item)
        self.layer_items.clear()
        self._main, self._short, self._after, self._add = [], [], [], None
        self._views = (main, shortcut, after, add)
        self._layer_names = [v.name for v in (*main, *shortcut, *([add] if add else []), *after)]
        self.set_expanded(self.expanded)

    def layer_names(self) -> list[str]:
        """Selectable children in network order: main path, shortcut path, addition, after it."""
        return list(self._layer_names)

    def has_layer(self, name: str) -> bool:
        return name in self._layer_names

    def layer_item(self, name: str) -> SelectableItem:
        """The item of one of the block's layers (made now if not yet); KeyError for another name."""
        self._make_layer_items()
        return self.layer_items[name]

    def _make_layer_items(self) -> None:
        if self.layer_items or not self._layer_names:
            return
        main, shortcut, after, add = self._views
        self._main = [LayerItem(v, self.hue, self) for v in main]
        self._short = [LayerItem(v, self.hue, self) for v in shortcut]
        self._after = [LayerItem(v, self.hue, self) for v in after]
        self._add = AddItem(add.name, add.tooltip, self.hue, self) if add is not None else None
        for item in [*self._main, *self._short, *self._after, *([self._add] if self._add else [])]:
            item.setVisible(self.expanded)
            item.clicked.connect(self.clicked)  # the view hears a layer's clicks from its block
            item.double_clicked.connect(self.double_clicked)
            item.context_menu_requested.connect(self.context_menu_requested)
            self.layer_items[item.name] = item
        self.set_switches(self.shortcut_on, self.residual_on)

    def set_expanded(self, expanded: bool) -> None:
        self.prepareGeometryChange()
        self.expanded = expanded and bool(self._layer_names)
        if self.expanded:
            self._make_layer_items()
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
        if self.residual:
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
        if not self.residual_on:  # residual branch off: greyed out
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
        if not self.residual:
            return
        edge_pen = QPen(palette().color(QPalette.ColorRole.Text), 1.2)
        painter.setPen(edge_pen)
        painter.drawLine(QPointF(BODY_W, PORT_Y), QPointF(ADD_X - ADD_R, PORT_Y))
        painter.drawLine(QPointF(ADD_X + ADD_R, PORT_Y), QPointF(self._size[0], PORT_Y))
        arc = QPainterPath(QPointF(ARC_IN, PORT_Y))
        arc.cubicTo(QPointF(ARC_IN, -ARC_H * 0.9), QPointF(ADD_X, -ARC_H * 0.9), QPointF(ADD_X, PORT_Y - ADD_R))
        painter.setBrush(QBrush())
        painter.setPen(self.shortcut_pen())
        painter.drawPath(arc)
        arrow_head(painter, QPointF(ADD_X, PORT_Y - ADD_R), QPointF(0, 1))
        if self.kind == "conv" and self.projection_text:
            self._paint_projection(painter, arc.pointAtPercent(0.5))
        draw_add_node(painter, QPointF(ADD_X, PORT_Y), edge_pen)

    def _paint_projection(self, painter: QPainter, centre: QPointF) -> None:
        """The 1x1 conv + BN that makes a block convolutional, drawn on its shortcut arc."""
        f = font(0.8)
        painter.setBrush(QBrush(mix(palette().color(QPalette.ColorRole.Base), self.hue, 0.45)))
        painter.setPen(self.shortcut_pen())
        if not shows_detail(painter, f):
            # Too small to read: a small square on the arc marks the projection (the tooltip names it)
            # instead of a label box with nothing in it.
            painter.drawRect(QRectF(centre.x() - 4, centre.y() - 4, 8, 8))
            return
        width = QFontMetricsF(f).horizontalAdvance(self.projection_text) + 10
        box = QRectF(centre.x() - width / 2, centre.y() - 8, width, 16)
        painter.drawRect(box)
        painter.setFont(f)
        painter.setPen(palette().color(QPalette.ColorRole.Text))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self.projection_text)

    def _paint_lines(self, painter: QPainter, body: QRectF, colour: QColor) -> None:
        """The name in large bold type; the kind and stride below it when legible at this zoom,
        else the name alone, centred."""
        painter.setPen(colour)
        detail = detail_font()
        lines = [(self.lines[0], name_font())]
        if shows_detail(painter, detail):
            lines += [(line, detail) for line in self.lines[1:]]
        heights = [QFontMetricsF(f).height() for _, f in lines]
        y = body.top() + max(4.0, (body.height() - sum(heights)) / 2)
        for (line, f), height in zip(lines, heights):
            painter.setFont(f)
            painter.drawText(QRectF(body.left() + 2, y, body.width() - 4, height), Qt.AlignmentFlag.AlignHCenter, line)
            y += height

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
        painter.setFont(font(1.0, bold=True))
        painter.drawText(QRectF(8, 2, w - 16, HEADER_H), Qt.AlignmentFlag.AlignVCenter, " · ".join(self.lines[:2]))
        edge = QPen(pal.color(QPalette.ColorRole.Text), 1.0)
        painter.setPen(edge)
        if self._main:
            first = self._top(self._main[0])
            polyline(painter, [QPointF(0, PORT_Y), QPointF(first.x(), PORT_Y), first])
        for a, b in zip(self._main, self._main[1:]):
            polyline(painter, [self._bottom(a), self._top(b)])
        if self.residual:
            self._paint_expanded_shortcut(painter, edge)
        for a, b in zip(self._after, self._after[1:]):
            polyline(painter, [self._bottom(a), self._top(b)])
        last = (self._after or self._main or [None])[-1]
        if last is not None:
            out = QPointF(last.pos().x() + LAYER_W, last.pos().y() + LAYER_H / 2)
            polyline(painter, [out, QPointF(w - 4, out.y()), QPointF(w - 4, PORT_Y), QPointF(w, PORT_Y)])

    def _paint_expanded_shortcut(self, painter: QPainter, edge: QPen) -> None:
        if self._add is None or not self._main:
            return
        add = self._add.pos()
        polyline(painter, [self._bottom(self._main[-1]), QPointF(add.x(), add.y() - ADD_R)])
        if self._after:
            polyline(painter, [QPointF(add.x(), add.y() + ADD_R), self._top(self._after[0])])
        x_short = self._main[0].pos().x() + LAYER_W + 24 + LAYER_W / 2
        painter.setPen(self.shortcut_pen())
        points = [QPointF(6, PORT_Y), QPointF(x_short, PORT_Y)]
        if self._short:
            points.append(self._top(self._short[0]))
            polyline(painter, points)
            for a, b in zip(self._short, self._short[1:]):
                polyline(painter, [self._bottom(a), self._top(b)])
            points = [self._bottom(self._short[-1])]
        points += [QPointF(x_short, add.y()), QPointF(add.x() + ADD_R, add.y())]
        polyline(painter, points)
        painter.setPen(edge)

    @staticmethod
    def _top(item: SelectableItem) -> QPointF:
        return QPointF(item.pos().x() + LAYER_W / 2, item.pos().y())

    @staticmethod
    def _bottom(item: SelectableItem) -> QPointF:
        return QPointF(item.pos().x() + LAYER_W / 2, item.pos().y() + LAYER_H)
