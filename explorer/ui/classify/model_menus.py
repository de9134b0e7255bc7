"""The menus that choose the network: File > Open model… (a checkpoint file, whose state dict says
which member of the family it is), File > Open recent (the last model files, kept in QSettings; a
file that has gone is dropped with a one-line notice) and the Network menu (every member of the
family with random weights or each of its torchvision checkpoints; He et al.'s CIFAR networks with
random weights, to see them in the diagram, the inspector and the lab; the loaded one is checked).

UI layer (Qt widgets) over the torch-free tables of explorer.core.network.stages and sources. The menus emit
``model_chosen(source, arch)`` (``arch`` only for random weights, else ""); the classifier loads it,
and the window follows the network the loaded weights belong to. The recent list is a Qt-free
:class:`RecentModels`; the menu is its view.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from explorer.core.loading.sources import CHECKPOINT_SUFFIXES, NAMED_WEIGHTS, RANDOM, weight_source, weights_for
from explorer.core.network.stages import MEMBERS
from explorer.core.text import shown

RECENT_KEY = "models/recent"
RECENT_COUNT = 8


def is_checkpoint(path: str) -> bool:
    """True for a path whose suffix is a model file's (``.pth``, ``.pt``, ``.bin``, ``.safetensors``)."""
    return Path(path).suffix.lower() in CHECKPOINT_SUFFIXES


class RecentModels:
    """The model files opened last, newest first, at most :data:`RECENT_COUNT`, as plain strings."""

    def __init__(self, paths: list[str] | None = None) -> None:
        self.paths: list[str] = []
        for path in paths or []:
            if isinstance(path, str) and path and path not in self.paths:
                self.paths.append(path)
        del self.paths[RECENT_COUNT:]

    def add(self, path: str) -> None:
        if path in self.paths:
            self.paths.remove(path)
        self.paths.insert(0, path)
        del self.paths[RECENT_COUNT:]

    def remove(self, path: str) -> None:
        if path in self.paths:
            self.paths.remove(path)


class ModelMenus(QObject):
    """``open_action`` (Ctrl+Shift+O), the ``recent_menu`` and the ``network_menu``; ``notice(str)``
    carries a one-line message for the status bar (a recent file that is gone)."""

    model_chosen = Signal(str, str)  # source, arch ("" unless random weights of a chosen member)
    notice = Signal(str)

    def __init__(self, settings: QSettings, parent: QWidget) -> None:
        super().__init__(parent)
        self._settings = settings
        saved = settings.value(RECENT_KEY, [])
        self.recent = RecentModels(saved if isinstance(saved, list) else [saved] if saved else [])
        self.open_action = QAction("Open &model…", parent)
        self.open_action.setShortcut(QKeySequence("Ctrl+Shift+O"))
        self.open_action.triggered.connect(self._on_open_triggered)
        self.recent_menu = QMenu("Open &recent", parent)
        self.network_menu = QMenu("&Network", parent)
        self.network_actions: dict[tuple[str, str], QAction] = {}  # (arch, source) -> its action
        self._loaded = QActionGroup(self)  # the check mark on the network and weights in use
        self._loaded.setExclusionPolicy(QActionGroup.ExclusionPolicy.ExclusiveOptional)
        for arch, spec in MEMBERS.items():  # the CIFAR networks have random weights only
            sub = self.network_menu.addMenu(f"{spec.title} · {spec.block}" + (" · CIFAR" if spec.stem == "cifar" else ""))
            sub.setToolTipsVisible(True)
            self.network_actions[(arch, RANDOM)] = sub.addAction(
                "Random weights (untrained)", lambda a=arch: self.model_chosen.emit(RANDOM, a)
            )
            for name in weights_for(arch):
                self.network_actions[(arch, name)] = sub.addAction(
                    NAMED_WEIGHTS[name].label, lambda n=name: self.model_chosen.emit(n, "")
                )
        for action in self.network_actions.values():
            action.setCheckable(True)
            self._loaded.addAction(action)
        self._show_recent()

    def opened(self, source: str, arch: str) -> None:
        """Weights of ``arch`` loaded from ``source``: its Network entry is checked (none for a file or
        an address), and a model file goes to the top of the recent list."""
        named = weight_source(source)
        for (member, name), action in self.network_actions.items():
            action.setChecked(member == arch and named is not None and weight_source(name) is named)
        if Path(source).is_file():
            self.recent.add(source)
            self._save()
            self._show_recent()

    def open_recent(self, path: str) -> None:
        """Open a recent file; one that is gone is dropped from the list with a notice."""
        if not Path(path).is_file():
            self.recent.remove(path)
            self._save()
            self._show_recent()
            self.notice.emit(f"{shown(path)}: no such file any more; removed from the recent models")
            return
        self.model_chosen.emit(path, "")

    def _on_open_triggered(self) -> None:
        from explorer.ui.common import dialogs  # imports torch (the suffix lists): not before the parts

        path = dialogs.open_checkpoint(self.parent(), "Open a model (ResNet checkpoint)")
        if path:
            self.model_chosen.emit(path, "")

    def _show_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.recent.paths:
            self.recent_menu.addAction(shown(Path(path).name), lambda p=path: self.open_recent(p)).setToolTip(shown(path))
        if self.recent.paths:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("&Clear the list", self._on_clear_triggered)
        self.recent_menu.setEnabled(bool(self.recent.paths))

    def _on_clear_triggered(self) -> None:
        self.recent = RecentModels()
        self._save()
        self._show_recent()

    def _save(self) -> None:
        self._settings.setValue(RECENT_KEY, list(self.recent.paths))
