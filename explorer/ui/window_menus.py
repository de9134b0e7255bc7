"""The window's own actions, declared once (explorer.ui.common.actions), and its menu bar: File, the
Weights and Network menus of the classifier, View (the docks, the diagram's actions), Lab (the
gradient lab's and the race's actions) and Help (the keyboard shortcuts read from every table, the
documentation, About).

UI layer. The menus show the rooms' own action tables; nothing here decides what a room's entry
does or when it is enabled. The window's own entries act on the window's parts.
"""

from __future__ import annotations

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QMainWindow, QMenu, QMessageBox

from explorer import DOCS_URL, __version__
from explorer.ui.common.actions import Actions, ActionSpec, shortcut_rows

WINDOW_ACTIONS = (
    ActionSpec("file.open_images", "&Open images…", lambda m: m.open_images(), lambda m: m.ready(), ("Open",)),
    ActionSpec("file.open_folder", "Open &folder…", lambda m: m.open_folder(), lambda m: m.ready()),
    # Ctrl+V pastes an image anywhere in the window; a text field with focus keeps it for itself.
    ActionSpec("file.paste", "&Paste image", lambda m: m.paste(), lambda m: m.ready(), ("Paste",)),
    ActionSpec("file.export_gradients", "&Export gradient plot…", lambda m: m.w.gradient.ask_export(".png"),
               lambda m: m.ready() and m.w.gradient.can_export(), tip="The gradient lab's shown run as a PNG image"),
    ActionSpec("file.quit", "&Quit", lambda m: m.w.close(), shortcuts=("Ctrl+Q",)),  # Qt maps it to Cmd+Q on macOS
    ActionSpec("view.insight", "Show &Insight", lambda m: m.show_insight(), shortcuts=("Ctrl+I",)),
    ActionSpec("view.reset_layout", "&Reset layout", lambda m: m.w.reset_layout(),
               tip="Every dock back in place, the diagram fitted"),
    ActionSpec("help.shortcuts", "&Keyboard shortcuts", lambda m: m.show_shortcuts(), shortcuts=("HelpContents",)),
    ActionSpec("help.docs", "&Documentation", lambda m: m.open_docs(), tip="The documentation site, in the web browser"),
    ActionSpec("help.about", "&About ResNet Explorer", lambda m: m.about()),
)
ABOUT = ("The ResNet family (He et al. 2015), ResNet-18 to -152, ResNeXt and Wide ResNet, as a clickable diagram, "
         "live classification, a gradient lab that shows why skip connections matter and a training race.")


class WindowMenus:
    """The window's action table and menu bar. ``menu_for`` names the menus for the parts that
    arrive later (:meth:`add_parts`)."""

    def __init__(self, window: QMainWindow) -> None:  # the MainWindow, which imports this module
        self.w = window
        self.actions = Actions(self, WINDOW_ACTIONS, window)
        self.tables: list[Actions] = [self.actions]  # every table, for the shortcuts list
        a, bar = self.actions, window.menuBar()
        self.file_menu = bar.addMenu("&File")
        self.file_menu.addActions([a["file.open_images"], a["file.open_folder"], a["file.paste"]])
        self.file_menu.addSeparator()
        self.file_menu.addAction(window.model_menus.open_action)
        self.file_menu.addMenu(window.model_menus.recent_menu)
        self.file_menu.addSeparator()
        self.file_menu.addAction(a["file.export_gradients"])
        self.file_menu.addSeparator()
        self.file_menu.addAction(a["file.quit"])
        self.weights_placeholder = bar.addMenu("&Weights")  # replaced by the classifier's menu
        self.weights_placeholder.setEnabled(False)
        bar.addMenu(window.model_menus.network_menu)
        self.view_menu = bar.addMenu("&View")
        for dock in (*window.side_docks, *window.bottom_docks):
            self.view_menu.addAction(dock.toggleViewAction())
        self.view_menu.addActions([a["view.insight"], a["view.reset_layout"]])
        self.lab_menu = bar.addMenu("&Lab")
        self.help_menu = bar.addMenu("&Help")
        self.help_menu.addActions([a["help.shortcuts"], a["help.docs"], a["help.about"]])
        self._model_entries = [window.model_menus.open_action, window.model_menus.network_menu.menuAction()]
        for entry in self._model_entries:  # until the parts exist there is nothing to load into
            entry.setEnabled(False)
        for menu in (self.file_menu, self.view_menu, self.lab_menu):
            menu.aboutToShow.connect(self.actions.refresh)

    def add_diagram(self, diagram_actions: Actions) -> None:
        """The diagram's actions (zoom, fit, fold, find) under View."""
        self.view_menu.addSeparator()
        self.view_menu.addActions(list(diagram_actions))
        self.tables.append(diagram_actions)

    def add_parts(self, weights_menu: QMenu, lab: Actions, race: Actions, theory: Actions) -> None:
        """The classifier's Weights menu in its place, the lab's, the race's and the theory lab's
        actions under Lab."""
        bar = self.w.menuBar()
        bar.insertMenu(self.weights_placeholder.menuAction(), weights_menu)
        bar.removeAction(self.weights_placeholder.menuAction())
        self.lab_menu.addActions([lab["lab.run"], lab["lab.cancel"]])
        self.lab_menu.addSeparator()
        self.lab_menu.addActions([race["race.run"], race["race.cancel"]])
        self.lab_menu.addSeparator()
        self.lab_menu.addActions([theory["theory.run"], theory["theory.cancel"]])
        self.tables += [lab, race, theory]
        for entry in self._model_entries:
            entry.setEnabled(True)
        # The File menu's export follows the lab's own (one predicate, two entries).
        lab["lab.export_png"].enabledChanged.connect(lambda _: self.actions.refresh())
        self.actions.refresh()

    # -- what the window's entries do -----------------------------------------------------------------

    def ready(self) -> bool:
        """True once the parts exist: before, there is nothing to open images into."""
        return self.w.classify is not None

    def open_images(self) -> None:
        from explorer.ui.common import dialogs

        paths = dialogs.open_images(self.w, "Open images")
        if paths:
            self.w.add_paths(paths)

    def open_folder(self) -> None:
        from explorer.ui.common import dialogs

        folder = dialogs.open_folder(self.w, "Open a folder of images")
        if folder:
            self.w.add_paths([folder])

    def paste(self) -> None:
        mime = QApplication.clipboard().mimeData()
        if mime is not None and mime.hasUrls():
            self.w.add_paths([u.toLocalFile() for u in mime.urls() if u.isLocalFile()])
        elif mime is not None and mime.hasImage():
            self.w.classify.add_qimage(QApplication.clipboard().image(), "clipboard")
            self.w.classify_dock.raise_()
        else:
            self.w.statusBar().showMessage("The clipboard holds no image", 5000)

    def show_insight(self) -> None:
        self.w.insight_dock.show()
        self.w.insight_dock.raise_()
        if self.w.insight is not None:
            self.w.insight.tabs.setFocus()

    def shortcuts_text(self) -> str:
        """Every shortcut of every table, one a line: what Help > Keyboard shortcuts shows."""
        return "\n".join(f"{keys}\t{title}" for keys, title in shortcut_rows(self.tables))

    def show_shortcuts(self) -> None:
        QMessageBox.information(self.w, "Keyboard shortcuts", self.shortcuts_text())

    def docs_url(self) -> QUrl:
        return QUrl(DOCS_URL)

    def open_docs(self) -> None:
        # The site, not a file of a source checkout: an installed app has no README beside it.
        if not QDesktopServices.openUrl(self.docs_url()):
            self.w.statusBar().showMessage(f"Could not open {DOCS_URL}: no web browser answered", 8000)

    def about(self) -> None:
        QMessageBox.about(self.w, "About ResNet Explorer", f"ResNet Explorer {__version__}\n\n{ABOUT}")
