"""What the soak's person does beyond the diagram: walks the menu bar entry by entry and answers
every dialog an entry opens as a person would, and makes the fine-tuned small head they open. Used
by ``session.py`` (run as a script from this folder).
"""

from __future__ import annotations

from pathlib import Path

import torch
from PySide6.QtCore import QObject, Qt, QTimer, QUrl, Slot
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QInputDialog, QLineEdit, QMainWindow, QMenu, QMessageBox

from explorer.core.loading.sources import needs_download
from explorer.core.network.model import ResNet
from explorer.core.samples import sample_images


def answer_any_dialog(export: Path, model: Path, chosen: Path | None = None) -> None:
    """Answer whatever modal dialog the next action opens: a file name given to a file dialog
    (``chosen``, else an image, the samples folder, ``model`` for a model or weights, ``export`` to
    save), OK on a message box, Cancel on a question for an address; nothing if none opens within
    5 s. A file dialog still open 2 s after its answer is answered again (under load a keystroke was
    once lost to the file name completer, and the soak waited for ever)."""
    def answer(tries: int = 0, answered: object = None) -> None:
        dialog = QApplication.activeModalWidget()
        if answered is not None and dialog is not answered:
            return  # the file dialog answered has closed
        if isinstance(dialog, QMessageBox):
            dialog.accept()
        elif isinstance(dialog, QInputDialog):
            dialog.reject()
        elif isinstance(dialog, QFileDialog) and dialog.findChild(QLineEdit, "fileNameEdit") is not None:
            if dialog is not answered or tries % 20 == 0:
                edit = dialog.findChild(QLineEdit, "fileNameEdit")
                edit.setFocus()
                edit.setText(str(chosen or _file_for(dialog, export, model)))  # as pasted: no completer popup
                QTest.keyClick(edit, Qt.Key.Key_Return)
            QTimer.singleShot(100, lambda: answer(tries + 1, dialog))
        elif tries < 50:
            QTimer.singleShot(100, lambda: answer(tries + 1))

    QTimer.singleShot(300, answer)


def _file_for(dialog: QFileDialog, export: Path, model: Path) -> Path:
    title = dialog.windowTitle().lower()
    if dialog.fileMode() == QFileDialog.FileMode.Directory:
        return sample_images()[0].parent
    if dialog.acceptMode() == QFileDialog.AcceptMode.AcceptSave:
        return export
    if "model" in title or "weights" in title:
        return model
    return sample_images()[1]


def entry_key(action: QAction) -> tuple[str, str]:
    """An entry by its menu's title and its own text: a menu that is rebuilt makes new actions."""
    menu = action.parent()
    return (menu.title() if isinstance(menu, QMenu) else "", action.text())


def menu_entries(window: QMainWindow, skip: tuple[QAction, ...], network: QMenu) -> list[QAction]:
    """Every visible entry of the menu bar, in menu order, but ``skip``, the ``network`` menu's
    members (the session's network switches walk three of them: the others build models of up to
    127M parameters, or download) and named weights that would download."""
    out = []

    def walk(menu: QMenu) -> None:
        for action in menu.actions():
            if action.isSeparator() or not action.isVisible() or action in skip:
                continue
            if action.menu() is not None:
                if action.menu() is not network:
                    walk(action.menu())
                continue
            source = action.data()
            if isinstance(source, str) and source and needs_download(source):
                continue
            out.append(action)

    for top in window.menuBar().actions():
        if top.menu() is not None and top.menu() is not network:
            walk(top.menu())
    return out


class UrlHandler(QObject):
    """Help > Documentation opens its address here, in this process: no browser on a soak machine."""

    def __init__(self, opened: list[str]) -> None:
        super().__init__()
        self.opened = opened

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url.toString())


def small_head_checkpoint(path: Path) -> None:
    """A ResNet-18 whose 10-class head was fine-tuned for a few steps (the rest frozen), as a person
    fine-tunes one for their own classes."""
    torch.manual_seed(0)
    model = ResNet("resnet18", num_classes=10, seed=1)
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name.startswith("fc."))
    optimiser = torch.optim.SGD(model.fc.parameters(), lr=0.1)
    for _ in range(3):
        x, y = torch.randn(8, 3, 64, 64), torch.randint(0, 10, (8,))
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    torch.save(model.state_dict(), path)
