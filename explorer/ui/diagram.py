"""The architecture diagram: ResNet-50's five stages left to right (wrapping to fit the view), stem,
convolutional and identity blocks with their shortcut arcs, pooling and fc, output shapes on the
edges; click to select, expand a block to its layers, switch shortcuts and lesion residual branches;
colour the blocks by a metric (``set_overlay``) with a colour bar.

UI layer. Structure comes from ``RESNET50_STAGES`` at once and shapes and layers from
``explorer.core.summary.summarize()`` when the window hands the (slow) summary over with
``set_summary``; nothing here lists layers by hand. The view only renders and emits intents:
``block_selected``, ``shortcut_toggled``, ``residual_toggled``.
"""

from __future__ import annotations

import itertools

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QKeyEvent, QKeySequence, QPainter, QWheelEvent
from PySide6.QtWidgets import QGraphicsScene, QGraphicsTextItem, QGraphicsView, QMenu, QWidget

from explorer.core.model import RESNET50_STAGES
from explorer.core.summary import BlockSummary, HeadSummary, LayerSummary, ModelSummary
from explorer.ui.diagram_items import (
    PORT_Y,
    STAGE_HUES,
    BlockItem,
    BlockOverlay,
    ColourBarItem,
    EdgeItem,
    LayerView,
    SelectableItem,
    StageItem,
    overlay_colour,
    shape_text,
    small_font,
)

EDGE_GAP = 64.0  # horizontal room between blocks for the edge and its shape label
STAGE_PAD = 14.0
STAGE_TITLE_H = 26.0
ROW_GAP = 56.0
ZOOM_STEP = 1.2
MAX_FIT_SCALE = 1.6  # fitting never blows a small diagram up beyond this


def _stage_blocks() -> list[tuple[str, str, list[tuple[str, str, tuple[str, ...]]]]]:
    """(stage name, title, [(block name, kind, box lines)]) for the stem, the four bottleneck
    stages and the head, derived from RESNET50_STAGES."""
    groups = [("stage1", "stage1 · stem", [("stem", "stem", ("stem", "conv, pool"))])]
    for spec in RESNET50_STAGES:
        title = f"{spec.name} ({spec.module}) · filters {', '.join(map(str, spec.filters))}"
        if spec.stride > 1:
            title += f" · stride {spec.stride} on the 3×3 conv"
        blocks = []
        for index in range(spec.blocks):
            kind = "conv" if index == 0 else "identity"
            lines = (f"{spec.module}.{index}", "conv block" if kind == "conv" else "identity block")
            if kind == "conv" and spec.stride > 1:
                lines += (f"3×3 conv /{spec.stride}",)
            blocks.append((f"{spec.module}.{index}", kind, lines))
        groups.append((spec.name, title, blocks))
    groups.append(("head", "head", [("head", "head", ("head", "avg-pool, fc"))]))
    return groups


def _layer_text(layer: LayerSummary) -> str:
    channels = layer.output_shape[0]
    stride = f" /{layer.conv_stride}" if layer.conv_stride and layer.conv_stride > 1 else ""
    if layer.type == "Conv2d":
        return f"{layer.kernel}×{layer.kernel} conv{stride}, {channels}"
    if layer.type == "MaxPool2d":
        return f"{layer.kernel}×{layer.kernel} max-pool{stride}"
    if layer.type == "AdaptiveAvgPool2d":
        return "global avg-pool"
    if layer.type == "Linear":
        return f"fc, {channels}"
    return {"BatchNorm2d": "BN", "ReLU": "ReLU"}.get(layer.type, layer.type)


def _layer_view(layer: LayerSummary) -> LayerView:
    tooltip = f"{layer.name}\n{layer.type}\noutput {shape_text(layer.output_shape)}"
    return LayerView(layer.name, _layer_text(layer), tooltip, layer.shortcut)


def add_node_name(block: str) -> str:
    """The selectable name of a bottleneck's addition node (not a module: the sum has no layer)."""
    return f"{block}.add"


class BlockDiagram(QGraphicsView):
    """ResNet-50 as clickable blocks. One ``BlockItem`` per block keyed by its state-dict prefix."""

    block_selected = Signal(str)  # "stem", "layer2.0", a layer path "layer2.0.conv2", or "head"
    shortcut_toggled = Signal(str, bool)  # block name, enabled
    residual_toggled = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("ResNet-50 block diagram")
        self._summary: ModelSummary | None = None
        self._selected: str | None = None
        self._auto_fit = True  # until the user zooms, the diagram follows the view's size
        self._rows: tuple[int, ...] = ()
        self._blocks: dict[str, BlockItem] = {}
        self._stages: list[tuple[StageItem, list[BlockItem]]] = []
        for index, (_stage, title, blocks) in enumerate(_stage_blocks()):
            hue = QColor(STAGE_HUES[min(index, len(STAGE_HUES) - 1)])
            stage_item = StageItem(title, hue)
            self.scene().addItem(stage_item)
            items = []
            for name, kind, lines in blocks:
                item = BlockItem(name, kind, lines, hue)
                self._connect(item)
                item.setToolTip(f"{name}\n{self._kind_text(kind)}")
                self.scene().addItem(item)
                self._blocks[name] = item
                items.append(item)
            self._stages.append((stage_item, items))
        order = list(self._blocks.values())
        self._edges = [EdgeItem() for _ in range(len(order) + 1)]  # image -> stem ... head -> classes
        for edge in self._edges:
            self.scene().addItem(edge)
        self._note = QGraphicsTextItem()
        self._note.setTextWidth(760)
        self._note.setFont(small_font(0.85))
        self._note.setPlainText(
            "ResNet V1.5 (as torchvision): each stage's stride sits on the 3×3 conv of its convolutional "
            "block, and on its 1×1 projection shortcut, not on the first 1×1 conv as in the paper (V1). "
            "Double-click or Enter expands a block; right-click switches its shortcut or lesions its "
            "residual branch (for the gradient lab only, never the classifier)."
        )
        self.scene().addItem(self._note)
        self.colour_bar = ColourBarItem()
        self.scene().addItem(self.colour_bar)
        self._overlay: BlockOverlay | None = None
        self._build_actions()
        self._layout(force=True)

    # -- public API -----------------------------------------------------------------------------

    def block_names(self) -> list[str]:
        """Every block in network order: "stem", "layer1.0" ... "layer4.2", "head"."""
        return list(self._blocks)

    def item(self, name: str) -> SelectableItem:
        """The graphics item of a block or of a layer of a block (which may be hidden)."""
        if name in self._blocks:
            return self._blocks[name]
        for block in self._blocks.values():
            if name in block.layer_items:
                return block.layer_items[name]
        raise KeyError(f"no block or layer named {name!r} in the diagram")

    def selected(self) -> str | None:
        return self._selected

    def select(self, name: str) -> None:
        """Select a block or layer (expanding its block if needed) and emit ``block_selected``."""
        item = self.item(name)
        owner = self._owner(name)
        if owner is not None and not owner.expanded:
            self.set_expanded(owner.name, True)
        if self._selected is not None:
            self.item(self._selected).set_selected(False)
        item.set_selected(True)
        changed = name != self._selected
        self._selected = name
        self.ensureVisible(item.sceneBoundingRect(), 24, 24)
        if changed:
            self.block_selected.emit(name)

    def set_summary(self, summary: ModelSummary) -> None:
        """Take the architecture summary: shapes on edges, tooltips and the layers of each block."""
        self._summary = summary
        blocks: dict[str, BlockSummary | HeadSummary] = {**summary.blocks(), "head": summary.head}
        for name, item in self._blocks.items():
            block = blocks[name]
            item.setToolTip(f"{name}\n{self._kind_text(item.kind)}\noutput {shape_text(block.output_shape)}")
            views = [_layer_view(layer) for layer in block.layers]
            if item.bottleneck:
                main = [v for v in views[:-1] if not v.shortcut]
                shortcut = [v for v in views if v.shortcut]
                add = LayerView(
                    add_node_name(name),
                    "+",
                    f"{add_node_name(name)}\naddition F(x) + shortcut(x)\noutput {shape_text(block.output_shape)}",
                )
                item.set_layers(main, shortcut, [views[-1]], add)
                projection = [layer for layer in block.layers if layer.shortcut and layer.kernel]
                if projection:
                    p = projection[0]
                    item.projection_text = f"{p.kernel}×{p.kernel} conv" + (f" /{p.conv_stride}" if p.conv_stride > 1 else "")
            else:
                item.set_layers(views, [], [], None)
            for layer_item in item.layer_items.values():
                self._connect(layer_item)
        self._layout(force=True)

    def set_overlay(self, overlay: BlockOverlay | None) -> None:
        """Colour each block by a metric (with a colour bar), or restore the stage colours (None)."""
        self._overlay = overlay
        fractions = overlay.fractions() if overlay is not None else {}
        for name, item in self._blocks.items():
            item.set_overlay(overlay_colour(fractions[name]) if name in fractions else None)
        self.colour_bar.set_overlay(overlay)

    def overlay(self) -> BlockOverlay | None:
        return self._overlay

    def has_summary(self) -> bool:
        return self._summary is not None

    def set_expanded(self, name: str, expanded: bool) -> None:
        """Show (or hide) a block's layers. Before the summary arrives a block has none to show."""
        if name not in self._blocks:
            raise KeyError(f"no block named {name!r}")
        block = self._blocks[name]
        if not expanded and self._selected is not None and self._owner(self._selected) is block:
            self.select(name)  # the selected layer disappears: select its block instead
        block.set_expanded(expanded)
        self._layout(force=True)

    def is_expanded(self, name: str) -> bool:
        return self._blocks[name].expanded

    def set_shortcut(self, name: str, enabled: bool) -> None:
        """Switch a bottleneck's shortcut for the gradient lab; emits ``shortcut_toggled``."""
        block = self._bottleneck(name)
        if not enabled and not block.residual_on:
            raise ValueError(f"{name}: its residual branch is lesioned, so its shortcut must stay on")
        if block.shortcut_on != enabled:
            block.set_switches(enabled, block.residual_on)
            self.shortcut_toggled.emit(name, enabled)

    def set_residual(self, name: str, enabled: bool) -> None:
        """Lesion (``enabled=False``) or restore a bottleneck's residual branch; emits
        ``residual_toggled``."""
        block = self._bottleneck(name)
        if not enabled and not block.shortcut_on:
            raise ValueError(f"{name}: its shortcut is off, so its residual branch must stay on")
        if block.residual_on != enabled:
            block.set_switches(block.shortcut_on, enabled)
            self.residual_toggled.emit(name, enabled)

    def set_all_shortcuts(self, enabled: bool) -> None:
        """All shortcuts on, or all off (lesioned blocks keep theirs: they have nothing else)."""
        for block in self._blocks.values():
            if block.bottleneck and (enabled or block.residual_on):
                self.set_shortcut(block.name, enabled)

    def restore_residuals(self) -> None:
        for block in self._blocks.values():
            if block.bottleneck:
                self.set_residual(block.name, True)

    def switches(self) -> tuple[set[str], set[str]]:
        """(plain_blocks, lesioned): blocks whose shortcut is off, blocks whose residual is off."""
        plain = {b.name for b in self._blocks.values() if b.bottleneck and not b.shortcut_on}
        lesioned = {b.name for b in self._blocks.values() if b.bottleneck and not b.residual_on}
        return plain, lesioned

    def zoom_in(self) -> None:
        self._zoom(ZOOM_STEP)

    def zoom_out(self) -> None:
        self._zoom(1 / ZOOM_STEP)

    def fit(self) -> None:
        """Scale the whole diagram into the view; it then follows the view's size again."""
        self._auto_fit = True
        self._layout(force=False)
        self._fit_now()

    def zoom_actions(self) -> list[QAction]:
        """Zoom in, zoom out and fit, with their shortcuts, for the window's View menu."""
        return [self._zoom_in_action, self._zoom_out_action, self._fit_action]

    # -- items' signals -------------------------------------------------------------------------

    def _connect(self, item: SelectableItem) -> None:
        item.clicked.connect(self._on_item_clicked)
        item.double_clicked.connect(self._on_item_double_clicked)
        item.context_menu_requested.connect(self._on_item_context_menu_requested)

    def _on_item_clicked(self, name: str) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        self.select(name)

    def _on_item_double_clicked(self, name: str) -> None:
        if name in self._blocks:
            self.set_expanded(name, not self._blocks[name].expanded)
        self.select(name)

    def _on_item_context_menu_requested(self, name: str, screen_pos: QPoint) -> None:
        self.select(name)
        self._context_menu(self._owner(name) or self._blocks[name]).exec(screen_pos)

    def _context_menu(self, block: BlockItem) -> QMenu:
        menu = QMenu(self)
        if block.bottleneck:
            shortcut = menu.addAction("Shortcut connection")
            shortcut.setCheckable(True)
            shortcut.setChecked(block.shortcut_on)
            shortcut.setEnabled(block.residual_on)
            shortcut.toggled.connect(lambda on, n=block.name: self.set_shortcut(n, on))
            residual = menu.addAction("Residual branch (off = lesion)")
            residual.setCheckable(True)
            residual.setChecked(block.residual_on)
            residual.setEnabled(block.shortcut_on)
            residual.toggled.connect(lambda on, n=block.name: self.set_residual(n, on))
            menu.addSeparator()
        expand = menu.addAction("Collapse" if block.expanded else "Expand to layers")
        expand.setEnabled(self._summary is not None)
        expand.triggered.connect(lambda _=False, n=block.name: self._on_item_double_clicked(n))
        menu.addSeparator()
        menu.addAction("All shortcuts on", lambda: self.set_all_shortcuts(True))
        menu.addAction("All shortcuts off", lambda: self.set_all_shortcuts(False))
        menu.addAction("Restore all residual branches", self.restore_residuals)
        return menu

    # -- keyboard, wheel, resize ----------------------------------------------------------------

    def _order(self) -> list[str]:
        """Selectable names in network order (a expanded block's layers follow the block)."""
        names = []
        for block in self._blocks.values():
            names.append(block.name)
            if block.expanded:
                names += block.layer_names()
        return names

    def _step(self, delta: int) -> None:
        order = self._order()
        if self._selected is None:
            self.select(order[0] if delta > 0 else order[-1])
            return
        index = order.index(self._selected) + delta
        self.select(order[max(0, min(len(order) - 1, index))])

    def _step_vertical(self, down: bool) -> None:
        """Move to the nearest visible item above or below (rows of stages, layers in a block)."""
        if self._selected is None:
            self._step(1)
            return
        here = self.item(self._selected).sceneBoundingRect().center()
        best, best_cost = None, float("inf")
        for name in self._order():
            there = self.item(name).sceneBoundingRect().center()
            dy = there.y() - here.y()
            if (dy > 8) if down else (dy < -8):
                cost = abs(dy) + 3 * abs(there.x() - here.x())
                if cost < best_cost:
                    best, best_cost = name, cost
        if best is not None:
            self.select(best)

    def event(self, event: QEvent) -> bool:
        # Tab moves the selection instead of the keyboard focus (QWidget handles Tab before
        # keyPressEvent would see it).
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if event.key() == Qt.Key.Key_Tab and not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
                self._step(1)
                return True
            if event.key() == Qt.Key.Key_Backtab:
                self._step(-1)
                return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key in (Qt.Key.Key_Right, Qt.Key.Key_Left):
            self._step(1 if key == Qt.Key.Key_Right else -1)
        elif key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
            self._step_vertical(key == Qt.Key.Key_Down)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self._selected is not None:
            block = self._owner(self._selected) or self._blocks[self._selected]
            self.set_expanded(block.name, not block.expanded)
            self.select(block.name if not block.expanded else self._selected)
        else:
            super().keyPressEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120
        if steps:
            self._zoom(ZOOM_STEP**steps)
        event.accept()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._layout(force=False)
        if self._auto_fit:
            self._fit_now()

    # -- internals ------------------------------------------------------------------------------

    def _build_actions(self) -> None:
        def action(text: str, keys: list[QKeySequence], slot) -> QAction:  # noqa: ANN001
            act = QAction(text, self)
            act.setShortcuts(keys)
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.triggered.connect(slot)
            self.addAction(act)
            return act

        self._zoom_in_action = action(
            "Zoom in", [QKeySequence(QKeySequence.StandardKey.ZoomIn), QKeySequence("Ctrl+=")], self.zoom_in
        )
        self._zoom_out_action = action("Zoom out", [QKeySequence(QKeySequence.StandardKey.ZoomOut)], self.zoom_out)
        self._fit_action = action("Fit diagram", [QKeySequence("Ctrl+0")], self.fit)

    def _zoom(self, factor: float) -> None:
        self._auto_fit = False
        self.scale(factor, factor)

    def _fit_now(self) -> None:
        rect = self.scene().itemsBoundingRect().adjusted(-12, -12, 12, 12)
        self.setSceneRect(rect)
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.transform().m11() > MAX_FIT_SCALE:
            self.resetTransform()
            self.scale(MAX_FIT_SCALE, MAX_FIT_SCALE)

    def _owner(self, name: str) -> BlockItem | None:
        """The block that contains a layer name, or None for a block name."""
        if name in self._blocks:
            return None
        for block in self._blocks.values():
            if name in block.layer_items:
                return block
        raise KeyError(f"no block or layer named {name!r} in the diagram")

    def _bottleneck(self, name: str) -> BlockItem:
        block = self._blocks.get(name)
        if block is None or not block.bottleneck:
            names = [b.name for b in self._blocks.values() if b.bottleneck]
            raise KeyError(f"{name!r} is not a bottleneck block; choose from {names[0]} ... {names[-1]}")
        return block

    @staticmethod
    def _kind_text(kind: str) -> str:
        return {
            "conv": "convolutional block (projection shortcut)",
            "identity": "identity block",
            "stem": "stem",
            "head": "head: global average pool + fully connected",
        }[kind]

    def _group_size(self, items: list[BlockItem]) -> tuple[float, float]:
        """Width and height of a stage group, its title and arc room included."""
        width = sum(item.size()[0] for item in items) + EDGE_GAP * (len(items) - 1) + 2 * STAGE_PAD
        top = max(item.top_margin() for item in items)
        return width, STAGE_TITLE_H + top + max(item.size()[1] for item in items) + STAGE_PAD + 18

    def _choose_rows(self, sizes: list[tuple[float, float]]) -> tuple[int, ...]:
        """Split the stage groups into rows (keeping order) so the diagram fills the view best."""
        view = self.viewport().size()
        aspect = view.width() / view.height() if view.height() > 50 and view.width() > 50 else 16 / 9
        best, best_scale = (len(sizes),), 0.0
        for cuts in itertools.product((False, True), repeat=len(sizes) - 1):
            rows, count = [], 1
            for cut in cuts:
                if cut:
                    rows.append(count)
                    count = 1
                else:
                    count += 1
            rows.append(count)
            width, height, start = 0.0, 0.0, 0
            for count in rows:
                row = sizes[start : start + count]
                width = max(width, sum(w for w, _ in row) + EDGE_GAP * (count - 1))
                height += max(h for _, h in row)
                start += count
            height += ROW_GAP * (len(rows) - 1)
            scale = min(aspect / width, 1.0 / height)  # fit into a view of height 1
            if scale > best_scale * 1.0001:
                best, best_scale = tuple(rows), scale
        return best

    def _layout(self, force: bool) -> None:
        sizes = [self._group_size(items) for _, items in self._stages]
        rows = self._choose_rows(sizes)
        if rows == self._rows and not force:
            return
        self._rows = rows
        ports: list[tuple[BlockItem, float]] = []  # (block, row bottom) in network order
        y, start = 0.0, 0
        for count in rows:
            row = list(range(start, start + count))
            top_margin = max(item.top_margin() for i in row for item in self._stages[i][1])
            body = max(item.size()[1] for i in row for item in self._stages[i][1])
            height = STAGE_TITLE_H + top_margin + body + STAGE_PAD + 18
            x = 0.0
            for i in row:
                stage_item, items = self._stages[i]
                own = STAGE_TITLE_H + top_margin + max(item.size()[1] for item in items) + STAGE_PAD + 18
                stage_item.set_rect(QRectF(x, y, sizes[i][0], own))
                bx = x + STAGE_PAD
                for item in items:
                    item.setPos(bx, y + STAGE_TITLE_H + top_margin)
                    bx += item.size()[0] + EDGE_GAP
                    ports.append((item, y + height))
                x += sizes[i][0] + EDGE_GAP
            y += height + ROW_GAP
            start += count
        self._route_edges(ports)
        self._note.setPos(0, y - ROW_GAP + 12)
        self.colour_bar.setPos(self._note.textWidth() + 40, y - ROW_GAP + 16)
        self.scene().setSceneRect(self.scene().itemsBoundingRect().adjusted(-12, -12, 12, 12))
        if self._auto_fit:
            self._fit_now()

    def _route_edges(self, ports: list[tuple[BlockItem, float]]) -> None:
        s = self._summary
        shapes = {name: b.output_shape for name, b in (s.blocks().items() if s else [])}
        if s is not None:
            shapes["head"] = s.head.output_shape

        def label(shape: list[int] | None) -> str:
            if not shape:
                return ""
            return str(shape[0]) if len(shape) == 1 else f"{shape[0]}\n{shape_text(shape[1:])}"

        first = ports[0][0]
        src = QPointF(first.pos().x() - EDGE_GAP, first.pos().y() + PORT_Y)
        image = label([3, *s.input_size]) if s else ""
        self._edges[0].set_route([src, QPointF(first.pos().x(), src.y())], image, QPointF(src.x() + EDGE_GAP / 2, src.y() + 4))
        for edge, (a, row_bottom), (b, _) in zip(self._edges[1:], ports, ports[1:]):
            start = QPointF(a.pos().x() + a.size()[0], a.pos().y() + PORT_Y)
            end = QPointF(b.pos().x(), b.pos().y() + PORT_Y)
            text = label(shapes.get(a.name))
            if abs(start.y() - end.y()) < 1:
                edge.set_route([start, end], text, QPointF((start.x() + end.x()) / 2, start.y() + 4))
            else:  # wrap to the next row: right, down below the row, back left, down, in
                turn_y = row_bottom + ROW_GAP / 2
                route = [
                    start,
                    QPointF(start.x() + 16, start.y()),
                    QPointF(start.x() + 16, turn_y),
                    QPointF(end.x() - 24, turn_y),
                    QPointF(end.x() - 24, end.y()),
                    end,
                ]
                edge.set_route(route, text, QPointF(start.x() + 40, start.y() + 4))
        last = ports[-1][0]
        out = QPointF(last.pos().x() + last.size()[0], last.pos().y() + PORT_Y)
        classes = f"{s.num_classes}\nclasses" if s else ""
        self._edges[-1].set_route([out, QPointF(out.x() + EDGE_GAP, out.y())], classes, QPointF(out.x() + EDGE_GAP / 2, out.y() + 4))
