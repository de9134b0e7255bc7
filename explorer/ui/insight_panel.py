"""The Insight panel, "see what the network sees" for the image selected in the classification panel:
the most active channels of the block selected in the diagram, Grad-CAM of any top-5 class at any
stage over the image, single lesions and a sweep over all 16 blocks (Veit et al. 2016), and the
metric the diagram is coloured by (activation norm, gradient norm or Grad-CAM share).

Qt view (explorer.ui). Every computation is a job on the JobRunner's "insight" lane, run by
explorer.ui.insight_jobs.InsightHost on its own model; this widget keeps plain results only. Each
view records which (weights, image, settings) it shows, and asks for a job only when that differs from
what is wanted, so browsing is cheap and a superseded job's result is dropped (latest wins).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QPalette, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.core.gradcam import COLORMAPS, DEFAULT_STAGE, STAGES, CamShares, overlay
from explorer.core.gradients import GradResult
from explorer.core.lesion import KINDS, Lesion, Sweep
from explorer.ui.diagram_items import BlockOverlay
from explorer.ui.insight_jobs import (
    CamView,
    ChannelGrid,
    ImageSource,
    InsightHost,
    InsightWeights,
    activation_block_names,
    gradient_block_norms,
)
from explorer.ui.insight_views import ActivationGrid, SweepChart, TopTable, rgb_pixmap
from explorer.ui.workers import JobRunner

LANE = "insight"
WEIGHTS_KIND = "insight:weights"
ACTIVATIONS_KIND = "insight:activations"
CAM_KIND = "insight:cam"
LESION_KIND = "insight:lesion"
SWEEP_KIND = "insight:sweep"
CAM_SHARE_KIND = "insight:cam-share"
DEFAULT_CHANNELS = 16
CAM_PX = 360
STAGE_TITLES = {1: "1 (stem)", 2: "2 (layer1)", 3: "3 (layer2)", 4: "4 (layer3)", 5: "5 (layer4)"}
OVERLAY_NONE, OVERLAY_ACTIVATION, OVERLAY_GRADIENT, OVERLAY_CAM_SHARE = "none", "activation", "gradient", "cam-share"
OVERLAY_TITLES = {
    OVERLAY_NONE: "stage colours",
    OVERLAY_ACTIVATION: "activation norm (this image)",
    OVERLAY_GRADIENT: "gradient norm (last gradient-lab run)",
    OVERLAY_CAM_SHARE: "Grad-CAM share (this image, top-1 or chosen class)",
}
# Computed while they colour the diagram even if their tab is not shown (the share has no tab).
OVERLAY_KINDS = {OVERLAY_ACTIVATION: ACTIVATIONS_KIND, OVERLAY_CAM_SHARE: CAM_SHARE_KIND}
KIND_TITLES = {"residual": "residual branch (keep the shortcut)", "shortcut": "shortcut (keep the residual branch)"}


class InsightPanel(QWidget):
    """Tabs for activation maps, Grad-CAM and lesions of one image. Emits ``overlay_changed``
    (a BlockOverlay, or None for the stage colours) and ``block_chosen(str)`` when its own block box
    picks a block (the window selects it in the diagram)."""

    overlay_changed = Signal(object)
    block_chosen = Signal(str)

    def __init__(self, runner: JobRunner, crop: int | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._crop = crop  # tests shrink the images; the app uses the weights' own transform
        self._host = InsightHost()  # used only inside jobs on the insight lane
        self._generation = itertools.count(1)
        self._weights: InsightWeights | None = None
        self._weights_id = 0  # generation of the loaded weights; 0 while none are
        self._image: tuple[str, str, ImageSource] | None = None  # (key, name, source)
        self._jobs: dict[str, tuple[int, tuple]] = {}  # kind -> (job id, what it computes)
        self._shown: dict[str, tuple] = {}  # kind -> what the view shows now
        self._grid: ChannelGrid | None = None
        self._cam: CamView | None = None
        self._blended: Image.Image | None = None
        self._sweep: Sweep | None = None
        self._lesion: Lesion | None = None
        self._norms: dict[str, float] = {}  # activation norms of the current image
        self._cam_shares: CamShares | None = None
        self._top1: int | None = None  # the current image's top-1 class, once a Grad-CAM job has told
        self._gradient_norms: dict[str, float] = {}
        self._build()
        runner.progress.connect(self._on_runner_progress)
        runner.finished.connect(self._on_runner_finished)
        runner.failed.connect(self._on_runner_failed)
        self._show_state()

    # -- construction -------------------------------------------------------------------------------

    def _build(self) -> None:
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setAutoFillBackground(True)
        self.banner.setMargin(6)
        pal = self.banner.palette()
        pal.setColor(QPalette.ColorRole.Window, pal.color(QPalette.ColorRole.ToolTipBase))
        pal.setColor(QPalette.ColorRole.WindowText, pal.color(QPalette.ColorRole.ToolTipText))
        self.banner.setPalette(pal)
        self.block_box = QComboBox()
        for name in activation_block_names():
            self.block_box.addItem(name, name)
        self.block_box.setToolTip("The block whose channels and lesion are shown (or click one in the diagram)")
        self.overlay_box = QComboBox()
        for key, title in OVERLAY_TITLES.items():
            self.overlay_box.addItem(title, key)
        self.overlay_box.setToolTip("Colour each block of the diagram by this metric")
        top = QHBoxLayout()
        top.addWidget(_buddy("&Block", self.block_box))
        top.addWidget(self.block_box)
        top.addSpacing(12)
        top.addWidget(_buddy("Colour &diagram by", self.overlay_box))
        top.addWidget(self.overlay_box)
        top.addStretch(1)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_activations(), "&Activations")
        self.tabs.addTab(self._build_cam(), "&Grad-CAM")
        self.tabs.addTab(self._build_lesions(), "&Lesions")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.banner)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.message_label)

        self.block_box.currentIndexChanged.connect(self._on_block_box_changed)
        self.overlay_box.currentIndexChanged.connect(self._on_overlay_box_changed)
        self.tabs.currentChanged.connect(self._on_tabs_changed)

    def _build_activations(self) -> QWidget:
        self.channels_spin = QSpinBox()
        self.channels_spin.setRange(1, 64)
        self.channels_spin.setValue(DEFAULT_CHANNELS)
        self.activations_label = QLabel()
        self.activations_label.setWordWrap(True)
        self.grid = ActivationGrid()
        row = QHBoxLayout()
        row.addWidget(_buddy("&Channels", self.channels_spin))
        row.addWidget(self.channels_spin)
        row.addWidget(self.activations_label, 1)
        page = QWidget()
        column = QVBoxLayout(page)
        column.addLayout(row)
        column.addWidget(self.grid, 1)
        self.channels_spin.valueChanged.connect(self._refresh)
        return page

    def _build_cam(self) -> QWidget:
        self.stage_box = QComboBox()
        for stage in STAGES:
            self.stage_box.addItem(STAGE_TITLES.get(stage, str(stage)), stage)
        self.stage_box.setCurrentIndex(self.stage_box.findData(DEFAULT_STAGE))
        self.class_box = QComboBox()
        self.class_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.class_box.setToolTip("Any of the image's top-5 classes")
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(50)
        self.opacity_slider.setToolTip("Opacity of the heat map over the image")
        self.colormap_box = QComboBox()
        self.colormap_box.addItems(COLORMAPS)
        form = QFormLayout()
        form.addRow(_buddy("&Stage", self.stage_box), self.stage_box)
        form.addRow(_buddy("Cla&ss", self.class_box), self.class_box)
        form.addRow(_buddy("&Opacity", self.opacity_slider), self.opacity_slider)
        form.addRow(_buddy("Colour &map", self.colormap_box), self.colormap_box)
        self.cam_label = QLabel()
        self.cam_label.setWordWrap(True)
        form.addRow(self.cam_label)
        self.cam_picture = QLabel()
        self.cam_picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.cam_picture.setMinimumSize(200, 200)
        self.cam_picture.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        page = QWidget()
        row = QHBoxLayout(page)
        side = QWidget()
        side.setLayout(form)
        row.addWidget(side)
        row.addWidget(self.cam_picture, 1)
        self.stage_box.currentIndexChanged.connect(self._refresh)
        self.class_box.activated.connect(self._refresh)
        self.opacity_slider.valueChanged.connect(self._blend)
        self.colormap_box.currentIndexChanged.connect(self._blend)
        return page

    def _build_lesions(self) -> QWidget:
        self.kind_box = QComboBox()
        for kind in KINDS:
            self.kind_box.addItem(KIND_TITLES[kind], kind)
        self.lesion_label = QLabel()
        self.lesion_label.setWordWrap(True)
        self.top_table = TopTable()
        self.sweep_button = QPushButton("S&weep all 16 blocks")
        self.sweep_button.setToolTip("Lesion each block in turn and chart how much the top-1 probability drops")
        self.sweep_progress = QProgressBar()
        self.sweep_progress.setRange(0, 1000)
        self.sweep_progress.setTextVisible(False)
        self.sweep_label = QLabel()
        self.sweep_label.setWordWrap(True)
        self.chart = SweepChart()
        form = QFormLayout()
        form.addRow(_buddy("&Remove", self.kind_box), self.kind_box)
        form.addRow(self.lesion_label)
        left = QVBoxLayout()
        left.addLayout(form)
        left.addWidget(self.top_table, 1)
        right = QVBoxLayout()
        buttons = QHBoxLayout()
        buttons.addWidget(self.sweep_button)
        buttons.addWidget(self.sweep_progress, 1)
        right.addLayout(buttons)
        right.addWidget(self.sweep_label)
        right.addWidget(self.chart, 1)
        page = QWidget()
        row = QHBoxLayout(page)
        row.addLayout(left, 2)
        row.addLayout(right, 3)
        self.kind_box.currentIndexChanged.connect(self._refresh)
        self.sweep_button.clicked.connect(self.sweep)
        return page

    # -- public API ---------------------------------------------------------------------------------

    def set_weights(self, source: str, device: str) -> None:
        """Load the classifier's weights source into the panel's own model (a job); every view is
        recomputed for the new weights and the activation cache starts empty."""
        host, crop = self._host, self._crop
        self._weights_id = 0
        self._forget_results()
        self._submit(WEIGHTS_KIND, (source, device), _job(host.load, source, device, crop))
        self._say(f"Preparing the insight views for {Path(source).name}…")
        self._show_state()

    def set_image(self, key: str | None, name: str = "", source: ImageSource | None = None) -> None:
        """The image the views explain (the classification panel's selection); None: no image."""
        self._image = (key, name, source) if key is not None and source is not None else None
        self._forget_results()
        self._show_state()
        self._refresh()

    def set_block(self, name: str) -> None:
        """The block shown (the diagram's selection): a layer name selects its block; the head,
        which has no activation map, is ignored."""
        block = next((b for b in reversed(activation_block_names()) if name == b or name.startswith(b + ".")), None)
        if block is None or block == self.block():
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
        host, kind = self._host, self.kind_box.currentData()
        self.sweep_progress.setValue(0)
        self._submit(SWEEP_KIND, self._want(SWEEP_KIND), lambda progress, cancelled: host.sweep(key, source, kind, progress, cancelled))
        self._say("")

    def has_weights(self) -> bool:
        """True once the panel's model holds the weights last asked for."""
        return self._weights is not None and self._weights_id > 0

    def is_ready(self) -> bool:
        """True once weights are loaded and an image is chosen: the views can be computed."""
        return self.has_weights() and self._image is not None

    def activations_result(self) -> ChannelGrid | None:
        return self._grid

    def cam_image(self) -> Image.Image | None:
        """The blended picture shown in the Grad-CAM tab (also read by tests)."""
        return self._blended

    def lesion_result(self) -> Lesion | None:
        return self._lesion

    def sweep_result(self) -> Sweep | None:
        return self._sweep

    def cam_result(self) -> CamView | None:
        return self._cam

    def cam_shares_result(self) -> CamShares | None:
        return self._cam_shares

    # -- jobs ---------------------------------------------------------------------------------------

    def _want(self, kind: str) -> tuple:
        """What ``kind``'s view should show now: the weights, image and that view's settings."""
        image = self._image[0] if self._image else None
        base = (self._weights_id, image)
        if kind == ACTIVATIONS_KIND:
            return (*base, self.block(), self.channels_spin.value())
        if kind == CAM_KIND:
            return (*base, self.stage_box.currentData(), self.class_box.currentData())
        if kind == LESION_KIND:
            return (*base, self.block(), self.kind_box.currentData())
        if kind == CAM_SHARE_KIND:
            # The Grad-CAM tab's class; its top-1 counts as the default, so filling the class box
            # with the top-1 does not ask for the same shares again.
            chosen = self.class_box.currentData()
            return (*base, None if chosen == self._top1 else chosen)
        return (*base, self.kind_box.currentData())

    def _refresh(self, *_: object) -> None:
        """Ask for the jobs whose views are stale: the shown tab's, while the panel is visible (a dock
        tabbed behind another costs no CPU), and the activation norms while they colour the diagram."""
        self._show_state()
        if not self.is_ready():
            return
        wanted = [(ACTIVATIONS_KIND, CAM_KIND, LESION_KIND)[self.tabs.currentIndex()]] if self.isVisible() else []
        overlay_kind = OVERLAY_KINDS.get(self.overlay_box.currentData())
        if overlay_kind is not None and overlay_kind not in wanted:
            wanted.append(overlay_kind)
        key, _, source = self._image
        host = self._host
        for kind in wanted:
            want = self._want(kind)
            if self._shown.get(kind) == want or (kind in self._jobs and self._jobs[kind][1] == want):
                continue
            if kind == ACTIVATIONS_KIND:
                self._submit(kind, want, _job(host.activations, key, source, self.block(), self.channels_spin.value()))
            elif kind == CAM_KIND:
                self._submit(kind, want, _job(host.cam, key, source, self.stage_box.currentData(), self.class_box.currentData()))
            elif kind == CAM_SHARE_KIND:
                self._submit(kind, want, _job(host.cam_shares, key, source, want[-1]))
            elif self.block() == "stem":  # LESION_KIND
                self._lesion = None
                self.top_table.set_columns([], [])
                self.lesion_label.setText("The stem has no shortcut to keep: choose a block, layer1.0 … layer4.2.")
            else:
                self._submit(kind, want, _job(host.lesion, key, source, self.block(), self.kind_box.currentData()))

    def _submit(self, kind: str, want: tuple, fn) -> None:  # noqa: ANN001 - a JobRunner job
        self._jobs[kind] = (self._runner.submit(kind, fn, lane=LANE), want)

    def _forget_results(self) -> None:
        """The weights or the image changed: nothing shown is current any more."""
        for kind in (ACTIVATIONS_KIND, CAM_KIND, CAM_SHARE_KIND, LESION_KIND, SWEEP_KIND):
            self._runner.cancel(kind)
            self._jobs.pop(kind, None)
        self._shown.clear()
        self.class_box.clear()  # the new image's (or weights') own top-1 first
        self._grid, self._cam, self._blended, self._lesion, self._sweep, self._norms = None, None, None, None, None, {}
        self._cam_shares, self._top1 = None, None
        self.grid.clear("")
        self.cam_picture.clear()
        self.cam_label.setText("")
        self.top_table.set_columns([], [])
        self.lesion_label.setText("")
        self.chart.set_sweep(None)
        self.sweep_label.setText("")
        self.sweep_progress.setValue(0)
        self._emit_overlay()

    # -- runner signals ---------------------------------------------------------------------------------

    def _current(self, kind: str, job_id: int) -> tuple | None:
        entry = self._jobs.get(kind)
        if entry is None or entry[0] != job_id:
            return None
        del self._jobs[kind]
        return entry[1]

    @Slot(str, int, str, float)
    def _on_runner_progress(self, kind: str, job_id: int, text: str, fraction: float) -> None:
        if kind == SWEEP_KIND and kind in self._jobs and self._jobs[kind][0] == job_id:
            self.sweep_progress.setValue(round(1000 * fraction))

    @Slot(str, int, object)
    def _on_runner_finished(self, kind: str, job_id: int, result: object) -> None:
        want = self._current(kind, job_id)
        if want is None:
            return
        self._shown[kind] = want
        if kind == WEIGHTS_KIND:
            self._weights = result
            self._weights_id = next(self._generation)
            self._say("")
            self._refresh()
        elif kind == ACTIVATIONS_KIND:
            self._show_activations(result)
        elif kind == CAM_KIND:
            self._show_cam(result)
        elif kind == CAM_SHARE_KIND:
            self._show_cam_shares(result, asked=want[-1])
        elif kind == LESION_KIND:
            self._show_lesion(result)
        elif kind == SWEEP_KIND:
            self._show_sweep(result)
        self._show_state()

    @Slot(str, int, str)
    def _on_runner_failed(self, kind: str, job_id: int, message: str) -> None:
        if self._current(kind, job_id) is None:
            return
        what = {WEIGHTS_KIND: "Loading the weights", SWEEP_KIND: "The sweep"}.get(kind, "This view")
        self.sweep_progress.setValue(0)
        if kind == WEIGHTS_KIND and self._weights is not None:
            # The host keeps its previous model when a load fails: the views go on with those weights.
            self._weights_id = next(self._generation)
            self._say(f"{what} failed: {message} Still showing {self._weights.label}.")
            self._refresh()
        else:
            self._say(f"{what} failed: {message}")

    # -- rendering ---------------------------------------------------------------------------------------

    def _show_activations(self, grid: ChannelGrid) -> None:
        self._grid = grid
        self.grid.set_channels(grid.channels)
        c, h, w = len(grid.channels), *grid.channels[0].map.shape
        self.activations_label.setText(
            f"{grid.block}: the {c} most active channels by mean activation ({w}×{h} each), most active first. "
            "Click a tile (or Tab to it and press Space) to enlarge it."
        )
        self._norms = grid.norms
        self._emit_overlay()

    def _show_cam(self, view: CamView) -> None:
        self._cam = view
        self._top1 = view.cam.top[0][0]
        names = self._weights.class_names
        self.class_box.clear()
        for index, prob in view.cam.top:
            self.class_box.addItem(f"{names[index]} ({prob:.1%})", index)
        if self.class_box.findData(view.cam.class_index) < 0:  # a class outside the top-5 was asked for
            self.class_box.addItem(f"{names[view.cam.class_index]} ({view.cam.class_prob:.1%})", view.cam.class_index)
        self.class_box.setCurrentIndex(self.class_box.findData(view.cam.class_index))
        self._shown[CAM_KIND] = self._want(CAM_KIND)  # the class box now names the class it shows
        self.cam_label.setText(
            f"Grad-CAM of “{names[view.cam.class_index]}” ({view.cam.class_prob:.1%}) at the output of stage "
            f"{STAGE_TITLES.get(view.cam.stage, view.cam.stage)}: where evidence for the class lies, "
            "scaled to its maximum (Selvaraju et al. 2017)."
        )
        self._blend()

    def _blend(self, *_: object) -> None:
        """Blend the heat map over the picture at the slider's opacity: no model involved."""
        if self._cam is None:
            return
        picture = Image.fromarray(self._cam.picture)
        self._blended = overlay(picture, self._cam.cam.heatmap, self.opacity_slider.value() / 100, self.colormap_box.currentText())
        self.cam_picture.setPixmap(rgb_pixmap(np.asarray(self._blended), CAM_PX))

    def _show_cam_shares(self, shares: CamShares, asked: int | None) -> None:
        self._cam_shares = shares
        if asked is None:
            self._top1 = shares.class_index
        self._emit_overlay()

    def _show_lesion(self, lesion: Lesion) -> None:
        self._lesion = lesion
        names = self._weights.class_names
        cells = lambda top: [f"{names[i]}  {p:.1%}" for i, p in top]  # noqa: E731
        self.top_table.set_columns(cells(lesion.before), cells(lesion.after))
        (c, p), after = lesion.before[0], dict(lesion.after)
        q = after.get(c)
        now = f"{q:.1%}" if q is not None else "below the top-5"
        self.lesion_label.setText(
            f"Without the {lesion.kind} of {lesion.block}: “{names[c]}” goes from {p:.1%} to {now}. "
            "Computed on a copy; the classifier is untouched."
        )

    def _show_sweep(self, sweep: Sweep) -> None:
        self._sweep = sweep
        self.chart.set_sweep(sweep)
        self.sweep_progress.setValue(1000)
        names = self._weights.class_names
        rows = [r for r in sweep.blocks if r.drop is not None]
        worst = max(rows, key=lambda r: r.drop) if rows else None
        skipped = [r.block for r in sweep.blocks if r.skipped]
        text = f"Removing each block's {sweep.kind} in turn: drop of “{names[sweep.class_index]}” ({sweep.prob:.1%})."
        if worst is not None:
            text += f" Largest: {worst.block}, {100 * worst.drop:.1f} points."
        if skipped:
            text += f" Skipped: {', '.join(skipped)}."
        self.sweep_label.setText(text)

    def _emit_overlay(self) -> None:
        metric = self.overlay_box.currentData()
        if metric == OVERLAY_ACTIVATION and self._norms:
            name = self._image[1] if self._image else ""
            self.overlay_changed.emit(BlockOverlay(dict(self._norms), f"activation norm ‖output‖₂ per block, {name}"))
        elif metric == OVERLAY_CAM_SHARE and self._cam_shares is not None:
            shares, name = self._cam_shares, self._image[1] if self._image else ""
            label = f"Grad-CAM share per block of “{self._weights.class_names[shares.class_index]}” ({shares.class_prob:.1%}), {name}"
            if not any(shares.masses.values()):
                label += ": no positive evidence in any block"
            self.overlay_changed.emit(BlockOverlay(dict(shares.shares), label))
        elif metric == OVERLAY_GRADIENT and self._gradient_norms:
            self.overlay_changed.emit(
                BlockOverlay(
                    dict(self._gradient_norms),
                    "weight-gradient norm per block (conv1–3 combined), last gradient-lab run, residual",
                    log_scale=True,
                )
            )
        else:
            self.overlay_changed.emit(None)

    def _show_state(self) -> None:
        """The banner: what is missing before the views mean something."""
        if self._image is None:
            text = "Drop an image first: these views explain the image selected in the Classification panel."
        elif self._weights is None or self._weights_id == 0:
            text = "Waiting for weights (Weights menu)…"
        elif not self._weights.trained:
            text = "Random weights: load trained weights (Weights menu) for meaningful maps."
        else:
            text = ""
        self.banner.setText(text)
        self.banner.setVisible(bool(text))
        self.sweep_button.setEnabled(self.is_ready())

    def _say(self, text: str) -> None:
        self.message_label.setText(text)

    # -- widget signals -------------------------------------------------------------------------------------

    def _on_block_box_changed(self, index: int) -> None:
        self.block_chosen.emit(self.block())
        self._refresh()

    def _on_overlay_box_changed(self, index: int) -> None:
        self._emit_overlay()
        self._refresh()

    def _on_tabs_changed(self, index: int) -> None:
        self._refresh()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        self._refresh()  # what was skipped while hidden


def _job(fn, *args):  # noqa: ANN001, ANN202 - wraps a host method as a JobRunner job
    return lambda progress, cancelled: fn(*args)


def _buddy(text: str, widget: QWidget) -> QLabel:
    """A label whose Alt+letter mnemonic focuses ``widget``."""
    label = QLabel(text)
    label.setBuddy(widget)
    return label
