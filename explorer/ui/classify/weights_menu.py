"""The Weights menu, shared by the window's menu bar and the classification panel's Weights button:
the named sources of the network in use (its torchvision checkpoints and random weights), a local
checkpoint file, an http(s) address, and a check mark on the weights in use (a file or address in
use gets its own checked entry). Its entries and dialog titles follow the loaded network.

UI layer (Qt widgets). It emits ``source_chosen(str)``; the panel loads it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QWidget

from explorer.core.loading.sources import NAMED_WEIGHTS, RANDOM, menu_sources, weight_source, weights_for
from explorer.core.network.stages import DEFAULT_ARCH, arch_title
from explorer.ui.common import dialogs


class WeightsMenu(QMenu):
    """The named sources of one network (ResNet-50 until :meth:`set_network`), then "Load a file…"
    and "Load from a URL…"; the source in use is checked."""

    source_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("&Weights", parent)
        self._group = QActionGroup(self)
        # Optional: nothing is checked before the first load.
        self._group.setExclusionPolicy(QActionGroup.ExclusionPolicy.ExclusiveOptional)
        self.arch = ""
        self.source_actions: dict[str, QAction] = {}  # the network's named sources, in menu order
        self._separator = self.addSeparator()
        self.file_in_use = self.addAction("")
        self.file_in_use.setCheckable(True)
        self.file_in_use.setVisible(False)
        self._group.addAction(self.file_in_use)
        self.file_in_use.triggered.connect(lambda _=False: self.source_chosen.emit(str(self.file_in_use.data())))
        self.file_action = self.addAction("Load a &file…", self._on_file_triggered)
        self.url_action = self.addAction("Load from a &URL…", self._on_url_triggered)
        self.set_network(DEFAULT_ARCH)

    def set_network(self, arch: str) -> None:
        """Offer the named sources of ``arch`` (a member of the family; another shape gets random
        weights only). The check mark is cleared: :meth:`mark` sets it again."""
        if arch == self.arch:
            return
        self.arch = arch
        for action in self.source_actions.values():
            self._group.removeAction(action)
            self.removeAction(action)
            action.deleteLater()
        self.source_actions = {}
        title = arch_title(arch)
        for name in menu_sources(arch):
            label = f"{title}, random initialisation (untrained)" if name == RANDOM else weight_source(name).label
            action = QAction(label, self)
            action.setCheckable(True)
            action.setData(name)
            action.triggered.connect(lambda _=False, n=name: self.source_chosen.emit(n))
            self._group.addAction(action)
            self.insertAction(self._separator, action)
            self.source_actions[name] = action

    def mark(self, source: str | None) -> None:
        """Check the entry of the weights in use (None: nothing loaded). A named source is found
        under any of its names (``imagenet-v2`` is ``resnet50-imagenet-v2``)."""
        self.file_in_use.setVisible(False)
        for action in self._group.actions():
            action.setChecked(False)
        if source is None:
            return
        named = weight_source(source)
        entry = next((a for n, a in self.source_actions.items() if n == source or (named and weight_source(n) is named)), None)
        if entry is not None:
            entry.setChecked(True)
        else:
            self.file_in_use.setText(f"{Path(source).name} (in use)")
            self.file_in_use.setData(source)
            self.file_in_use.setVisible(True)
            self.file_in_use.setChecked(True)

    def checked(self) -> str | None:
        """The source whose entry is checked."""
        action = self._group.checkedAction()
        return None if action is None else str(action.data())

    def _on_url_triggered(self) -> None:
        named = weights_for(self.arch) or weights_for(DEFAULT_ARCH)  # a shape outside the family: ResNet-50's
        example = NAMED_WEIGHTS[named[-1]].filename
        url = dialogs.ask_url(
            self.parentWidget(), f"Load {arch_title(self.arch)} weights from a URL",
            f"Address of a checkpoint (a name like {example} is checked against its SHA-256):",
        )
        if url:
            self.source_chosen.emit(url)

    def _on_file_triggered(self) -> None:
        title = f"Load {arch_title(self.arch)} weights (a checkpoint of another member switches to it)"
        path = dialogs.open_checkpoint(self.parentWidget(), title)
        if path:
            self.source_chosen.emit(path)
