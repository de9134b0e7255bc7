"""Find a block by name (Ctrl+F): a line at the top of the diagram that completes every block and
layer name ("layer3.2", "layer3.2.conv2", "stem", "head"); Enter selects the one typed, Escape
(or a click elsewhere) closes it. A name the diagram does not have is said in one line, the line stays open to correct it.

UI layer (Qt widgets). It asks its view for the names and calls its ``select``.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent
from PySide6.QtWidgets import QCompleter, QLineEdit, QWidget


class FindBar(QLineEdit):
    """Hidden until :meth:`start`; emits ``found(name)`` for a name ``names()`` lists and
    ``missing(text)`` for one it does not."""

    found = Signal(str)
    missing = Signal(str)

    def __init__(self, names: Callable[[], list[str]], parent: QWidget) -> None:
        super().__init__(parent)
        self._names = names
        self.setPlaceholderText("Find a block or layer: layer3.2, layer3.2.conv2…")
        self.setClearButtonEnabled(True)
        self._model = QStringListModel(self)
        completer = QCompleter(self._model, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.setCompleter(completer)
        self.returnPressed.connect(self._on_return_pressed)
        self.hide()

    def start(self) -> None:
        """Show the line over the diagram's top left corner, with the names of the network shown."""
        self._model.setStringList(self._names())
        self.setFixedWidth(max(240, self.fontMetrics().averageCharWidth() * 40))
        self.move(8, 8)
        self.show()
        self.raise_()
        self.selectAll()
        self.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802
        super().focusOutEvent(event)
        if not self.completer().popup().isVisible():  # the person went elsewhere: out of the way
            self.hide()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Escape:
            self.hide()
            self.parentWidget().setFocus()
            return
        super().keyPressEvent(event)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()  # QLineEdit passes Enter on to its parent, the diagram, which would expand a block

    def _on_return_pressed(self) -> None:
        text = self.text().strip()
        match = next((name for name in self._names() if name.lower() == text.lower()), None)
        if match is None:
            self.missing.emit(text)
            return
        # After this key event is through: the completer hands Enter on once more, and the diagram,
        # focused at once, took it to collapse the block just found.
        QTimer.singleShot(0, lambda: self._finish(match))

    def _finish(self, match: str) -> None:
        self.hide()
        self.found.emit(match)
