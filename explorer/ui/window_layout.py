"""The window's geometry rules, so the diagram (the centre of the app) stays the largest thing on
screen and the window never outgrows the screen: the default dock sizes, View > Reset layout, the
check of a restored layout, and the clamp of the window to the screen's available area.

UI layer (Qt widgets). Measured on a 1600x1000 screen before these rules: the bottom dock grew to
560 px and left the diagram 165 px, a restored layout squeezed it to a 60 px column, and size hints
grew the window from 900 to 1067 px tall. The rules: every dock's content scrolls rather than
demanding room (see ``common.widgets.scrolling``), the window has an explicit minimum size (so
children's size hints cannot raise it), and the docks start at fixed shares of the window.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

# First start: this share of the screen's available area, at most this size.
START_SHARE = 0.92
START_MAX = QSize(1600, 1000)
MINIMUM = QSize(720, 480)
# Default dock sizes as shares of the window, within bounds (in logical pixels).
# On a 1000x700 screen a 280 px side dock left the diagram 39% of the window.
SIDE_SHARE, SIDE_MIN, SIDE_MAX = 0.24, 264, 440
# At 1280x720 a 200 px bottom dock left the lab's plot 50 px and the race's plots 55 px.
BOTTOM_SHARE, BOTTOM_MIN, BOTTOM_MAX = 0.27, 230, 360
# A restored layout that leaves the diagram less than this share of the window is replaced.
MIN_CENTRAL_SHARE = 0.25


def available(window: QWidget) -> QRect:
    """The available geometry of the window's screen (the primary one before it is shown)."""
    screen = window.screen()
    return screen.availableGeometry() if screen is not None else QRect(0, 0, START_MAX.width(), START_MAX.height())


def start_size(window: QWidget) -> QSize:
    area = available(window)
    return QSize(
        min(START_MAX.width(), round(area.width() * START_SHARE)),
        min(START_MAX.height(), round(area.height() * START_SHARE)),
    )


def clamp_to_screen(window: QWidget) -> bool:
    """Shrink and move the window so that its frame lies within the screen's available area.
    Returns True if it had to."""
    area = available(window)
    frame = window.frameGeometry()
    extra = QSize(frame.width() - window.width(), frame.height() - window.height())  # title bar, borders
    width = min(window.width(), area.width() - extra.width())
    height = min(window.height(), area.height() - extra.height())
    changed = (width, height) != (window.width(), window.height())
    if changed:
        window.resize(max(MINIMUM.width(), width), max(MINIMUM.height(), height))
    frame = window.frameGeometry()
    x = min(max(frame.x(), area.x()), max(area.x(), area.right() + 1 - frame.width()))
    y = min(max(frame.y(), area.y()), max(area.y(), area.bottom() + 1 - frame.height()))
    if (x, y) != (frame.x(), frame.y()):
        window.move(x, y)
        changed = True
    return changed


def central_share(window: QMainWindow) -> float:
    """The central widget's share of the window's area (0..1)."""
    central = window.centralWidget()
    if central is None or window.width() <= 0 or window.height() <= 0:
        return 0.0
    return central.width() * central.height() / (window.width() * window.height())


def size_docks(window: QMainWindow, side: list[QDockWidget], bottom: list[QDockWidget]) -> None:
    """The default split: the side docks and the bottom docks at their shares of the window."""
    width = min(SIDE_MAX, max(SIDE_MIN, round(window.width() * SIDE_SHARE)))
    height = min(BOTTOM_MAX, max(BOTTOM_MIN, round(window.height() * BOTTOM_SHARE)))
    shown_side = [d for d in side if not d.isFloating()]
    shown_bottom = [d for d in bottom if not d.isFloating()]
    if shown_side:
        window.resizeDocks(shown_side, [width] * len(shown_side), Qt.Orientation.Horizontal)
    if shown_bottom:
        window.resizeDocks(shown_bottom, [height] * len(shown_bottom), Qt.Orientation.Vertical)


def place_default(window: QMainWindow, side: list[QDockWidget], bottom: list[QDockWidget]) -> None:
    """Every dock back in its area, tabbed there, shown, the first of each raised, at default sizes."""
    for area, docks in ((Qt.DockWidgetArea.RightDockWidgetArea, side), (Qt.DockWidgetArea.BottomDockWidgetArea, bottom)):
        for dock in docks:
            dock.setFloating(False)
            window.addDockWidget(area, dock)
            dock.show()
        for first, other in zip(docks, docks[1:]):
            window.tabifyDockWidget(first, other)
    size_docks(window, side, bottom)
