"""The Weights menu, shared by the window's menu bar and the classification panel's Weights button:
every named source of explorer.core.loading.sources, a local checkpoint file, an http(s) address, and a
check mark on the weights in use (a file or address in use gets its own checked entry).

UI layer (Qt widgets). It emits ``source_chosen(str)``; the panel loads it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QWidget

from explorer.core.loading.sources import WEIGHT_SOURCES
from explorer.ui.common import dialogs


class WeightsMenu(QMenu):
    """Named sources, then "Load a file…"; the source in use is checked."""

    source_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("&Weights", parent)
        self._group = QActionGroup(self)
        # Optional: nothing is checked before the first load.
        self._group.setExclusionPolicy(QActionGroup.ExclusionPolicy.ExclusiveOptional)
        self.source_actions: dict[str, QAction] = {}
        for name, source in WEIGHT_SOURCES.items():
            action = self.addAction(source.label)
            action.setCheckable(True)
            action.setData(name)
            self._group.addAction(action)
            action.triggered.connect(lambda _=False, n=name: self.source_chosen.emit(n))
            self.source_actions[name] = action
        self.addSeparator()
        self.file_in_use = self.addAction("")
        self.file_in_use.setCheckable(True)
        self.file_in_use.setVisible(False)
        self._group.addAction(self.file_in_use)
        self.file_in_use.triggered.connect(lambda _=False: self.source_chosen.emit(str(self.file_in_use.data())))
        self.file_action = self.addAction("Load a &file…", self._on_file_triggered)
        self.url_action = self.addAction("Load from a &URL…", self._on_url_triggered)

    def mark(self, source: str | None) -> None:
        """Check the entry of the weights in use (None: nothing loaded)."""
        self.file_in_use.setVisible(False)
        for action in self._group.actions():
            action.setChecked(False)
        if source is None:
            return
        if source in self.source_actions:
            self.source_actions[source].setChecked(True)
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
        url = dialogs.ask_url(
            self.parentWidget(), "Load weights from a URL",
            "Address of a checkpoint (a name like resnet50-11ad3fa6.pth is checked against its SHA-256):",
        )
        if url:
            self.source_chosen.emit(url)

    def _on_file_triggered(self) -> None:
        path = dialogs.open_checkpoint(self.parentWidget(), "Load ResNet-50 weights")
        if path:
            self.source_chosen.emit(path)
