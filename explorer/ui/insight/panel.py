"""The Insight panel, "see what the network sees" for the image selected in the classification panel:
the most active channels of the block selected in the diagram, Grad-CAM of any top-5 class at any
stage over the image, single lesions and a sweep over every block (Veit et al. 2016), and the metric
the diagram is coloured by (activation norm, gradient norm or Grad-CAM share).

UI layer. Every computation is a job on the "insight" lane, run by ``insight.host.InsightHost`` on
its own model; this widget keeps plain results only. Each view records which (weights, image,
settings) it shows and asks for a job only when that differs from what is wanted, so browsing is
cheap; each view's job is its own handle and a newer request cancels the older (latest wins).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QTabWidget, QVBoxLayout, QWidget

from explorer.core.gradients import GradResult
from explorer.core.insight.gradcam import CamShares
from explorer.core.insight.lesion import Lesion, Sweep
from explorer.core.network.blocks import STEM, block_of, feature_blocks
from explorer.ui.common.overlay import BlockOverlay
from explorer.ui.common.text import sentence, sentences
from explorer.ui.common.widgets import Banner, buddy, wrapping_label
from explorer.ui.insight.activations_tab import ActivationsTab
from explorer.ui.insight.cam_tab import CamTab
from explorer.ui.insight.host import CamView, ChannelGrid, ImageSource, InsightHost, InsightWeights, gradient_block_norms
from explorer.ui.insight.lesions_tab import LesionsTab
from explorer.ui.jobs import JobContext, JobRunner, LatestJob

LANE = "insight"
ACTIVATIONS, CAM, LESION, SWEEP, CAM_SHARE = "activations", "cam", "lesion", "sweep", "cam-share"
TAB_VIEWS = (ACTIVATIONS, CAM, LESION)  # the view of each tab, in tab order
OVERLAY_NONE, OVERLAY_ACTIVATION, OVERLAY_GRADIENT, OVERLAY_CAM_SHARE = "none", "activation", "gradient", "cam-share"
OVERLAY_TITLES = {
    OVERLAY_NONE: "stage colours",
    OVERLAY_ACTIVATION: "activation norm (this image)",
    OVERLAY_GRADIENT: "gradient norm (last gradient-lab run)",
    OVERLAY_CAM_SHARE: "Grad-CAM share (this image, top-1 or chosen class)",
}
# Computed while they colour the diagram even if their tab is not shown (the share has no tab).
OVERLAY_VIEWS = {OVERLAY_ACTIVATION: ACTIVATIONS, OVERLAY_CAM_SHARE: CAM_SHARE}


class _View:
    """One view's job: what the job in flight computes and what the view shows now."""

    def __init__(self, runner: JobRunner) -> None:
        self.job = LatestJob(runner, LANE)
        self.asked: tuple | None = None
        self.shown: tuple | None = None

    def forget(self) -> None:
        self.job.cancel()
        self.asked = self.shown = None


class InsightPanel(QWidget):
    """Tabs for activation maps, Grad-CAM and lesions of one image. Emits ``overlay_changed``
    (a BlockOverlay, or None for the stage colours) and ``block_chosen(str)`` when its own block box
    picks a block (the window selects it in the diagram), ``view_failed(str)`` with a failure's line."""

    overlay_changed = Signal(object)
    block_chosen = Signal(str)
    view_failed = Signal(str)

    def __init__(self, runner: JobRunner, crop: int | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._crop = crop  # tests shrink the images; the app uses the weights' own transform
        self._host = InsightHost()  # used only inside jobs on the insight lane
        self._generation = itertools.count(1)
        self._loading = LatestJob(runner, LANE)
        self._wanted_weights: tuple[str, str, str | None] | None = None  # (source, device, arch) the classifier has
        self._asked_weights: tuple[str, str, str | None] | None = None  # what the last load was for
        self._weights: InsightWeights | None = None
        self._weights_id = 0  # generation of the loaded weights; 0 while none are
        self._image: tuple[str, str, ImageSource] | None = None  # (key, name, source)
        self._views = {kind: _View(runner) for kind in (ACTIVATIONS, CAM, LESION, SWEEP, CAM_SHARE)}
        self._grid: ChannelGrid | None = None
        self._sweep: Sweep | None = None
        self._lesion: Lesion | None = None
        self._norms: dict[str, float] = {}  # activation norms of the current image
        self._cam_shares: CamShares | None = None
        self._top1: int | None = None  # the current image's top-1 class, once a Grad-CAM job has told
        self._gradient_norms: dict[str, float] = {}
        self._weights_problem = ""  # why no weights could be loaded, while none are
        self._build()
        self._show_state()

    # -- construction -------------------------------------------------------------------------------

    def _build(self) -> None:
        self.banner = Banner()
        self.block_box = QComboBox()
        for name in feature_blocks():
            self.block_box.addItem(name, name)
        self.block_box.setToolTip("The block whose channels and lesion are shown (or click one in the diagram)")
        self.overlay_box = QComboBox()
        for key, title in OVERLAY_TITLES.items():
            self.overlay_box.addItem(title, key)
        self.overlay_box.setToolTip("Colour each block of the diagram by this metric")
        top = QHBoxLayout()
        top.addWidget(buddy("&Block", self.block_box))
        top.addWidget(self.block_box)
        top.addSpacing(12)
        top.addWidget(buddy("Colour &diagram by", self.overlay_box))
        top.addWidget(self.overlay_box)
        top.addStretch(1)
        self.message_label = wrapping_label()
        self.activations = ActivationsTab()
        self.cam = CamTab()
        self.lesions = LesionsTab()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.activations, "&Activations")
        self.tabs.addTab(self.cam, "&Grad-CAM")
        self.tabs.addTab(self.lesions, "&Lesions")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.banner)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.message_label)

        self.block_box.currentIndexChanged.connect(self._on_block_box_changed)
        self.overlay_box.currentIndexChanged.connect(self._on_overlay_box_changed)
        self.tabs.currentChanged.connect(self.refresh)
        self.activations.channels_spin.valueChanged.connect(self.refresh)
        self.cam.stage_box.currentIndexChanged.connect(self.refresh)
        self.cam.class_box.activated.connect(self.refresh)
        self.lesions.kind_box.currentIndexChanged.connect(self.refresh)
        self.lesions.sweep_button.clicked.connect(self.sweep)

    # -- public API ---------------------------------------------------------------------------------

    def set_weights(self, source: str, device: str, arch: str | None = None) -> None:
        """The classifier's weights source (and member, for ``random``), for the panel's own model: loaded (a job) once the panel
        is shown or colours the diagram, so a hidden dock costs no memory or CPU at start-up; every
        view is then recomputed for the new weights and the activation cache starts empty."""
        self._wanted_weights, self._asked_weights = (source, device, arch), None
        self._weights_id, self._weights_problem = 0, ""
        self._loading.cancel()
        self._forget_results()
        self._show_state()
        self.refresh()

    def _load_weights(self) -> None:
        (source, device, arch), host, crop = self._wanted_weights, self._host, self._crop
        self._asked_weights = self._wanted_weights
        # Once the dock, just brought up, has painted: building its model took the interpreter lock
        # from that first paint (the Insight phase's longest gap, 37-50 ms).
        job = self._loading.submit(lambda ctx: host.load(source, device, crop, arch), after_paint=self)
        job.returned.connect(self._on_weights_returned)
        job.errored.connect(self._on_weights_errored)
        self._say(f"Preparing the insight views for {Path(source).name}…")

    def set_image(self, key: str | None, name: str = "", source: ImageSource | None = None) -> None:
        """The image the views explain (the classification panel's selection); None: no image."""
        self._image = (key, name, source) if key is not None and source is not None else None
        self._forget_results()
        self._show_state()
        self.refresh()

    def set_block(self, name: str) -> None:
        """The block shown (the diagram's selection): a layer name selects its block; the head,
        which has no activation map, is ignored."""
        block = block_of(name)
        if block is None or self.block_box.findData(block) < 0 or block == self.block():
            return
        self.block_box.setCurrentIndex(self.block_box.findData(block))

    def block(self) -> str:
        return self.block_box.currentData()

    def set_gradient_results(self, results: Sequence[GradResult]) -> None:
        """The gradient lab's last run, for the gradient-norm overlay."""
        self._gradient_norms = gradient_block_norms(results) if results else {}
        self._emit_overlay()

    def sweep(self) -> None:
        """Lesion every block in turn (the kind chosen) and chart the top-1's probability drop."""
        if not self.is_ready():
            return
        key, _, source = self._image
        host, kind = self._host, self.lesions.kind_box.currentData()
        self.lesions.sweep_progress.setValue(0)
        view = self._submit(SWEEP, self._want(SWEEP), lambda ctx: host.sweep(key, source, kind, ctx.progress, ctx.cancelled))
        view.job.current().progressed.connect(lambda text, fraction: self.lesions.sweep_progress.setValue(round(1000 * fraction)))
        self._say("")

    def has_weights(self) -> bool:
        """True once the panel's model holds the weights last asked for."""
        return self._weights is not None and self._weights_id > 0

    def is_ready(self) -> bool:
        """True once weights are loaded and an image is chosen: the views can be computed."""
        return self.has_weights() and self._image is not None

    def busy(self, view: str) -> bool:
        """True while ``view``'s job (``activations``, ``cam``, ``lesion``, ``sweep``, ``cam-share``) runs."""
        return self._views[view].job.is_running()

    def activations_result(self) -> ChannelGrid | None:
        return self._grid

    def cam_result(self) -> CamView | None:
        return self.cam.result()

    def cam_image(self) -> Image.Image | None:
        """The blended picture shown in the Grad-CAM tab."""
        return self.cam.blended()

    def lesion_result(self) -> Lesion | None:
        return self._lesion

    def sweep_result(self) -> Sweep | None:
        return self._sweep

    def cam_shares_result(self) -> CamShares | None:
        return self._cam_shares

    # -- jobs ---------------------------------------------------------------------------------------

    def _want(self, view: str) -> tuple:
        """What ``view`` should show now: the weights, image and that view's settings."""
        base = (self._weights_id, self._image[0] if self._image else None)
        if view == ACTIVATIONS:
            return (*base, self.block(), *self.activations.want())
        if view == CAM:
            return (*base, *self.cam.want())
        if view == LESION:
            return (*base, self.block(), *self.lesions.want())
        if view == CAM_SHARE:
            # The Grad-CAM tab's class; its top-1 counts as the default, so filling the class box
            # with the top-1 does not ask for the same shares again.
            chosen = self.cam.class_box.currentData()
            return (*base, None if chosen == self._top1 else chosen)
        return (*base, *self.lesions.want())

    def refresh(self, *_: object) -> None:
        """Ask for the jobs whose views are stale: the shown tab's, while the panel is on screen (a
        dock tabbed behind another costs no CPU), and the metric that colours the diagram."""
        self._show_state()
        overlay_view = OVERLAY_VIEWS.get(self.overlay_box.currentData())
        on_screen = self._on_screen()
        needed = on_screen or overlay_view is not None
        if needed and self._wanted_weights is not None and self._weights_id == 0 and self._asked_weights != self._wanted_weights:
            self._load_weights()
        if not self.is_ready():
            return
        wanted = [TAB_VIEWS[self.tabs.currentIndex()]] if on_screen else []
        if overlay_view is not None and overlay_view not in wanted:
            wanted.append(overlay_view)
        key, _, source = self._image
        host = self._host
        for view in wanted:
            want = self._want(view)
            state = self._views[view]
            if state.shown == want or (state.asked == want and state.job.is_running()):
                continue
            if view == ACTIVATIONS:
                block, k = self.block(), self.activations.channels_spin.value()
                self._submit(view, want, lambda ctx: host.activations(key, source, block, k))
            elif view == CAM:
                stage, chosen = self.cam.want()
                self._submit(view, want, lambda ctx: host.cam(key, source, stage, chosen))
            elif view == CAM_SHARE:
                self._submit(view, want, lambda ctx, chosen=want[-1]: host.cam_shares(key, source, chosen))
            elif self.block() == STEM:  # LESION: the stem has no shortcut
                self._lesion = None
                self.lesions.show_stem()
            else:
                block, kind = self.block(), self.lesions.kind_box.currentData()
                self._submit(view, want, lambda ctx: host.lesion(key, source, block, kind))

    def _submit(self, view: str, want: tuple, fn: Callable[[JobContext], object]) -> _View:
        state = self._views[view]
        job = state.job.submit(fn)
        state.asked = want
        job.returned.connect(lambda result: self._on_view_returned(view, want, result))
        job.errored.connect(lambda message: self._on_view_errored(view, message))
        return state

    def _forget_results(self) -> None:
        """The weights or the image changed: nothing shown is current any more."""
        for state in self._views.values():
            state.forget()
        self._grid, self._lesion, self._sweep, self._norms = None, None, None, {}
        self._cam_shares, self._top1 = None, None
        self.activations.clear()
        self.cam.clear()
        self.lesions.clear()
        self._emit_overlay()

    # -- job results --------------------------------------------------------------------------------

    def _on_weights_returned(self, weights: InsightWeights) -> None:
        self._weights, self._weights_problem = weights, ""
        self._set_blocks(weights.blocks)
        self._weights_id = next(self._generation)
        self._say("")
        self.refresh()

    def _on_weights_errored(self, message: str) -> None:
        if self._weights is not None:
            # The host keeps its previous model when a load fails: the views go on with those weights.
            self._weights_id = next(self._generation)
            self._say(sentences(f"Loading the weights failed: {message}", f"Still showing {self._weights.label}"))
            self.refresh()
        else:
            self._say(sentence(f"Loading the weights failed: {message}"))
            self._weights_problem = message
            self._show_state()
        self.view_failed.emit(message)

    def set_weights_failed(self, message: str) -> None:
        """The classifier could not load the weights these views would use: while none are loaded
        here, the banner says why instead of waiting for ever."""
        self._weights_problem = message
        self._show_state()

    def _on_view_returned(self, view: str, want: tuple, result: object) -> None:
        self._views[view].shown = want
        names = self._weights.class_names
        if view == ACTIVATIONS:
            self._grid = result
            self.activations.show_grid(result)
            self._norms = result.norms
            self._emit_overlay()
        elif view == CAM:
            self._top1 = result.cam.top[0][0]
            self.cam.show_cam(result, names)
            self._views[CAM].shown = self._want(CAM)  # the class box now names the class it shows
        elif view == CAM_SHARE:
            self._cam_shares = result
            if want[-1] is None:
                self._top1 = result.class_index
            self._emit_overlay()
        elif view == LESION:
            self._lesion = result
            self.lesions.show_lesion(result, names)
        elif view == SWEEP:
            self._sweep = result
            self.lesions.show_sweep(result, names)
        self._show_state()

    def _on_view_errored(self, view: str, message: str) -> None:
        self.lesions.sweep_progress.setValue(0)
        self._say(sentence(f"{'The sweep' if view == SWEEP else 'This view'} failed: {message}"))
        self.view_failed.emit(message)

    # -- rendering ---------------------------------------------------------------------------------------

    def _emit_overlay(self) -> None:
        metric = self.overlay_box.currentData()
        name = self._image[1] if self._image else ""
        if metric == OVERLAY_ACTIVATION and self._norms:
            self.overlay_changed.emit(BlockOverlay(dict(self._norms), f"activation norm ‖output‖₂ per block, {name}"))
        elif metric == OVERLAY_CAM_SHARE and self._cam_shares is not None:
            shares = self._cam_shares
            label = f"Grad-CAM share per block of “{self._weights.class_names[shares.class_index]}” ({shares.class_prob:.1%}), {name}"
            if not any(shares.masses.values()):
                label += ": no positive evidence in any block"
            self.overlay_changed.emit(BlockOverlay(dict(shares.shares), label))
        elif metric == OVERLAY_GRADIENT and self._gradient_norms:
            label = "weight-gradient norm per block (conv1–3 combined), last gradient-lab run, residual"
            self.overlay_changed.emit(BlockOverlay(dict(self._gradient_norms), label, log_scale=True))
        else:
            self.overlay_changed.emit(None)

    def _show_state(self) -> None:
        """The banner: what is missing before the views mean something."""
        if self._image is None:
            text = "Drop an image first: these views explain the image selected in the Classification panel."
        elif not self.has_weights() and self._weights_problem and not self._loading.is_running():
            text = sentences(f"No weights: {self._weights_problem}", "Choose weights in the Weights menu (a local file, or Random (untrained))")
        elif not self.has_weights():
            text = "Waiting for the weights to load…"
        elif not self._weights.trained:
            text = "Random weights: load trained weights (Weights menu) for meaningful maps."
        else:
            text = ""
        self.banner.set_note(text)
        self.lesions.sweep_button.setEnabled(self.is_ready())

    def _say(self, text: str) -> None:
        self.message_label.setText(text)

    # -- widget signals -------------------------------------------------------------------------------------

    def _set_blocks(self, blocks: tuple[str, ...]) -> None:
        """The block box and the lesions follow the network the weights belong to."""
        if blocks == tuple(self.block_box.itemData(i) for i in range(self.block_box.count())):
            return
        chosen = self.block()
        with QSignalBlocker(self.block_box):
            self.block_box.clear()
            for name in blocks:
                self.block_box.addItem(name, name)
            self.block_box.setCurrentIndex(max(0, self.block_box.findData(chosen)))
        self.lesions.set_blocks(blocks[1:])

    def _on_block_box_changed(self, index: int) -> None:
        self.block_chosen.emit(self.block())
        self.refresh()

    def _on_overlay_box_changed(self, index: int) -> None:
        self._emit_overlay()
        self.refresh()

    def _on_screen(self) -> bool:
        # Qt keeps a dock tabbed behind another "visible", parked outside the window: there its
        # Grad-CAM ran beside every classification and doubled the forward's time on 2 cores.
        return self.isVisible() and not self.visibleRegion().isEmpty()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        self.refresh()  # what was skipped while hidden
