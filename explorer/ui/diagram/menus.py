"""The diagram's right-click menu of a block: its shortcut and residual-branch switches for the
gradient lab (checked as the switches model says, while the menu is open), expand or collapse, fold
a long stage again, and the switches of every block.

UI layer (Qt widgets). The menu writes to the view's ``BlockSwitches`` model and asks the view to
expand or fold; it keeps no state of its own. The view imports this module; what the menu needs of
the view is the protocol below, so nothing imports the view back.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QSignalBlocker, Qt, SignalInstance
from PySide6.QtWidgets import QMenu

from explorer.ui.common.switches import BlockSwitches
from explorer.ui.diagram.block_item import BlockItem


class BlockDiagram(Protocol):
    """What the menu needs of the view (explorer.ui.diagram.view.BlockDiagram, a QWidget)."""

    switches: BlockSwitches
    notice: SignalInstance

    def has_summary(self) -> bool: ...
    def foldable_stage(self, name: str) -> str | None: ...
    def set_folded(self, stage: str, folded: bool) -> None: ...
    def is_expanded(self, name: str) -> bool: ...
    def set_expanded(self, name: str, expanded: bool) -> None: ...
    def select(self, name: str) -> None: ...


def block_menu(view: BlockDiagram, block: BlockItem) -> QMenu:
    """The menu of ``block`` in ``view`` (deleted when closed)."""
    menu = QMenu(view)  # the view is a QWidget
    menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    switches = view.switches
    if block.residual:
        name = block.name
        shortcut = menu.addAction("Shortcut connection (gradient lab)")
        residual = menu.addAction("Residual branch (gradient lab)")
        for action in (shortcut, residual):
            action.setCheckable(True)

        def show_switches(*_: object) -> None:  # while the menu is open, it follows the model
            for action, on, other in ((shortcut, switches.shortcut_on(name), switches.residual_on(name)),
                                      (residual, switches.residual_on(name), switches.shortcut_on(name))):
                with QSignalBlocker(action):
                    action.setChecked(on)
                action.setEnabled(other)  # a block keeps at least one path

        show_switches()
        switches.changed.connect(show_switches)
        menu.destroyed.connect(lambda: switches.changed.disconnect(show_switches))
        shortcut.toggled.connect(lambda on: _switch(view, switches.set_shortcut, name, on))
        residual.toggled.connect(lambda on: _switch(view, switches.set_residual, name, on))
        menu.addSeparator()
    expand = menu.addAction("Collapse" if block.expanded else "Expand to layers")
    expand.setEnabled(view.has_summary())
    expand.triggered.connect(lambda _=False, n=block.name: _toggle(view, n))
    stage = view.foldable_stage(block.name)
    if stage is not None:
        menu.addAction("Fold the identity blocks of this stage", lambda: view.set_folded(stage, True))
    menu.addSeparator()
    menu.addAction("All shortcuts on", lambda: switches.set_all_shortcuts(True))
    menu.addAction("All shortcuts off", lambda: switches.set_all_shortcuts(False))
    menu.addAction("All residual branches on", switches.restore_residuals)
    return menu


def _toggle(view: BlockDiagram, name: str) -> None:
    view.set_expanded(name, not view.is_expanded(name))
    view.select(name)


def _switch(view: BlockDiagram, setter, name: str, on: bool) -> None:  # noqa: ANN001 - a BlockSwitches setter
    """Set a switch through the model; its refusal is said where the user acted (``notice``)."""
    try:
        setter(name, on)
    except ValueError as exc:
        view.notice.emit(str(exc))
