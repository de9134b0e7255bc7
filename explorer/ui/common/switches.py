"""The block switches a user sets on the diagram for the gradient lab's next run: which residual
blocks have their shortcut off (plain) and which have their residual branch off. A Qt-free model:
the diagram shows it and writes to it, the gradient lab reads it into its next run's config.

UI layer, pure Python. A block can lose one path, never both (it would pass nothing at all); the
model refuses that with a one-line ValueError, so no view has to repeat the rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from explorer.ui.common.events import Event


class BlockSwitches:
    """Shortcut and residual-branch switches of every residual block, all on at first.

    ``changed`` is emitted with ``(block, what, on)`` after each effective change (``what`` is
    ``"shortcut"`` or ``"residual"``).
    """

    def __init__(self, blocks: Sequence[str]) -> None:
        self._blocks = tuple(blocks)
        self._shortcut_off: set[str] = set()
        self._residual_off: set[str] = set()
        self.changed = Event()

    def blocks(self) -> tuple[str, ...]:
        return self._blocks

    def shortcut_on(self, block: str) -> bool:
        return self._known(block) not in self._shortcut_off

    def residual_on(self, block: str) -> bool:
        return self._known(block) not in self._residual_off

    def plain_blocks(self) -> tuple[str, ...]:
        """Blocks whose shortcut is off, in network order."""
        return tuple(b for b in self._blocks if b in self._shortcut_off)

    def residual_off_blocks(self) -> tuple[str, ...]:
        """Blocks whose residual branch is off (lesioned for the lab), in network order."""
        return tuple(b for b in self._blocks if b in self._residual_off)

    def set_shortcut(self, block: str, on: bool) -> None:
        if not on and not self.residual_on(block):
            raise ValueError(f"{block}: its residual branch is off, so its shortcut must stay on")
        self._set(self._shortcut_off, block, "shortcut", on)

    def set_residual(self, block: str, on: bool) -> None:
        if not on and not self.shortcut_on(block):
            raise ValueError(f"{block}: its shortcut is off, so its residual branch must stay on")
        self._set(self._residual_off, block, "residual", on)

    def set_all_shortcuts(self, on: bool) -> None:
        """Every shortcut on, or every shortcut off where the residual branch is on (a block whose
        residual branch is off keeps its shortcut: it has nothing else)."""
        for block in self._blocks:
            if on or self.residual_on(block):
                self.set_shortcut(block, on)

    def restore_residuals(self) -> None:
        for block in self._blocks:
            self.set_residual(block, True)

    def reset(self, blocks: Iterable[str] | None = None) -> None:
        """Everything on; with ``blocks``, a new network's blocks (everything on, one ``changed``
        per block that had a switch off)."""
        for block in self.plain_blocks():
            self.set_shortcut(block, True)
        for block in self.residual_off_blocks():
            self.set_residual(block, True)
        if blocks is not None:
            self._blocks = tuple(blocks)

    def _set(self, off: set[str], block: str, what: str, on: bool) -> None:
        if (block not in off) == on:
            return
        (off.discard if on else off.add)(block)
        self.changed.emit(block, what, on)

    def _known(self, block: str) -> str:
        if block not in self._blocks:
            raise KeyError(f"{block!r} is not a residual block; choose from {self._blocks[0]} ... {self._blocks[-1]}")
        return block
