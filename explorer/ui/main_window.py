"""The main window: the block diagram in the centre, the inspector and classification docks on the
right, the gradient lab, Race, Insight and Theory docks below, menus, drag-and-drop of images and model files
anywhere, the status bar and the saved layout. The parts follow the network the classifier's
weights belong to: loading ResNet-18 weights rebuilds the diagram, the lab's network and Insight's.

UI layer. It builds the parts and wires their signals; it computes nothing itself. The window is
shown before anything imports torch: ``start`` (the app, right after the first paint) imports the
torch-backed part modules on a worker, then ``build_parts`` builds them on the GUI thread (tests
call ``build_parts`` directly). The architecture summary is computed in a job too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QIcon, QShowEvent
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QWidget

from explorer.core.network.blocks import residual_blocks
from explorer.core.network.stages import DEFAULT_ARCH, MEMBERS
from explorer.ui import window_layout
from explorer.ui.classify.first_look import FirstLook, request_at_start
from explorer.ui.classify.model_menus import ModelMenus, is_checkpoint
from explorer.ui.common import wheel_guard
from explorer.ui.common.drops import DropFilter
from explorer.ui.common.switches import BlockSwitches
from explorer.ui.diagram.view import BlockDiagram  # torch-free; imported here, 30 ms before the window shows, not after
from explorer.ui.jobs import JobRunner
from explorer.ui.startup import PARTS_LANE, cached_summary, icon_path, import_part_modules, run_in_steps
from explorer.ui.window_menus import WindowMenus

if TYPE_CHECKING:  # imported for real in build_parts, after the window is on screen
    from explorer.core.network.summary import ModelSummary
    from explorer.ui.classify.panel import ClassifyPanel
    from explorer.ui.gradient_lab.panel import GradientPanel
    from explorer.ui.insight.panel import InsightPanel
    from explorer.ui.inspector.panel import Inspector
    from explorer.ui.race.panel import RacePanel
    from explorer.ui.theory.panel import TheoryPanel


QUIT_WAIT_MS = 1000  # how long closing waits for the workers to stop


class MainWindow(QMainWindow):
    """The application window. ``parts_ready`` fires once the diagram and panels exist,
    ``summary_ready`` once the architecture numbers are in."""

    parts_ready = Signal()
    summary_ready = Signal()

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._network = (DEFAULT_ARCH, 1000)  # the member and head count the parts show
        self.setWindowTitle(f"{MEMBERS[DEFAULT_ARCH].title} · ResNet Explorer")
        path = icon_path()
        if path is not None:
            self.setWindowIcon(QIcon(str(path)))
        self.settings = settings if settings is not None else QSettings()
        self.runner = JobRunner(self)
        self._pending_start: tuple[list[str], str | None, str | None] | None = None
        self.switches: BlockSwitches | None = None
        self.diagram: BlockDiagram | None = None
        self.inspector: Inspector | None = None
        self.classify: ClassifyPanel | None = None
        self.gradient: GradientPanel | None = None
        self.insight: InsightPanel | None = None
        self.race: RacePanel | None = None
        self.theory: TheoryPanel | None = None
        self._closing = False
        self.first_look: FirstLook | None = None  # the dock's content until the panel has a result
        self._early: list[Callable[[], None]] = []  # the classifier's results while the parts were built

        placeholder = QLabel(f"Loading {MEMBERS[DEFAULT_ARCH].title}…")
        placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setCentralWidget(placeholder)
        # The right column runs the full height; the bottom docks sit under the diagram only.
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.setCorner(Qt.Corner.TopRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self.inspector_dock = self._dock("Inspector", "inspector_dock")
        self.classify_dock = self._dock("Classification", "classify_dock")
        self.gradient_dock = self._dock("Gradient lab", "gradient_dock")
        self.race_dock = self._dock("Race", "race_dock")
        self.insight_dock = self._dock("Insight", "insight_dock")
        self.theory_dock = self._dock("Theory", "theory_dock")
        self.side_docks = [self.classify_dock, self.inspector_dock]
        self.bottom_docks = [self.gradient_dock, self.race_dock, self.insight_dock, self.theory_dock]
        window_layout.place_default(self, self.side_docks, self.bottom_docks)
        self.classify_dock.raise_()
        self.gradient_dock.raise_()
        self._status = QLabel("Weights: none yet")
        self.statusBar().addPermanentWidget(self._status)
        self.model_menus = ModelMenus(self.settings, self)
        self.model_menus.model_chosen.connect(self._on_model_menus_model_chosen)
        self.model_menus.notice.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.menus = WindowMenus(self)
        self.actions = self.menus.actions
        # An explicit minimum: without it, the window's minimum follows its children's size hints
        # and Qt grows the window past the screen whenever a label gets longer text.
        self.setMinimumSize(window_layout.MINIMUM)
        self.resize(window_layout.start_size(self))
        geometry, state = self.settings.value("window/geometry"), self.settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        self._restored = state is not None and self.restoreState(state)
        self.drops = DropFilter(self, lambda: self.classify is not None)
        self.drops.paths_dropped.connect(self.open_paths)
        self.drops.image_dropped.connect(lambda image: self.classify.add_qimage(image, "dropped image"))

    # -- construction ---------------------------------------------------------------------------

    def _dock(self, title: str, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)  # saveState/restoreState key
        label = QLabel("Loading…")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        dock.setWidget(label)
        return dock

    def build_diagram(self) -> None:
        """The diagram and its switches, in the centre: torch-free, so the window's first frame shows
        the network while torch loads on a worker later. Idempotent."""
        if self.diagram is not None:
            return
        self.switches = BlockSwitches(residual_blocks())
        self.diagram = BlockDiagram(self.switches)
        self.setCentralWidget(self.diagram)
        self._adopt(self.diagram)
        self.diagram.block_selected.connect(self._on_diagram_block_selected)
        self.diagram.notice.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.switches.changed.connect(self._on_switches_changed)
        self.menus.add_diagram(self.diagram.actions)

    def build_parts(self) -> None:
        """Import the torch-backed views, put them in place, wire them and start the summary job.
        Idempotent."""
        for _ in self._parts_steps():
            pass

    def _parts_steps(self) -> Iterator[None]:
        """:meth:`build_parts` a part per step, each put in its dock, the event loop running between
        (all at once: 400-470 ms on a quiet 2-core EPYC, the steps 5-125 ms each)."""
        if self.classify is not None:
            return
        if self.diagram is None:  # the app's start built it; building it and the first part in one turn took 45 ms
            self.build_diagram()
            yield
        from explorer.ui.classify.panel import ClassifyPanel
        from explorer.ui.gradient_lab.panel import GradientPanel
        from explorer.ui.insight.panel import InsightPanel
        from explorer.ui.inspector.panel import Inspector
        from explorer.ui.race.panel import RacePanel
        from explorer.ui.theory.panel import TheoryPanel

        self.classify = ClassifyPanel(self.runner)
        self._place(self.classify_dock, self.classify)
        if self.first_look is not None:  # the start-up's quick result stays until the panel has its own
            self.first_look.keep_in(self.classify_dock, self.classify)
            self.first_look = None
        self.classify.status_changed.connect(self._status.setText)
        self.classify.weights_loaded.connect(self._on_classify_weights_loaded)
        self.classify.weights_failed.connect(self._on_classify_weights_failed)
        self.classify.image_selected.connect(self._on_classify_image_selected)
        # The launch's weights load on their worker meanwhile (an early result waits for the last step).
        self._load_start_weights()
        yield
        self.inspector = Inspector()
        self._place(self.inspector_dock, self.inspector)
        yield
        self.gradient = yield from GradientPanel.in_steps(self.runner, self.switches)
        self._place(self.gradient_dock, self.gradient)
        yield
        self.insight = InsightPanel(self.runner)
        self._place(self.insight_dock, self.insight)
        yield
        self.race = yield from RacePanel.in_steps(self.runner)
        self._place(self.race_dock, self.race)
        yield
        self.theory = yield from TheoryPanel.in_steps(self.runner)
        self._place(self.theory_dock, self.theory)
        yield

        self.gradient.run_finished.connect(self._on_gradient_run_finished)
        self.insight.overlay_changed.connect(self.diagram.set_overlay)
        self.insight.block_chosen.connect(self._on_insight_block_chosen)
        # Its tab brought forward: once laid out there, Insight computes what it skipped behind.
        self.insight_dock.visibilityChanged.connect(lambda shown: shown and QTimer.singleShot(0, self.insight.refresh))

        self.menus.add_parts(self.classify.weights_menu, self.gradient.actions, self.race.actions, self.theory.actions)

        self.gradient.restore_settings(self.settings)
        # Once the new parts are laid out: a check (or a resize of the docks) before that is skewed.
        QTimer.singleShot(0, self._check_layout)
        self._submit_summary()
        early, self._early = self._early, []
        for handle in early:
            handle()
        self.parts_ready.emit()

    def _place(self, dock: QDockWidget, part: QWidget) -> None:
        from explorer.ui.common.widgets import scrolling

        dock.setWidget(scrolling(part, horizontal=True))
        self._adopt(part)

    def _adopt(self, part: QWidget) -> None:
        """A part's boxes follow the wheel rule and its drop-taking widgets take files for the window."""
        wheel_guard.guard_boxes(part)
        self.drops.watch(part)

    def _submit_summary(self) -> None:
        arch, classes = self._network
        job = self.runner.submit(lambda ctx: cached_summary(arch, classes), PARTS_LANE)
        job.returned.connect(self._on_summary_returned)
        job.errored.connect(lambda message: self.statusBar().showMessage(f"Architecture summary failed: {message}"))
        self.statusBar().showMessage("Computing the architecture summary…")

    def network(self) -> tuple[str, int]:
        """The member (``"resnet18"``) and the number of classes the diagram and panels show."""
        return self._network

    def show_network(self, arch: str, num_classes: int) -> None:
        """Rebuild the parts for another member or head (the classifier loaded its weights): the
        diagram and its switches, the lab's network, the title, and a new summary (a job)."""
        if (arch, num_classes) == self._network:
            return
        if arch not in MEMBERS:  # a shape outside the family's table: classified, not drawn
            self.statusBar().showMessage(f"{arch}: the diagram and the lab show only the family's members", 8000)
            return
        self._network, spec = (arch, num_classes), MEMBERS[arch]
        # Whatever was computed for the old network goes: its overlay, the lab's run and its exports.
        self.switches.reset(residual_blocks(spec.stages))
        self.diagram.set_network(spec.stages, spec.stem)
        self.gradient.set_network(arch)
        self.insight.set_gradient_results([])
        self.theory.set_network(arch)
        self.setWindowTitle(f"{spec.title} · ResNet Explorer")
        self._submit_summary()

    def start(self, paths: list[str], weights: str | None = None, device: str | None = None) -> None:
        """What the app does at launch: the parts, then the last weights and device (or the given
        ones: the command line wins), then the command-line images. Tests skip this and never
        download. Importing torch on the GUI thread froze the fresh window for over a second; on a
        worker the window keeps painting (longest gap ~0.2 s, the GIL-held parts of the import)."""
        self._pending_start = (paths, weights, device)
        if paths:  # the first image from the engine cache without torch (ui/classify/first_look.py), then the rest
            self.first_look = FirstLook.open_in(self.classify_dock, self.runner, request_at_start(self.settings, weights, device),
                                                paths, then=self.prepare_parts)
        self.build_diagram()  # run_app has built it before the window showed; tests start without one
        if not paths:
            self.prepare_parts()

    def prepare_parts(self) -> None:
        """Import the part modules on a worker, then :meth:`build_parts` on the GUI thread."""
        job = self.runner.submit(import_part_modules, PARTS_LANE)
        job.returned.connect(self._on_parts_imported)
        job.errored.connect(lambda message: self.statusBar().showMessage(f"Cannot load the app's parts: {message}"))

    def _on_parts_imported(self, _: object) -> None:
        run_in_steps(self._parts_steps(), self._open_start_paths)  # one part per turn of the event loop

    def _open_start_paths(self) -> None:
        if self._pending_start is not None:
            paths, self._pending_start = self._pending_start[0], None
            self.open_paths(paths)

    def _load_start_weights(self) -> None:
        if self._pending_start is None:
            return
        _, weights, device = self._pending_start
        if device:
            self.classify.set_device(device)
        if weights is None:
            self.classify.restore_settings(self.settings)  # loads the last source, default ImageNet V2
        else:
            self.classify.load_weights(weights)

    # -- layout ---------------------------------------------------------------------------------

    def reset_layout(self) -> None:
        """View > Reset layout: every dock back in place at its default size."""
        window_layout.place_default(self, self.side_docks, self.bottom_docks)
        self.classify_dock.raise_()
        self.gradient_dock.raise_()
        window_layout.clamp_to_screen(self)
        if self.diagram is not None:
            self.diagram.fit()

    def _check_layout(self) -> None:
        if not self._restored:
            window_layout.size_docks(self, self.side_docks, self.bottom_docks)
        elif window_layout.central_share(self) < window_layout.MIN_CENTRAL_SHARE:
            self.reset_layout()
            self.statusBar().showMessage("The saved layout left the diagram too little room; the default layout is back.", 8000)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        window_layout.clamp_to_screen(self)  # a geometry saved on a larger screen

    # -- signals of the parts -------------------------------------------------------------------

    def _on_summary_returned(self, summary: ModelSummary) -> None:
        run_in_steps(self._summary_steps(summary), lambda: None)

    def _summary_steps(self, summary: ModelSummary) -> Iterator[None]:
        """The summary handed to the parts over two turns of the event loop (ResNet-152's took 55 ms
        at once while its classifier loaded), the diagram last: once it has the summary, so has
        everything. A summary of a network no longer shown is dropped at either step."""
        if (summary.arch, summary.num_classes) != self._network:
            return  # the summary of a network shown before this one
        self.inspector.set_summary(summary)
        self.gradient.set_summary(summary)
        yield
        if (summary.arch, summary.num_classes) != self._network:
            return
        if self.statusBar().currentMessage().startswith("Computing the architecture"):
            self.statusBar().clearMessage()
        self.diagram.set_summary(summary)
        if not self.statusBar().currentMessage():  # a layout notice stays
            spec = MEMBERS[summary.arch]
            self.statusBar().showMessage(f"{spec.title}: {spec.kind_text}. Click a block, double-click to expand", 8000)
        self.summary_ready.emit()

    def _on_diagram_block_selected(self, name: str) -> None:
        if self.insight is None:  # the parts are still loading
            return
        self.insight.set_block(name)
        try:
            self.inspector.show_item(name)
        except KeyError as exc:
            self.statusBar().showMessage(str(exc), 5000)
            return
        self.inspector_dock.raise_()  # a click shows the block's facts, not the tab in front of them

    def _on_switches_changed(self, block: str, what: str, on: bool) -> None:
        words = {"shortcut": "shortcut", "residual": "residual branch"}[what]
        self.statusBar().showMessage(f"{block}: {words} {'on' if on else 'off'} for the next gradient run", 5000)

    def _on_gradient_run_finished(self, results: list) -> None:
        # A run of the network the diagram shows colours it; one of another member (the lab's own
        # choice) has block names the diagram does not have.
        if results and results[0].config.get("arch", DEFAULT_ARCH) == self._network[0]:
            self.insight.set_gradient_results(results)

    def _on_classify_weights_failed(self, message: str) -> None:
        if self.theory is None:  # the parts are still being built: the last step hands it on
            self._early.append(lambda: self._on_classify_weights_failed(message))
            return
        self.insight.set_weights_failed(message)

    def _on_classify_weights_loaded(self, payload: dict) -> None:
        if self.theory is None:  # the parts are still being built: the last step hands it on
            self._early.append(lambda: self._on_classify_weights_loaded(payload))
            return
        info = payload["info"]
        self.show_network(info["arch"], info["num_classes"])
        self.model_menus.opened(info["source"], info["arch"])
        self.inspector.set_weight_stats(payload.get("stats", {}))
        # The same source and network on the classifier's device, into the Insight panel's own model.
        self.insight.set_weights(info["source"], self.classify.device(), info["arch"])

    def _on_model_menus_model_chosen(self, source: str, arch: str) -> None:
        if self.classify is not None:
            self.classify.load_weights(source, arch or None)
            self.classify_dock.raise_()

    def _on_classify_image_selected(self, selected: object) -> None:
        if self.theory is None:  # the parts are still being built: the last step hands it on
            self._early.append(lambda: self._on_classify_image_selected(selected))
            return
        if selected:
            self.insight.set_image(*selected)
        else:
            self.insight.set_image(None)

    def _on_insight_block_chosen(self, name: str) -> None:
        # A layer selected in the diagram stays selected: Insight chose the block it belongs to.
        selected = self.diagram.selected()
        if selected is None or self.diagram.block_of_item(selected) != name:
            self.diagram.select(name)

    # -- drag and drop, closing -----------------------------------------------------------------

    def add_paths(self, paths: list[str]) -> None:
        """Classify image files or folders (File > Open, drops, the command line)."""
        if paths and self.classify is not None:
            self.classify.add_paths(paths)
            self.classify_dock.show()
            self.classify_dock.raise_()

    def open_paths(self, paths: list[str]) -> None:
        """Dropped files or the command line's: a model file opens its network (the last one, if
        several); the images beside it are classified with it (they wait for the weights)."""
        models = [p for p in paths if is_checkpoint(p)]
        if models:
            self.classify.load_weights(models[-1])
        self.add_paths([p for p in paths if not is_checkpoint(p)])

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if not self._closing:
            self._closing = True
            self.settings.setValue("window/geometry", self.saveGeometry())
            self.settings.setValue("window/state", self.saveState())
            if self.race is not None:  # every part built
                self.classify.save_settings(self.settings)
                self.gradient.save_settings(self.settings)
            self.settings.sync()
            self.hide()  # gone at once, while a worker's step in flight stops
            # Not longer: a race step in flight took 3.5 s to reach its cancel check; the app ends the
            # process when the loop ends (ui/app.py), and nothing a worker holds needs saving.
            self.runner.shutdown(QUIT_WAIT_MS)
        event.accept()
