"""Files and images dropped anywhere on a window, whichever child is under the cursor: an event
filter that accepts drags of local files or image data over the window and emits what was dropped
as plain values.

Qt hands a drag to the widget under the cursor if it takes drops itself (text fields, graphics
views: the diagram, every plot), else to the nearest parent that does: the window. So the filter
watches the window and, as the window places each part, the part's widgets that take drops
(``watch``). On the application it was handed every event of every object, which (with the wheel
guard's) doubled the time the GUI thread took to build the parts.

UI layer (Qt). The window decides what a drop means (model files open a network, images are classified).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWidget

_DRAG_EVENTS = (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop)


class DropFilter(QObject):
    """Emits ``paths_dropped(list[str])`` (local files, in the order dropped) or ``image_dropped(QImage)``
    for drops on ``window`` while ``accepting()`` is true."""

    paths_dropped = Signal(list)
    image_dropped = Signal(QImage)

    def __init__(self, window: QWidget, accepting: Callable[[], bool]) -> None:
        super().__init__(window)
        self._window = window
        self._accepting = accepting
        window.setAcceptDrops(True)
        window.installEventFilter(self)

    def watch(self, root: QWidget) -> None:
        """Watch the widgets in ``root`` that take drops themselves (``root`` included)."""
        for widget in [root, *root.findChildren(QWidget)]:
            if widget.acceptDrops():
                widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() not in _DRAG_EVENTS:
            return False
        if not isinstance(watched, QWidget) or watched.window() is not self._window or not self._accepting():
            return False
        mime = event.mimeData()
        if not (mime.hasUrls() and any(u.isLocalFile() for u in mime.urls())) and not mime.hasImage():
            return False
        event.acceptProposedAction()
        if event.type() == QEvent.Type.Drop:
            paths = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
            if paths:
                self.paths_dropped.emit(paths)
            elif mime.hasImage():
                self.image_dropped.emit(QImage(mime.imageData()))
        return True
