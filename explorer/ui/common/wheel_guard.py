"""The mouse wheel scrolls what it is over; it changes a combo box or a spin box only when that box
has the keyboard focus (clicked or tabbed into). Scrolling the gradient lab's settings once changed
the preset under the pointer and silently reset the normalisation.

UI layer (Qt). One filter object, put on each box as the window places a part (``guard_boxes``):
on the application it was handed every event of every object, and that (with the drop filter)
doubled the time the GUI thread took to build the parts (race dock 30 ms without, 55 with).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QWidget


class WheelGuard(QObject):
    """Sends a wheel event over an unfocused box on to its parent (the scroll area scrolls)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Wheel and isinstance(watched, (QComboBox, QAbstractSpinBox)) and not watched.hasFocus():
            watched.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a wheel never gives it the focus either
            parent = watched.parentWidget()
            if isinstance(parent, QWidget):
                QApplication.sendEvent(parent, event)
            return True
        return False


def guard_boxes(root: QWidget) -> None:
    """Put the guard on every combo box and spin box in ``root`` (and on ``root`` if it is one); a
    box guarded already stays guarded once."""
    app = QApplication.instance()
    guard = app.findChild(WheelGuard)
    if guard is None:
        guard = WheelGuard(app)
    for widget in (root, *root.findChildren(QWidget)):
        if isinstance(widget, (QComboBox, QAbstractSpinBox)):
            widget.installEventFilter(guard)
