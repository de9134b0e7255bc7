"""Every dialog that asks the user for a file, a folder or an address, with filters built from the
core's own suffix lists, so a view never types a pattern list and tests answer all dialogs in one
place (they patch these functions).

UI layer (Qt widgets).
"""

from __future__ import annotations

from typing import Any, Protocol

from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QWidget

from explorer.core.images import IMAGE_SUFFIXES
from explorer.core.loading.sources import CHECKPOINT_SUFFIXES

ALL_FILES = "All files (*)"


class Settable(Protocol):
    """A lab's settings model."""

    def set(self, **changes: Any) -> None: ...


def _patterns(suffixes) -> str:  # noqa: ANN001 - any iterable of ".ext"
    return " ".join(f"*{s}" for s in sorted(suffixes))


IMAGE_FILTER = f"Images ({_patterns(IMAGE_SUFFIXES)});;{ALL_FILES}"
CHECKPOINT_FILTER = f"Checkpoints ({_patterns(CHECKPOINT_SUFFIXES)});;{ALL_FILES}"
EXPORT_FILTERS = {".png": "PNG image (*.png)", ".svg": "SVG drawing (*.svg)", ".csv": "CSV table (*.csv)"}


def open_images(parent: QWidget | None, title: str) -> list[str]:
    """Image files chosen by the user (empty when cancelled)."""
    paths, _ = QFileDialog.getOpenFileNames(parent, title, "", IMAGE_FILTER)
    return list(paths)


def open_folder(parent: QWidget | None, title: str) -> str:
    """A folder chosen by the user ("" when cancelled)."""
    return QFileDialog.getExistingDirectory(parent, title)


def open_checkpoint(parent: QWidget | None, title: str) -> str:
    """A checkpoint file chosen by the user ("" when cancelled)."""
    path, _ = QFileDialog.getOpenFileName(parent, title, "", CHECKPOINT_FILTER)
    return path


def ask_lab_weights(parent: QWidget, settings: Settable, lab: str) -> None:
    """A lab's Browse button: the chosen checkpoint becomes its weights (nothing when cancelled)."""
    path = open_checkpoint(parent, f"Weights for the {lab}")
    if path:
        settings.set(weights=path)


def ask_lab_images(parent: QWidget, settings: Settable, lab: str) -> None:
    """A lab's Images button: the chosen files become its input batch (nothing when cancelled)."""
    paths = open_images(parent, f"Images for the {lab}")
    if paths:
        settings.set(images=tuple(paths), inputs="images")


def save_export(parent: QWidget | None, title: str, suggested: str, suffix: str) -> str:
    """Where to export (a path ending in ``suffix``; "" when cancelled). The filter of ``suffix``
    comes first; a name typed without a suffix gets it."""
    chosen = EXPORT_FILTERS[suffix]
    others = [f for s, f in EXPORT_FILTERS.items() if s != suffix]
    path, _ = QFileDialog.getSaveFileName(parent, title, suggested, ";;".join([chosen, *others]))
    if path and "." not in path.rsplit("/", 1)[-1]:
        path += suffix
    return path


def ask_url(parent: QWidget | None, title: str, label: str) -> str:
    """An http(s) address typed by the user ("" when cancelled)."""
    text, ok = QInputDialog.getText(parent, title, label, QLineEdit.EchoMode.Normal, "https://")
    return text.strip() if ok and text.strip() not in ("", "https://", "http://") else ""
