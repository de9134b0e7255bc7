"""Actions declared once, as data: each feature room lists its actions in a table (an id, a title, a
shortcut, what it does and the state that enables it) and menus, buttons, the keyboard-shortcuts
help and the tests all read that table, after napari's app-model (``_app_model/actions``: an id, a
title, a key binding and an ``enablement`` condition per action).

UI layer (Qt). The one rule, "an entry is enabled exactly when it can act", lives in
:meth:`Actions.refresh`: each action is enabled when its ``enabled`` predicate says so, and a
trigger that arrives anyway (a stale state, a test) does nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractButton, QWidget


@dataclass(frozen=True)
class ActionSpec:
    """One action of a room. ``run(owner)`` acts; ``enabled(owner)`` says whether it can act now
    (None: always). ``shortcuts`` are QKeySequence strings or StandardKey names ("Open"), the first
    the one shown; ``widget_only`` limits them to the owner widget and its children."""

    id: str  # "lab.run": the room, then the verb
    title: str  # the menu text; "&" marks the mnemonic
    run: Callable[[Any], object]
    enabled: Callable[[Any], bool] | None = None
    shortcuts: tuple[str, ...] = ()
    tip: str = ""
    widget_only: bool = False


def key_sequences(names: Sequence[str]) -> list[QKeySequence]:
    """QKeySequences of ``names``: a StandardKey's name ("Open") or a key string ("Ctrl+R")."""
    keys = []
    for name in names:
        standard = getattr(QKeySequence.StandardKey, name, None)
        keys.append(QKeySequence(standard) if standard is not None else QKeySequence(name))
    return keys


class Actions:
    """The QActions of one room's table, acting on ``owner``; ``actions["lab.run"]`` is one of them.
    The owner calls :meth:`refresh` whenever its state changes."""

    def __init__(self, owner: Any, table: Sequence[ActionSpec], parent: QObject) -> None:
        self.owner = owner
        self.specs = {spec.id: spec for spec in table}
        self._actions: dict[str, QAction] = {}
        for spec in table:
            action = QAction(spec.title, parent)
            action.setObjectName(spec.id)
            action.setShortcuts(key_sequences(spec.shortcuts))
            if spec.widget_only:
                action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            if spec.tip:
                action.setToolTip(spec.tip)
                action.setStatusTip(spec.tip)
            action.triggered.connect(lambda _=False, s=spec: self._on_triggered(s))
            if spec.widget_only and isinstance(parent, QWidget):
                parent.addAction(action)  # a widget's shortcut works only once the widget holds it
            self._actions[spec.id] = action
        self.refresh()

    def __getitem__(self, action_id: str) -> QAction:
        return self._actions[action_id]

    def __iter__(self) -> Iterator[QAction]:
        return iter(self._actions.values())

    def can(self, action_id: str) -> bool:
        """Whether the action can act now (its predicate; always, without one)."""
        spec = self.specs[action_id]
        return spec.enabled is None or bool(spec.enabled(self.owner))

    def refresh(self) -> None:
        """The one rule: every action enabled exactly when it can act."""
        for action_id, action in self._actions.items():
            action.setEnabled(self.can(action_id))

    def bind(self, button: QAbstractButton, action_id: str) -> None:
        """A button that triggers the action and is enabled with it (its text stays its own)."""
        action = self._actions[action_id]
        button.clicked.connect(action.trigger)
        button.setEnabled(action.isEnabled())
        action.enabledChanged.connect(button.setEnabled)
        if not button.toolTip():
            shortcut = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            button.setToolTip(f"{action.toolTip()} ({shortcut})" if shortcut else action.toolTip())

    def _on_triggered(self, spec: ActionSpec) -> None:
        if self.can(spec.id):
            spec.run(self.owner)
        self.refresh()


def shortcut_rows(tables: Sequence[Actions]) -> list[tuple[str, str]]:
    """(keys, title) of every action with a shortcut, in table order: the Help menu's list."""
    rows = []
    for actions in tables:
        for action_id, spec in actions.specs.items():
            keys = [k for k in actions[action_id].shortcuts() if not k.isEmpty()]  # a StandardKey may be unset here
            if keys:
                text = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in keys)
                rows.append((text, spec.title.replace("&", "")))
    return rows
