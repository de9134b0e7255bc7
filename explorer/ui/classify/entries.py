"""One row of the Classification panel's image list as plain data (where the image comes from and
what is known about it), its two lines of text (the name, then the top-1, the error or what it
waits for), and the pixmaps made from a worker's picture.

UI layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from PySide6.QtGui import QPixmap

from explorer.core.text import shown
from explorer.ui.classify.pictures import Classified, Picture
from explorer.ui.common.pixmaps import rgb_bytes_pixmap
from explorer.ui.common.text import percent
from explorer.ui.jobs import Job


@dataclass
class Entry:
    """One row of the list: where the image comes from and what is known about it (plain data)."""

    entry_id: int
    name: str
    origin: str  # the path as given, or the clipboard's name; errors start with "<origin>: "
    source: Path | Image.Image | None  # None: nothing to classify (the input itself was refused)
    job: Job | None = field(default=None, repr=False)
    result: Classified | None = None
    error: str | None = None
    thumbnail: QPixmap | None = field(default=None, repr=False)
    preview: QPixmap | None = field(default=None, repr=False)

    @property
    def waiting(self) -> bool:
        """Something to classify, and neither a result nor an error yet."""
        return self.source is not None and self.result is None and self.error is None


def picture_pixmap(picture: Picture, device_pixel_ratio: float) -> QPixmap:
    return rgb_bytes_pixmap(picture.width, picture.height, picture.data, device_pixel_ratio)


def row_text(entry: Entry, waiting: str) -> tuple[str, str]:
    """The row's two lines and its tooltip: the name, then the top-1 (as the bars show it), the
    error's reason (the tooltip has the whole line) or ``waiting``."""
    if entry.error is not None:
        reason = entry.error.removeprefix(f"{shown(entry.origin)}: ")  # the list already names the file
        return f"{entry.name}\n⚠ {reason}", entry.error
    if entry.result is not None:
        best = entry.result.prediction.top[0]
        untrained = "" if entry.result.prediction.trained else " (untrained)"
        # The number first: in a narrow list the label is what gets elided, never the number.
        return f"{entry.name}\n{percent(best.prob)} {best.label}{untrained}", f"{entry.origin}\n{percent(best.prob)} {best.label}"
    return f"{entry.name}\n{waiting}", f"{entry.origin}\n{waiting}"
