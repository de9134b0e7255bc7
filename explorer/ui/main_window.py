"""The main window: the block diagram in the centre, the inspector, classification and gradient lab as
docks, menus, drag-and-drop of images anywhere, the status bar and saved layout.

UI layer. It builds the parts and wires their signals; it computes nothing itself. The window is
shown before anything imports torch. ``start`` (the app, right after the first paint) imports the
torch-backed view modules on a worker thread, then ``build_parts`` builds them on the GUI thread;
tests call ``build_parts`` directly. The architecture summary is computed on a worker thread too,
all through the one ``JobRunner``.
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDropEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QWidget,
)

from explorer.ui.workers import JobRunner

if TYPE_CHECKING:  # imported for real in build_parts, after the window is on screen
    from explorer.core.summary import ModelSummary
    from explorer.ui.classify_panel import ClassifyPanel
    from explorer.ui.diagram import BlockDiagram
    from explorer.ui.gradient_panel import GradientPanel
    from explorer.ui.insight_panel import InsightPanel
    from explorer.ui.inspector import Inspector

SUMMARY_JOB = "summary"
PARTS_IMPORT_JOB = "parts:import"
# The torch-backed view modules that build_parts imports (the modules only: no widget is created
# off the GUI thread).
PART_MODULES = (
    "explorer.ui.classify_panel",
    "explorer.ui.diagram",
    "explorer.ui.gradient_panel",
    "explorer.ui.insight_panel",
    "explorer.ui.inspector",
)
IMAGE_FILTER = "Images (*.jpg *.jpeg *.png *.bmp *.gif *.webp *.tif *.tiff);;All files (*)"


@functools.lru_cache(maxsize=1)
def cached_summary() -> "ModelSummary":
    """The 224x224, 1000-class summary behind ``resnet-explorer summary``; computed once per process
    (about two seconds), always on a worker thread."""
    from explorer.core.summary import summarize

    return summarize()


def _import_part_modules(progress, cancelled) -> None:  # noqa: ANN001 - a JobRunner job
    for name in PART_MODULES:
        importlib.import_module(name)


def _icon_path() -> Path | None:
    from importlib import resources

    try:
        path = Path(str(resources.files("explorer.resources") / "icon.svg"))
    except ModuleNotFoundError:
        return None
    return path if path.is_file() else None


class MainWindow(QMainWindow):
    """The application window. ``parts_ready`` fires once the diagram and panels exist."""

    parts_ready = Signal()

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("ResNet Explorer")
        path = _icon_path()
        if path is not None:
            self.setWindowIcon(QIcon(str(path)))
        self.settings = settings if settings is not None else QSettings()
        self.runner = JobRunner(self)
        self.runner.finished.connect(self._on_runner_finished)
        self.runner.failed.connect(self._on_runner_failed)
        self._pending_start: tuple[list[str], str | None, str | None] | None = None
        self.diagram: BlockDiagram | None = None
        self.inspector: Inspector | None = None
        self.classify: ClassifyPanel | None = None
        self.gradient: GradientPanel | None = None
        self.insight: InsightPanel | None = None
        self._closing = False

        placeholder = QLabel("Loading ResNet-50…")
        placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setCentralWidget(placeholder)
        self.inspector_dock = self._dock("Inspector", "inspector_dock", Qt.DockWidgetArea.RightDockWidgetArea)
        self.classify_dock = self._dock("Classification", "classify_dock", Qt.DockWidgetArea.RightDockWidgetArea)
        self.gradient_dock = self._dock("Gradient lab", "gradient_dock", Qt.DockWidgetArea.BottomDockWidgetArea)
        self.insight_dock = self._dock("Insight", "insight_dock", Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.inspector_dock, self.classify_dock)
        self.tabifyDockWidget(self.gradient_dock, self.insight_dock)
        self.gradient_dock.raise_()
        self.classify_dock.raise_()
        self._status = QLabel("Weights: none yet")
        self.statusBar().addPermanentWidget(self._status)
        self._build_menus()
        self.resize(1400, 900)
        geometry, state = self.settings.value("window/geometry"), self.settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        self._first_start = state is None
        # Files dropped anywhere on the window, whichever child is under the cursor.
        QApplication.instance().installEventFilter(self)
        self.setAcceptDrops(True)

    # -- construction ---------------------------------------------------------------------------

    def _dock(self, title: str, name: str, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)  # saveState/restoreState key
        label = QLabel("Loading…")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        dock.setWidget(label)
        self.addDockWidget(area, dock)
        return dock

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_action = file_menu.addAction("&Open images…", QKeySequence.StandardKey.Open, self._on_open_triggered)
        self.open_folder_action = file_menu.addAction("Open &folder…", self._on_open_folder_triggered)
        self.paste_action = file_menu.addAction("&Paste image", QKeySequence.StandardKey.Paste, self._on_paste_triggered)
        # A text field that has focus keeps Ctrl+V for itself; everywhere else it pastes an image.
        self.paste_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        file_menu.addSeparator()
        self.export_action = file_menu.addAction("&Export gradient plot…", self._on_export_triggered)
        file_menu.addSeparator()
        file_menu.addAction("&Quit", QKeySequence.StandardKey.Quit, self.close)

        self.weights_menu = bar.addMenu("&Weights")
        self.view_menu = bar.addMenu("&View")
        for dock in (self.inspector_dock, self.classify_dock, self.gradient_dock, self.insight_dock):
            self.view_menu.addAction(dock.toggleViewAction())
        # Keyboard access to the dock that has no menu of its own.
        self.insight_action = self.view_menu.addAction("Show &Insight", QKeySequence("Ctrl+I"), self._on_insight_triggered)
        self.lab_menu = bar.addMenu("&Lab")
        help_menu = bar.addMenu("&Help")
        help_menu.addAction("&About", self._on_about_triggered)
        # Until build_parts there is nothing for these to act on.
        self._parts_actions: list[QAction] = [self.open_action, self.open_folder_action, self.paste_action, self.export_action]
        for action in self._parts_actions:
            action.setEnabled(False)

    def build_parts(self) -> None:
        """Import the torch-backed views, put them in place, wire them and start the summary job.
        Idempotent."""
        if self.diagram is not None:
            return
        from explorer.core.weights import WEIGHT_SOURCES
        from explorer.ui.classify_panel import ClassifyPanel
        from explorer.ui.diagram import BlockDiagram
        from explorer.ui.gradient_panel import GradientPanel
        from explorer.ui.insight_panel import InsightPanel
        from explorer.ui.inspector import Inspector

        self.diagram = BlockDiagram()
        self.inspector = Inspector()
        self.classify = ClassifyPanel(self.runner)
        self.gradient = GradientPanel(self.runner)
        self.insight = InsightPanel(self.runner)
        self.setCentralWidget(self.diagram)
        self.inspector_dock.setWidget(self.inspector)
        self.classify_dock.setWidget(self.classify)
        self.gradient_dock.setWidget(self.gradient)
        self.insight_dock.setWidget(self.insight)

        self.diagram.block_selected.connect(self._on_diagram_block_selected)
        self.diagram.shortcut_toggled.connect(self._on_diagram_switch_toggled)
        self.diagram.residual_toggled.connect(self._on_diagram_switch_toggled)
        self.classify.status_changed.connect(self._on_classify_status_changed)
        self.classify.weights_loaded.connect(self._on_classify_weights_loaded)
        self.classify.image_selected.connect(self._on_classify_image_selected)
        self.gradient.run_finished.connect(self.insight.set_gradient_results)
        self.insight.overlay_changed.connect(self.diagram.set_overlay)
        self.insight.block_chosen.connect(self._on_insight_block_chosen)

        for name, source in WEIGHT_SOURCES.items():
            self.weights_menu.addAction(source.label, functools.partial(self.classify.load_weights, name))
        self.weights_menu.addSeparator()
        self.weights_menu.addAction("Load a &file…", self._on_weights_file_triggered)
        self.view_menu.addSeparator()
        for action in self.diagram.zoom_actions():
            self.view_menu.addAction(action)
        # The panel's own Ctrl+R action, made window-wide (a second Ctrl+R would be ambiguous).
        self.gradient.run_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.lab_menu.addAction(self.gradient.run_action)
        self.lab_menu.addAction("&Cancel run", self.gradient.cancel)
        self.addAction(self.gradient.run_action)
        for action in self._parts_actions:
            action.setEnabled(True)

        self.gradient.restore_settings(self.settings)
        if self._first_start:  # no saved layout: the diagram gets most of the height
            # Once the new parts are laid out; resizing docks before that skews the split.
            QTimer.singleShot(0, self._size_docks)
        self.set_block_switches_from_diagram()
        self.runner.submit(SUMMARY_JOB, lambda progress, cancelled: cached_summary())
        self.statusBar().showMessage("Computing the architecture summary…", 5000)
        self.parts_ready.emit()

    def _size_docks(self) -> None:
        self.resizeDocks([self.gradient_dock], [max(320, self.height() * 2 // 5)], Qt.Orientation.Vertical)

    def start(self, paths: list[str], weights: str | None = None, device: str | None = None) -> None:
        """What the app does at launch: the parts, then the last weights and device (or the given
        ones: the command line wins), then the command-line images. Tests skip this and never
        download. Importing torch on the GUI thread froze the fresh window for over a second; on a
        worker the window keeps painting (longest gap ~0.2 s, the GIL-held parts of the import)."""
        self._pending_start = (paths, weights, device)
        self.prepare_parts()

    def prepare_parts(self) -> None:
        """Import the part modules on a worker, then :meth:`build_parts` on the GUI thread."""
        self.runner.submit(PARTS_IMPORT_JOB, _import_part_modules)

    def _finish_start(self, paths: list[str], weights: str | None, device: str | None) -> None:
        if weights is None:
            self.classify.restore_settings(self.settings)  # loads the last source, default ImageNet V2
        else:
            self.classify.load_weights(weights)
        if device:
            self.classify.set_device(device)
        if paths:
            self.add_paths(paths)

    def set_block_switches_from_diagram(self) -> None:
        self.gradient.set_block_switches(*self.diagram.switches())

    # -- signals of the parts -------------------------------------------------------------------

    def _on_diagram_block_selected(self, name: str) -> None:
        self.insight.set_block(name)
        try:
            self.inspector.show_item(name)
        except KeyError as exc:
            self.statusBar().showMessage(str(exc), 5000)

    def _on_diagram_switch_toggled(self, block: str, enabled: bool) -> None:
        self.set_block_switches_from_diagram()
        self.statusBar().showMessage(f"{block}: {'on' if enabled else 'off'} for the next gradient run", 5000)

    def _on_classify_status_changed(self, text: str) -> None:
        self._status.setText(text)

    def _on_classify_weights_loaded(self, payload: object) -> None:
        self.inspector.set_weight_stats(payload.get("stats", {}) if isinstance(payload, dict) else {})
        if isinstance(payload, dict) and "info" in payload:
            # The same source on the classifier's device, into the Insight panel's own model.
            self.insight.set_weights(payload["info"]["source"], self.classify.device_box.currentData())

    def _on_classify_image_selected(self, selected: object) -> None:
        if selected:
            self.insight.set_image(*selected)
        else:
            self.insight.set_image(None)

    def _on_insight_block_chosen(self, name: str) -> None:
        if self.diagram.selected() != name:
            self.diagram.select(name)

    def _on_runner_finished(self, kind: str, job_id: int, result: object) -> None:
        if kind == PARTS_IMPORT_JOB:
            self.build_parts()
            if self._pending_start is not None:
                pending, self._pending_start = self._pending_start, None
                self._finish_start(*pending)
        elif kind == SUMMARY_JOB:
            self.diagram.set_summary(result)
            self.inspector.set_summary(result)
            self.statusBar().showMessage("Architecture summary ready: click a block, double-click to expand", 5000)

    def _on_runner_failed(self, kind: str, job_id: int, message: str) -> None:
        if kind == PARTS_IMPORT_JOB:
            self.statusBar().showMessage(f"Cannot load the app's parts: {message}")
        elif kind == SUMMARY_JOB:
            self.statusBar().showMessage(f"Architecture summary failed: {message}")

    # -- menus ----------------------------------------------------------------------------------

    def _on_insight_triggered(self) -> None:
        self.insight_dock.show()
        self.insight_dock.raise_()
        if self.insight is not None:
            self.insight.tabs.setFocus()

    def _on_open_triggered(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open images", "", IMAGE_FILTER)
        if paths:
            self.add_paths(paths)

    def _on_open_folder_triggered(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images")
        if folder:
            self.add_paths([folder])

    def _on_paste_triggered(self) -> None:
        mime = QApplication.clipboard().mimeData()
        if mime is not None and mime.hasUrls():
            self.add_paths([u.toLocalFile() for u in mime.urls() if u.isLocalFile()])
        elif mime is not None and mime.hasImage():
            self.classify.add_qimage(QApplication.clipboard().image(), "clipboard")
            self.classify_dock.raise_()
        else:
            self.statusBar().showMessage("The clipboard holds no image", 5000)

    def _on_export_triggered(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export gradient plot", "gradients.png", "PNG image (*.png);;SVG drawing (*.svg);;CSV table (*.csv)"
        )
        if path:
            self.gradient.export(path)

    def _on_weights_file_triggered(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Load ResNet-50 weights", "", "Checkpoints (*.pth *.pt *.bin *.safetensors);;All files (*)"
        )
        if path:
            self.classify.load_weights(path)

    def _on_about_triggered(self) -> None:
        QMessageBox.about(
            self,
            "About ResNet Explorer",
            "ResNet Explorer: ResNet-50 (He et al. 2015) as a clickable diagram, live classification "
            "and a gradient lab that shows why skip connections matter.",
        )

    # -- drag and drop, closing -----------------------------------------------------------------

    def add_paths(self, paths: list[str]) -> None:
        """Classify image files or folders (File > Open, drops, the command line)."""
        if paths and self.classify is not None:
            self.classify.add_paths(paths)
            self.classify_dock.show()
            self.classify_dock.raise_()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        kind = event.type()
        if kind not in (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop):
            return False
        if not isinstance(watched, QWidget) or watched.window() is not self or self.classify is None:
            return False
        mime = event.mimeData()
        if not (mime.hasUrls() and any(u.isLocalFile() for u in mime.urls())) and not mime.hasImage():
            return False
        event.acceptProposedAction()
        if kind == QEvent.Type.Drop:
            self._on_window_dropped(event)
        return True

    def _on_window_dropped(self, event: QDropEvent) -> None:
        mime = event.mimeData()
        paths = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        if paths:
            self.add_paths(paths)
        elif mime.hasImage():
            self.classify.add_qimage(mime.imageData(), "dropped image")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if not self._closing:
            self._closing = True
            QApplication.instance().removeEventFilter(self)
            self.settings.setValue("window/geometry", self.saveGeometry())
            self.settings.setValue("window/state", self.saveState())
            if self.classify is not None:
                self.classify.save_settings(self.settings)
                self.gradient.save_settings(self.settings)
            self.settings.sync()
            self.runner.shutdown()
        event.accept()
