"""The Classification panel's list of images: a thumbnail and two lines a row (the name, then the
top-1, the error or what the row waits for), each line elided to the list's width with the whole of
it in the tooltip, so rows keep one height and names are not cut mid-word by wrapping (wrapped rows
grew to about 110 px).

UI layer (Qt widgets). It shows the plain ``Entry`` rows the panel hands it.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QStyle, QWidget

from explorer.ui.classify.entries import Entry, row_text

ICON_PX = 48


class ImageList(QListWidget):
    """One row per entry, keyed by the entry's id (the item's user data)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setIconSize(QSize(ICON_PX, ICON_PX))
        self.setUniformItemSizes(True)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setSelectionMode(QListWidget.SelectionMode.SingleSelection)
        self.setMinimumWidth(150)

    def add_row(self, entry_id: int) -> QListWidgetItem:
        item = QListWidgetItem()
        item.setData(Qt.ItemDataRole.UserRole, entry_id)
        self.addItem(item)
        return item

    def show_row(self, item: QListWidgetItem, entry: Entry, waiting: str) -> None:
        text, tip = row_text(entry, waiting)
        item.setText(text)
        item.setToolTip(tip)
        if entry.error is not None:
            item.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning))
        else:
            item.setIcon(QIcon(entry.thumbnail) if entry.thumbnail else QIcon())

    def current_id(self) -> int | None:
        item = self.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None
