"""What the diagram's items share when they paint: geometry in scene units, the fonts (pixel sizes
derived from the application font, so text size on screen is the font's pixel size times the
view's scale), palette-mixed colours that follow light and dark themes, the overlay's colour map,
arrow heads and the addition node.

UI layer (QtGui; pyqtgraph's colour maps once an overlay is shown).
"""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QPointF
from PySide6.QtGui import QBrush, QColor, QFont, QFontInfo, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import QApplication

# Geometry in scene units (scaled as a whole by zoom and by QT_SCALE_FACTOR).
BODY_W = 112.0
BODY_H = 64.0
PORT_Y = BODY_H / 2  # where edges enter and leave a block, relative to its top
ADD_R = 7.0  # radius of the addition node
ADD_X = BODY_W + 14.0  # centre of the addition node of a collapsed block
ARC_H = 40.0  # room above a residual block for its shortcut arc
ARC_IN = -14.0  # the arc leaves the incoming edge this far left of the block
LAYER_W = 150.0
LAYER_H = 20.0
LAYER_GAP = 5.0
HEADER_H = 24.0
FIRST_LAYER_Y = PORT_Y + 14  # below the input line, which splits into main path and shortcut

# One hue per stage, then the head; mixed with palette colours at paint time.
STAGE_HUES = ("#7a8aa0", "#3d7bd9", "#2e9e5b", "#e08a1e", "#9b59b6", "#c0392b")
# Metric overlays: perceptually uniform and readable in grey (Smith & van der Walt, matplotlib 2015).
OVERLAY_COLORMAP = "viridis"

# Font sizes relative to the application font's pixel size (12 px for 9 pt at 96 dpi). A block's
# name is the largest text, so it stays readable when the whole network is fitted into the view.
NAME_SCALE = 1.3
DETAIL_SCALE = 0.95
LABEL_SCALE = 0.9
# Below this many pixels on screen, secondary text (a block's second line, edge shapes) is left out
# rather than drawn as an unreadable smear; the block names never are.
MIN_DETAIL_PX = 6.5


def palette() -> QPalette:
    return QApplication.palette()


def base_pixels() -> int:
    """The application font's size in pixels (logical)."""
    return max(8, QFontInfo(QApplication.font()).pixelSize())


def font(scale: float, bold: bool = False) -> QFont:
    """The application font at ``scale`` times its pixel size."""
    f = QFont(QApplication.font())
    f.setPixelSize(max(6, round(base_pixels() * scale)))
    f.setBold(bold)
    return f


def name_font() -> QFont:
    return font(NAME_SCALE, bold=True)


def detail_font() -> QFont:
    return font(DETAIL_SCALE)


def label_font() -> QFont:
    return font(LABEL_SCALE)


def shows_detail(painter: QPainter, f: QFont) -> bool:
    """Whether text in ``f`` is large enough on screen at the painter's current zoom."""
    return f.pixelSize() * painter.worldTransform().m11() >= MIN_DETAIL_PX


@lru_cache(maxsize=1)
def _colormap():  # noqa: ANN202 - a pyqtgraph ColorMap
    import pyqtgraph as pg  # only once an overlay is shown: the diagram is drawn before it is needed

    return pg.colormap.get(OVERLAY_COLORMAP)


def overlay_colour(fraction: float) -> QColor:
    return _colormap().mapToQColor(min(1.0, max(0.0, fraction)))


def readable_text(fill: QColor) -> QColor:
    """Black or white, whichever reads better on ``fill`` (relative luminance, ITU-R BT.709)."""
    luminance = 0.2126 * fill.redF() + 0.7152 * fill.greenF() + 0.0722 * fill.blueF()
    return QColor("black") if luminance > 0.45 else QColor("white")


def mix(a: QColor, b: QColor, t: float) -> QColor:
    """Linear blend from ``a`` (t=0) to ``b`` (t=1)."""
    return QColor.fromRgbF(
        a.redF() + (b.redF() - a.redF()) * t,
        a.greenF() + (b.greenF() - a.greenF()) * t,
        a.blueF() + (b.blueF() - a.blueF()) * t,
    )


def arrow_head(painter: QPainter, tip: QPointF, direction: QPointF, size: float = 6.0) -> None:
    """A filled arrow head at ``tip`` pointing along the unit vector ``direction``."""
    back = QPointF(tip.x() - direction.x() * size, tip.y() - direction.y() * size)
    normal = QPointF(-direction.y() * size * 0.5, direction.x() * size * 0.5)
    path = QPainterPath(tip)
    path.lineTo(back + normal)
    path.lineTo(back - normal)
    path.closeSubpath()
    painter.fillPath(path, painter.pen().color())


def polyline(painter: QPainter, points: list[QPointF], arrow: bool = True) -> None:
    """Straight segments through ``points``, with an arrow head at the last one."""
    if len(points) < 2:
        return
    painter.setBrush(QBrush())
    path = QPainterPath(points[0])
    for p in points[1:]:
        path.lineTo(p)
    painter.drawPath(path)
    if arrow:
        a, b = points[-2], points[-1]
        length = max(1e-6, ((b.x() - a.x()) ** 2 + (b.y() - a.y()) ** 2) ** 0.5)
        arrow_head(painter, b, QPointF((b.x() - a.x()) / length, (b.y() - a.y()) / length), 5.0)


def draw_add_node(painter: QPainter, centre: QPointF, pen: QPen) -> None:
    """The addition F(x) + shortcut(x): a circle with a plus."""
    painter.setBrush(QBrush(palette().color(QPalette.ColorRole.Base)))
    painter.setPen(pen)
    painter.drawEllipse(centre, ADD_R, ADD_R)
    painter.drawLine(QPointF(centre.x() - ADD_R + 3, centre.y()), QPointF(centre.x() + ADD_R - 3, centre.y()))
    painter.drawLine(QPointF(centre.x(), centre.y() - ADD_R + 3), QPointF(centre.x(), centre.y() + ADD_R - 3))
