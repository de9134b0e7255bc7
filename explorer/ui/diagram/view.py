"""The architecture diagram: the stem, the stages of residual blocks and the head, left to right and
wrapped into the rows that fill the view best, with shortcut arcs, projections and output shapes on
the edges; click to select, expand a block to its layers, switch a block's shortcut or residual
branch off for the gradient lab, colour the blocks by a metric with a colour bar.

UI layer, torch-free: the window draws it right after its first paint, while torch is still being
imported. Structure comes from the stage table (explorer.core.network.stages and blocks) at once, shapes and
layers from ``explorer.core.network.summary`` when the window hands the summary over (``set_summary``);
nothing here lists layers by hand. The switches live in a Qt-free ``BlockSwitches`` model that this view shows
and writes; the view emits ``block_selected(str)``. Placement is ``explorer.ui.diagram.layout``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QPoint, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import QGraphicsScene, QGraphicsTextItem, QGraphicsView, QMenu, QWidget

from explorer.core.network.blocks import HEAD
from explorer.core.network.stages import RESNET50_STAGES, StageSpec
from explorer.ui.common.actions import Actions
from explorer.ui.common.overlay import BlockOverlay
from explorer.ui.common.switches import BlockSwitches
from explorer.ui.common.text import shape_text
from explorer.ui.diagram import layout, navigation
from explorer.ui.diagram.actions import DIAGRAM_ACTIONS
from explorer.ui.diagram.block_item import BlockItem, SelectableItem
from explorer.ui.diagram.find import FindBar
from explorer.ui.diagram.layers import block_layers
from explorer.ui.diagram.menus import block_menu
from explorer.ui.diagram.painting import STAGE_HUES, font, overlay_colour
from explorer.ui.diagram.scene_items import ColourBarItem, EdgeItem, FoldItem, StageItem, route_edges
from explorer.ui.diagram.structure import folds, note, stage_groups

if TYPE_CHECKING:  # the diagram is drawn before torch is imported; the summary comes later
    from explorer.core.network.summary import BlockSummary, HeadSummary, ModelSummary

ZOOM_STEP = 1.2
MAX_FIT_SCALE = 1.6  # fitting never blows a small diagram up beyond this
MIN_ZOOM, MAX_ZOOM = 0.05, 8.0  # the wheel cannot zoom the diagram away or into one pixel
NOTE_WIDTH = 760.0
SCENE_MARGIN = 12.0


class BlockDiagram(QGraphicsView):
    """A member of the family (ResNet-50 until ``set_network``) as clickable blocks. One
    ``BlockItem`` per block keyed by its state-dict prefix; a long stage's identity blocks fold
    into one ``FoldItem`` until clicked."""

    block_selected = Signal(str)  # "stem", "layer2.0", a layer path "layer2.0.conv2", or "head"
    notice = Signal(str)  # one line for the status bar (a switch the model refused)

    def __init__(self, switches: BlockSwitches, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("ResNet block diagram")
        self.setMinimumSize(160, 120)  # the window decides the diagram's share, not its content
        self.switches = switches
        self._summary: ModelSummary | None = None
        self._selected: str | None = None
        self._auto_fit = True  # until the user zooms, the diagram follows the view's size
        self._placement: layout.Placement | None = None
        self._blocks: dict[str, BlockItem] = {}
        self._stages: list[tuple[str, StageItem, list[BlockItem]]] = []
        self._folds: dict[str, FoldItem] = {}  # by stage
        self._folded: set[str] = set()  # stages whose fold is shown instead of their identity blocks
        self._edges: list[EdgeItem] = []
        self._note = QGraphicsTextItem()
        self._note.setTextWidth(NOTE_WIDTH)
        self._note.setFont(font(1.0))  # its text: set_network's
        self.scene().addItem(self._note)
        self.colour_bar = ColourBarItem()
        self.scene().addItem(self.colour_bar)
        self._overlay: BlockOverlay | None = None
        self._continued: dict[str, StageItem] = {}  # the backgrounds of a long stage's later parts
        self.actions = Actions(self, DIAGRAM_ACTIONS, self)
        self.find_bar = FindBar(self.names, self)
        self.find_bar.found.connect(self._on_find_bar_found)
        self.find_bar.missing.connect(lambda text: self.notice.emit(f"No block or layer named {text!r} in this network"))
        switches.changed.connect(self._on_switches_changed)
        self.set_network(RESNET50_STAGES)

    # -- public API -----------------------------------------------------------------------------

    def set_network(self, stages: Sequence[StageSpec], stem: str = "imagenet") -> None:
        """Draw another member from its stages and stem ("imagenet", "cifar"): every block anew, long stages
        folded, nothing selected or expanded, no overlay, until the window hands over the new summary."""
        old = [*(item for _, item, _ in self._stages), *self._blocks.values(), *self._folds.values(), *self._edges,
               *self._continued.values()]
        for item in old:
            self.scene().removeItem(item)
        self._summary, self._selected, self._placement, self._auto_fit = None, None, None, True
        self._blocks, self._stages, self._folds, self._continued = {}, [], {}, {}
        fold_of = folds(stages)
        self._folded = set(fold_of)
        self._note.setPlainText(note(stages))
        for index, (stage, title, blocks) in enumerate(stage_groups(stages, stem)):
            hue = QColor(STAGE_HUES[min(index, len(STAGE_HUES) - 1)])
            stage_item = StageItem(title, hue)
            self.scene().addItem(stage_item)
            items = []
            for name, kind, lines, description in blocks:
                item = BlockItem(name, kind, lines, hue)
                item.description = description
                item.setToolTip(f"{name}\n{description}")
                self._blocks[name] = item
                items.append(item)
            if stage in fold_of:
                self._folds[stage] = FoldItem(fold_of[stage], hue)
            for item in [*items, *([self._folds[stage]] if stage in self._folds else [])]:
                self._connect(item)
                self.scene().addItem(item)
            self._stages.append((stage, stage_item, items))
        self._edges = [EdgeItem() for _ in range(len(self._blocks) + 1)]  # image -> stem ... head -> classes
        for edge in self._edges:
            self.scene().addItem(edge)
        self.set_overlay(None)
        self._layout(force=True)
        self.actions.refresh()

    def folded(self) -> set[str]:  # the stages whose identity blocks are folded now
        return set(self._folded)

    def set_folded(self, stage: str, folded: bool) -> None:
        """Fold a long stage's identity blocks into one item, or show them all; the selection
        moves to the stage's first block if it would disappear."""
        if stage not in self._folds:
            raise KeyError(f"{stage} has no blocks to fold")
        if folded == (stage in self._folded):
            return
        fold = self._folds[stage]
        if folded:
            hidden = self._selected is not None and (self._owner(self._selected) or self.item(self._selected)).name in fold.fold.blocks
            for name in fold.fold.blocks:
                self._blocks[name].set_expanded(False)
            self._folded.add(stage)
            if hidden:
                self.select(fold.fold.entry)
        else:
            self._folded.discard(stage)
        self._auto_fit = True  # the diagram changed its shape: show all of it again
        self._layout(force=True)
        self.actions.refresh()

    def fold_all(self) -> None:
        """View > Fold long stages: every long stage folded again."""
        for stage in self._folds:
            self.set_folded(stage, True)

    def can_fold(self) -> bool:
        """True while a long stage is unfolded."""
        return any(stage not in self._folded for stage in self._folds)

    def foldable_stage(self, name: str) -> str | None:
        """The unfolded stage a block's fold would hide it in, or None."""
        for stage, fold in self._folds.items():
            if name in fold.fold.blocks and stage not in self._folded:
                return stage
        return None

    def block_names(self) -> list[str]:
        """Every block in network order: "stem", "layer1.0" ... "layer4.2", "head"."""
        return list(self._blocks)

    def names(self) -> list[str]:
        """Every block and (once the summary is in) layer name, in network order: what Find offers."""
        return [n for block in self._blocks.values() for n in (block.name, *block.layer_names())]

    def block_of_item(self, name: str) -> str:
        """The block a layer belongs to, or the block itself."""
        return (self._owner(name) or self._blocks[name]).name

    def item(self, name: str) -> SelectableItem:
        """The graphics item of a block, of a fold (``layer3.fold``) or of a layer of a block (which
        may be hidden)."""
        if name in self._blocks:
            return self._blocks[name]
        for fold in self._folds.values():
            if fold.name == name:
                return fold
        for block in self._blocks.values():
            if block.has_layer(name):
                return block.layer_item(name)
        raise KeyError(f"no block or layer named {name!r} in the diagram")

    def selected(self) -> str | None:
        return self._selected

    def select(self, name: str) -> None:
        """Select a block or layer (unfolding its stage, expanding its block) and emit ``block_selected``.
        Selecting a fold unfolds it and selects its first block."""
        fold = next((f for f in self._folds.values() if f.name == name), None)
        if fold is not None:  # the unfolded stage wraps into rows, and the diagram fits again
            self.set_folded(fold.fold.stage, False)
            name = fold.fold.blocks[0]
        item = self.item(name)
        owner = self._owner(name)
        for stage, candidate in self._folds.items():
            if (owner or item).name in candidate.fold.blocks:
                self.set_folded(stage, False)
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
        blocks: dict[str, BlockSummary | HeadSummary] = {**summary.blocks(), HEAD: summary.head}
        for name, item in self._blocks.items():
            block = blocks[name]
            item.setToolTip(f"{name}\n{item.description}\noutput {shape_text(block.output_shape)}")
            main, shortcut, after, add, projection = block_layers(name, block, item.residual)
            item.set_layers(main, shortcut, after, add)
            item.projection_text = projection
        self._layout(force=True)

    def has_summary(self) -> bool:
        return self._summary is not None

    def set_overlay(self, overlay: BlockOverlay | None) -> None:
        """Colour each block by a metric (with a colour bar), or restore the stage colours (None)."""
        if overlay == self._overlay:
            return  # each new image cleared Insight's overlay again: every block repainted, 4 ms of that turn
        self._overlay = overlay
        fractions = overlay.fractions() if overlay is not None else {}
        for name, item in self._blocks.items():
            item.set_overlay(overlay_colour(fractions[name]) if name in fractions else None)
        self.colour_bar.set_overlay(overlay)

    def overlay(self) -> BlockOverlay | None:
        return self._overlay

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

    def zoom_in(self) -> None:
        self._zoom(ZOOM_STEP)

    def zoom_out(self) -> None:
        self._zoom(1 / ZOOM_STEP)

    def fit(self) -> None:
        """Scale the whole diagram into the view; it then follows the view's size again."""
        self._auto_fit = True
        self._layout(force=False)
        self._fit_now()

    def scale_factor(self) -> float:
        """Scene units per screen pixel: a font of ``n`` px in the scene appears ``n * this`` tall."""
        return self.transform().m11()

    # -- the switches model ---------------------------------------------------------------------

    def _on_switches_changed(self, block: str, what: str, on: bool) -> None:
        item = self._blocks[block]
        item.set_switches(self.switches.shortcut_on(block), self.switches.residual_on(block))

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
        self.select(name)  # a fold unfolds: its menu is its first block's
        self.context_menu(self._owner(self._selected) or self._blocks[self._selected]).popup(screen_pos)

    def _on_find_bar_found(self, name: str) -> None:
        self.select(name)
        self.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def context_menu(self, block: BlockItem) -> QMenu:
        """The right-click menu of a block (explorer.ui.diagram.menus)."""
        return block_menu(self, block)

    # -- keyboard, wheel, resize ----------------------------------------------------------------

    def selectable_order(self) -> list[str]:
        """Selectable names in network order (an expanded block's layers follow the block)."""
        names = []
        for block in (item for stage, _, items in self._stages for item in self._shown(stage, items)):
            if isinstance(block, FoldItem):
                continue
            names.append(block.name)
            if block.expanded:
                names += block.layer_names()
        return names

    def event(self, event: QEvent) -> bool:
        return navigation.tab_event(self, event) or super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if not navigation.key_press(self, event):
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

    def _zoom(self, factor: float) -> None:
        self._auto_fit = False
        target = min(MAX_ZOOM, max(MIN_ZOOM, self.scale_factor() * factor))
        factor = target / self.scale_factor()
        if abs(factor - 1.0) > 1e-9:
            self.scale(factor, factor)

    def _shown_rect(self) -> QRectF:
        """What the diagram shows, margins included. Not the scene's itemsBoundingRect: that counts
        hidden items too, so a stage folded again kept the unfolded rows' room and stayed small."""
        shown = QRectF()
        for item in self.scene().items():
            if item.isVisible():
                shown = shown.united(item.sceneBoundingRect())
        return shown.adjusted(-SCENE_MARGIN, -SCENE_MARGIN, SCENE_MARGIN, SCENE_MARGIN)

    def _fit_now(self) -> None:
        rect = self._shown_rect()
        self.setSceneRect(rect)
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.scale_factor() > MAX_FIT_SCALE:
            self.resetTransform()
            self.scale(MAX_FIT_SCALE, MAX_FIT_SCALE)

    def _owner(self, name: str) -> BlockItem | None:
        """The block that contains a layer name, or None for a block name."""
        if name in self._blocks:
            return None
        for block in self._blocks.values():
            if block.has_layer(name):
                return block
        raise KeyError(f"no block or layer named {name!r} in the diagram")

    def _shown(self, stage: str, items: list[BlockItem]) -> list[BlockItem]:
        """A stage's items as drawn: its blocks, or its first block and its fold."""
        if stage not in self._folded:
            return items
        hidden = set(self._folds[stage].fold.blocks)
        return [*(i for i in items if i.name not in hidden), self._folds[stage]]

    def _groups(self) -> list[layout.Group]:
        """The stages as the layout places them; a long unfolded stage in parts, a row each."""
        return [
            group
            for stage, stage_item, items in self._stages
            for group in layout.split_long(
                stage, tuple(layout.Box(i.name, *i.size(), i.top_margin()) for i in self._shown(stage, items)), stage_item.title_width()
            )
        ]

    def _show_continued(self, groups: list[layout.Group], placement: layout.Placement) -> None:
        """The background of each later part of a long stage, titled as its stage, continued."""
        parts = {g.name for g in groups if g.continues}
        for name in parts - set(self._continued):
            stage = name.split("+")[0]
            _, first, _ = next(entry for entry in self._stages if entry[0] == stage)
            self._continued[name] = StageItem(f"{first.title} (continued)", first.hue)
            self.scene().addItem(self._continued[name])
        for name, item in self._continued.items():
            item.setVisible(name in parts)
            if name in parts:
                item.set_rect(QRectF(*placement.stages[name]))

    def _note_height(self) -> float:
        return self._note.boundingRect().height() + 12

    def _layout(self, force: bool) -> None:
        groups = self._groups()
        view = self.viewport().size()
        aspect = view.width() / view.height() if view.height() > 50 and view.width() > 50 else 16 / 9
        rows = layout.choose_rows(groups, aspect, below=self._note_height())
        if self._placement is not None and rows == self._placement.rows and not force:
            return
        placement = layout.place(groups, rows)
        self._placement = placement
        for stage, stage_item, items in self._stages:
            stage_item.set_rect(QRectF(*placement.stages[stage]))
            for item in [*items, *([self._folds[stage]] if stage in self._folds else [])]:
                item.setVisible(item.name in placement.positions)
                if item.isVisible():
                    item.setPos(*placement.positions[item.name])
        self._show_continued(groups, placement)
        shapes: dict[str, list[int]] = {}
        if self._summary is not None:
            shapes = {name: b.output_shape for name, b in self._summary.blocks().items()}
            shapes[HEAD] = self._summary.head.output_shape
            shapes.update({f.name: shapes[f.fold.blocks[-1]] for f in self._folds.values()})
        route_edges(self._edges, [box for group in groups for box in group.boxes], placement, shapes, self._summary)
        self._note.setPos(0, placement.height + 12)
        self.colour_bar.setPos(NOTE_WIDTH + 40, placement.height + 16)
        self.scene().setSceneRect(self._shown_rect())
        if self._auto_fit:
            self._fit_now()
