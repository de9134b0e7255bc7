"""The Classification panel's list of images: a thumbnail and two lines a row (the name, then the
top-1, the error or what the row waits for), each line elided to the list's width with the whole of
it in the tooltip, so rows keep one height and names are not cut mid-word by wrapping (wrapped rows
grew to about 110 px).

UI layer (Qt widgets). It shows the plain ``Entry`` rows the panel hands it.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QListView, QListWidget, QListWidgetItem, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from explorer.ui.classify.entries import Entry, row_text

ICON_PX = 48


class _RowDelegate(QStyledItemDelegate):
    """Rows as wide as the list, not as their text: a row laid out at its text's width scrolled
    sideways and cut "61.1%" to "61.1" instead of eliding it."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # noqa: N802
        hint = super().sizeHint(option, index)
        return QSize(min(hint.width(), self.parent().viewport().width()), hint.height())


class ImageList(QListWidget):
    """One row per entry, keyed by the entry's id (the item's user data)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setIconSize(QSize(ICON_PX, ICON_PX))
        self.setItemDelegate(_RowDelegate(self))
        self.setResizeMode(QListView.ResizeMode.Adjust)  # rows follow the list's width
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
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
