"""The mouse wheel scrolls what it is over; it changes a combo box or a spin box only when that box
has the keyboard focus (clicked or tabbed into). Scrolling the gradient lab's settings once changed
the preset under the pointer and silently reset the normalisation.

UI layer (Qt). One event filter on the application, so every box of every room follows the rule,
including those created later.
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


def install(app: QApplication) -> WheelGuard:
    """The guard of ``app``, installed once however many windows ask."""
    guard = app.findChild(WheelGuard)
    if guard is None:
        guard = WheelGuard(app)
        app.installEventFilter(guard)
    return guard
