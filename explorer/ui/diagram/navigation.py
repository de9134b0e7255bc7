"""Moving the diagram's selection with the keyboard: Tab and the arrows step through the blocks in
network order (an expanded block's layers follow it), Up and Down to the nearest item of the row
above or below, Enter expands or collapses.

UI layer. Functions of the view (a ``BlockDiagram``); they read its order and geometry and call its
public ``select`` and ``set_expanded``.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QGraphicsItem


class BlockDiagram(Protocol):
    """What navigation needs of the view (explorer.ui.diagram.view.BlockDiagram has it); a protocol,
    so the view imports this module and not the other way round."""

    def selectable_order(self) -> list[str]: ...
    def selected(self) -> str | None: ...
    def select(self, name: str) -> None: ...
    def item(self, name: str) -> QGraphicsItem: ...
    def block_of_item(self, name: str) -> str: ...
    def is_expanded(self, name: str) -> bool: ...
    def set_expanded(self, name: str, expanded: bool) -> None: ...


def step(view: BlockDiagram, delta: int) -> None:
    """Select the item ``delta`` places further in network order (the first or last if none is)."""
    order = view.selectable_order()
    selected = view.selected()
    if selected is None:
        view.select(order[0] if delta > 0 else order[-1])
        return
    index = order.index(selected) + delta
    view.select(order[max(0, min(len(order) - 1, index))])


def step_vertical(view: BlockDiagram, down: bool) -> None:
    """Select the nearest visible item above or below (rows of stages, layers in a block)."""
    selected = view.selected()
    if selected is None:
        step(view, 1)
        return
    here = view.item(selected).sceneBoundingRect().center()
    best, best_cost = None, float("inf")
    for name in view.selectable_order():
        there = view.item(name).sceneBoundingRect().center()
        dy = there.y() - here.y()
        if (dy > 8) if down else (dy < -8):
            cost = abs(dy) + 3 * abs(there.x() - here.x())
            if cost < best_cost:
                best, best_cost = name, cost
    if best is not None:
        view.select(best)


def tab_event(view: BlockDiagram, event: QEvent) -> bool:
    """Tab and Shift+Tab move the selection instead of the keyboard focus; True if handled (QWidget
    handles Tab before keyPressEvent would see it)."""
    if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
        return False
    if event.key() == Qt.Key.Key_Tab and not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
        step(view, 1)
        return True
    if event.key() == Qt.Key.Key_Backtab:
        step(view, -1)
        return True
    return False


def key_press(view: BlockDiagram, event: QKeyEvent) -> bool:
    """The arrows and Enter; True if handled."""
    key = event.key()
    if key in (Qt.Key.Key_Right, Qt.Key.Key_Left):
        step(view, 1 if key == Qt.Key.Key_Right else -1)
    elif key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
        step_vertical(view, key == Qt.Key.Key_Down)
    elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and view.selected() is not None:
        selected = view.selected()
        block = view.block_of_item(selected)
        view.set_expanded(block, not view.is_expanded(block))
        view.select(block if not view.is_expanded(block) else selected)
    else:
        return False
    return True
