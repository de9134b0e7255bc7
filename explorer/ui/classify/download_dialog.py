"""The cancellable progress dialog of a weights download: shown only when the download lasts (a
cached file loads in about a second), moved by the load job's progress, closed when the job ends.

UI layer (Qt widgets). The classification panel opens and closes it; ``canceled`` asks it to stop.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

SHOW_AFTER_MS = 800


class DownloadDialog(QObject):
    """At most one dialog at a time; ``canceled`` when the person presses Cancel."""

    canceled = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._parent = parent
        self.dialog: QProgressDialog | None = None  # while a download runs (tests read it)

    def open(self, title: str) -> None:
        self.close()
        dialog = QProgressDialog(f"Loading {title}…", "Cancel", 0, 1000, self._parent)
        dialog.setWindowTitle("Downloading weights")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(SHOW_AFTER_MS)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.canceled.connect(self._on_dialog_canceled)
        self.dialog = dialog

    def progress(self, text: str, fraction: float) -> None:
        if self.dialog is not None:
            self.dialog.setLabelText(text)
            self.dialog.setValue(round(1000 * fraction))

    def close(self) -> None:
        if self.dialog is not None:
            self.dialog.canceled.disconnect(self._on_dialog_canceled)
            self.dialog.close()
            self.dialog.deleteLater()
            self.dialog = None

    def _on_dialog_canceled(self) -> None:
        self.dialog = None
        self.canceled.emit()
