"""Writing a shown plot to a file, shared by the views that export one (the gradient lab, the race):
PNG through pyqtgraph's exporter, SVG through pyqtgraph's or Qt's own generator, every file written
through the one writer of explorer.core.files (atomic, a device or pipe never replaced, a link
written through, the mode kept), so a failure leaves nothing half-made. The views add their own CSV
from the core's one schema, through the same writer.

UI layer (pyqtgraph exporters, Qt's SVG generator).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters
from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene

from explorer.core.files import OutputError, check_output, write_atomically_named

SUFFIXES = (".png", ".svg", ".csv")


class ExportError(ValueError):
    """The export could not be written; ``str(e)`` is one line. Any earlier file is untouched."""


def checked_target(path: str | Path, what: str | None) -> tuple[Path, str]:
    """``path`` and its lower-case suffix, or ExportError: ``what`` says why there is nothing to
    export yet (None when there is something), then a suffix other than .png/.svg/.csv, then what the
    writer would refuse (a missing or read-only folder, a device, a folder at the path)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if what is not None:
        raise ExportError(f"nothing to export yet: {what}")
    if suffix not in SUFFIXES:
        raise ExportError(f"cannot export {suffix or 'a file without suffix'}: use .png, .svg or .csv")
    write_file(path, lambda: check_output(path))  # refused now, before anything is rendered
    return path, suffix


def write_file(path: Path, write: Callable[[], None]) -> None:
    """``write()``, a call of the one writer for ``path`` (or its check), with its refusal as an
    ExportError naming the file (``path`` is then untouched)."""
    try:
        write()
    except OutputError as exc:
        raise ExportError(f"cannot write {path.name}: {exc.reason}") from None


def write_plot(path: Path, view: pg.GraphicsView, item: QGraphicsItem, title: str, description: Iterable[str] | str) -> None:
    """The ``item`` (a plot, or a layout of several) of ``view`` as PNG or SVG, by ``path``'s suffix."""
    with _painted_afresh(view.scene()):
        if path.suffix.lower() == ".png":
            write_file(path, lambda: write_atomically_named(path, lambda temp: pyqtgraph.exporters.ImageExporter(item).export(temp)))
        else:
            text = description if isinstance(description, str) else "\n".join(description)
            write_file(path, lambda: write_atomically_named(path, lambda temp: _write_svg(temp, view, item, title, text)))


@contextmanager
def _painted_afresh(scene: QGraphicsScene) -> Iterator[None]:
    """The scene's items without the pixmaps Qt keeps of some (the axes: common.axes.CachedAxis)
    while the export paints them: an SVG took those pixmaps for pictures, its axes' text lost."""
    cached = [(item, item.cacheMode()) for item in scene.items() if item.cacheMode() != QGraphicsItem.CacheMode.NoCache]
    for item, _ in cached:
        item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
    try:
        yield
    finally:
        for item, mode in cached:
            item.setCacheMode(mode)


def _write_svg(path: str, view: pg.GraphicsView, item: QGraphicsItem, title: str, description: str) -> None:
    try:
        pyqtgraph.exporters.SVGExporter(item).export(path)
        return
    except ValueError:
        # pyqtgraph 0.14.0 cannot parse the path syntax newer Qt writes (pyqtgraph issues #3485,
        # #3495; fix pending in PR #3458). Qt's own generator paints the same scene as vectors.
        pass
    source = item.sceneBoundingRect()
    target = QRectF(0, 0, source.width(), source.height())
    generator = QSvgGenerator()
    generator.setFileName(path)
    # At the screen's DPI: at the generator's default 72 dpi the axes shrink relative to the curves.
    generator.setResolution(view.logicalDpiX())
    generator.setSize(source.size().toSize())
    generator.setViewBox(target)
    generator.setTitle(title)
    generator.setDescription(description)
    painter = QPainter(generator)
    try:
        painter.fillRect(target, view.backgroundBrush())
        view.scene().render(painter, target, source)
    finally:
        painter.end()


def export_saying(path: str, export: Callable[[], Path], say: Callable[[str], None]) -> bool:
    """Run a panel's ``export()`` (which returns the file written) and say the outcome in one line:
    "Exported <name>" or "Export to <name> failed: <why>". Returns whether it was written."""
    try:
        written = export()
    except ExportError as exc:
        say(f"Export to {path.rsplit('/', 1)[-1]} failed: {exc}")
        return False
    say(f"Exported {written.name}")
    return True
