"""The classification panel: a list of dropped images with thumbnails, the selected image with its
top-5 classes as probability bars, device and latency, an "untrained weights" banner, a device
selector and weights loading with a cancellable download dialog.

Qt view (explorer.ui). The Classifier lives in explorer.ui.classify_jobs.ClassifierHost and is used
only by jobs on the JobRunner's "classifier" lane; this widget keeps plain results and pixmaps.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QSettings, QSignalBlocker, QSize, Qt, Signal, Slot
from PySide6.QtGui import QIcon, QImage, QPalette, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QProgressBar,
    QProgressDialog,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from explorer.core.images import ImageError, expand_inputs
from explorer.core.inference import available_devices
from explorer.core.weights import CHECKPOINT_SUFFIXES, DEFAULT_SOURCE
from explorer.ui.classify_jobs import (
    Classified,
    ClassifierHost,
    LoadedWeights,
    Picture,
    is_download,
)
from explorer.ui.workers import JobRunner

LANE = "classifier"
WEIGHTS_KIND = "weights"
COMMIT_KIND = "weights-commit"
CLASSIFY_PREFIX = "classify:"
TOPK = 5
SETTINGS_GROUP = "classify"
SOURCE_TITLES = {"imagenet-v2": "ImageNet V2 (80.9% top-1)", "imagenet-v1": "ImageNet V1 (76.1% top-1)", "random": "Random (untrained)"}


@dataclass
class _Entry:
    """One row of the list: where the image comes from and what is known about it (plain data)."""

    entry_id: int
    name: str
    origin: str  # the path as given, or the clipboard's name; errors start with "<origin>: "
    source: Path | Image.Image | None  # None: nothing to classify (the input itself was refused)
    job_id: int = 0
    result: Classified | None = None
    error: str | None = None
    thumbnail: QPixmap | None = field(default=None, repr=False)
    preview: QPixmap | None = field(default=None, repr=False)


class ClassifyPanel(QWidget):
    """Drop images, see their top-5. Emits ``status_changed(str)`` and ``weights_loaded(dict)``."""

    status_changed = Signal(str)  # for the status bar: current weights and device
    weights_loaded = Signal(object)  # {"info": {...WeightsInfo fields...}, "stats": {layer: (mean, std)}}
    image_selected = Signal(object)  # selected_image() after the selection changes

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._host = ClassifierHost()  # used only inside jobs on the classifier lane
        self._ids = itertools.count(1)
        self._tokens = itertools.count(1)
        self._entries: dict[int, _Entry] = {}
        self._items: dict[int, QListWidgetItem] = {}  # entry id -> its row in the list
        self._weights: LoadedWeights | None = None  # what the classifier has now
        self._source = DEFAULT_SOURCE  # what was asked for last
        self._device = available_devices()[0]
        self._weights_job = 0
        self._dialog: QProgressDialog | None = None
        self._build()
        runner.progress.connect(self._on_runner_progress)
        runner.finished.connect(self._on_runner_finished)
        runner.failed.connect(self._on_runner_failed)
        self._show_status()

    # -- construction -------------------------------------------------------------------------------

    def _build(self) -> None:
        self.weights_label = QLabel()
        self.weights_label.setWordWrap(True)  # a long checkpoint name must not widen a narrow dock
        self.weights_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.weights_button = QToolButton()
        self.weights_button.setText("Weights")
        self.weights_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.weights_button)
        for source, title in SOURCE_TITLES.items():
            menu.addAction(title, lambda s=source: self.load_weights(s))
        menu.addAction("Local file…", self._on_local_weights_triggered)
        self.weights_button.setMenu(menu)
        self.device_box = QComboBox()
        for device in available_devices():
            self.device_box.addItem(device, device)
        self.device_box.setCurrentIndex(self.device_box.findData(self._device))
        self.device_box.setToolTip("Where the classifier runs")
        self.add_button = QPushButton("Add images…")
        top = QHBoxLayout()
        top.addWidget(self.weights_button)
        top.addWidget(self.weights_label, 1)
        top.addWidget(QLabel("Device"))
        top.addWidget(self.device_box)
        top.addWidget(self.add_button)

        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label.hide()

        self.image_list = QListWidget()
        self.image_list.setIconSize(QSize(64, 64))
        self.image_list.setUniformItemSizes(True)
        self.image_list.setWordWrap(True)
        self.image_list.setSelectionMode(QListWidget.SelectionMode.SingleSelection)
        self.image_list.setMinimumWidth(200)

        self.banner = QLabel("Untrained weights (random initialisation): these classes mean nothing.")
        self.banner.setWordWrap(True)
        self.banner.setAutoFillBackground(True)
        self.banner.setMargin(6)
        self._style_banner()
        self.banner.hide()
        self.preview = _FittedImage()
        self.preview.setWordWrap(True)
        self.title_label = QLabel()
        self.title_label.setWordWrap(True)
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        self.class_labels: list[QLabel] = []
        self.class_bars: list[QProgressBar] = []
        bars = QGridLayout()
        for row in range(TOPK):
            label = QLabel()
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setTextVisible(True)
            bars.addWidget(label, row, 0)
            bars.addWidget(bar, row, 1)
            self.class_labels.append(label)
            self.class_bars.append(bar)
        bars.setColumnStretch(1, 1)
        self.details_label = QLabel()
        self.details_label.setWordWrap(True)
        self.details_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.banner)
        column.addWidget(self.preview, 1)
        column.addWidget(self.title_label)
        column.addLayout(bars)
        column.addWidget(self.details_label)

        # In a short dock the column scrolls instead of squeezing the bars into each other.
        right_scroll = QScrollArea()
        right_scroll.setWidgetResizable(True)
        right_scroll.setFrameShape(QFrame.Shape.NoFrame)
        right_scroll.setWidget(right)
        right_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        right_scroll.setMinimumWidth(right.minimumSizeHint().width() + right_scroll.verticalScrollBar().sizeHint().width())
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.image_list)
        splitter.addWidget(right_scroll)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([2, 3])  # proportions: the predictions get the larger share at first
        splitter.setChildrenCollapsible(False)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addLayout(top)
        outer.addWidget(self.message_label)
        outer.addWidget(splitter, 1)

        self.device_box.currentIndexChanged.connect(self._on_device_box_changed)
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.image_list.currentItemChanged.connect(self._on_image_list_current_changed)
        self._show_entry(None)

    # -- public API ----------------------------------------------------------------------------------

    def add_paths(self, paths: list[str]) -> None:
        """Add image files (folders expand to the images in them) and classify them; a path that
        cannot be used gets an entry with its error, and the others carry on."""
        first_new = self.image_list.count()
        for item in expand_inputs(paths):
            if isinstance(item, ImageError):
                self._add_entry(Path(item.path).name or item.path, item.path, None, error=str(item))
            else:
                self._add_entry(item.name, str(item), item)
        self._select_row(first_new)

    def add_qimage(self, image: QImage, name: str = "clipboard") -> None:
        """Add a pasted image; it is converted to plain pixels here so the worker needs no Qt."""
        if image.isNull():
            self._add_entry(name, name, None, error=f"{name}: the clipboard holds no image")
        else:
            rgb = image.convertToFormat(QImage.Format.Format_RGB888)
            pixels = Image.frombuffer(
                "RGB", (rgb.width(), rgb.height()), bytes(rgb.constBits()), "raw", "RGB", rgb.bytesPerLine(), 1
            ).copy()
            self._add_entry(name, name, pixels)
        self._select_row(self.image_list.count() - 1)

    def load_weights(self, source: str) -> None:
        """Load ``imagenet-v2``, ``imagenet-v1``, ``random`` or a checkpoint file. Downloads show a
        cancellable progress dialog; on failure the current weights stay and the panel says why."""
        self._source = source
        self._submit_weights_job()

    def set_device(self, device: str) -> None:
        """Run the classifier on ``device`` (one of available_devices()); weights are reloaded there."""
        if device not in available_devices():
            self._say(f"Device {device} is not available here (available: {', '.join(available_devices())}).")
            self._sync_device_box()
            return
        self._device = device
        self._sync_device_box()
        if self._weights is not None or self._runner.is_busy(WEIGHTS_KIND):
            self._submit_weights_job()
        else:
            self._show_status()

    def save_settings(self, settings: QSettings) -> None:
        settings.beginGroup(SETTINGS_GROUP)
        settings.setValue("weights_source", self._source)
        settings.setValue("device", self._device)
        settings.endGroup()

    def restore_settings(self, settings: QSettings) -> None:
        """Restore the device and load the last weights source (default ImageNet V2)."""
        settings.beginGroup(SETTINGS_GROUP)
        source = settings.value("weights_source", DEFAULT_SOURCE, type=str) or DEFAULT_SOURCE
        device = settings.value("device", "", type=str)
        settings.endGroup()
        if device in available_devices():
            self._device = device
            self._sync_device_box()
        self.load_weights(source)

    # -- what the user sees (also read by tests) -----------------------------------------------------------

    def selected_image(self) -> tuple[str, str, Path | Image.Image] | None:
        """(key, name, source) of the selected image, for views that explain it; the key is unique per
        entry. None when nothing usable is selected."""
        item = self.image_list.currentItem()
        entry = self._entries.get(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None
        if entry is None or entry.source is None:
            return None
        return f"entry-{entry.entry_id}", entry.name, entry.source

    def entry_texts(self) -> list[str]:
        return [self.image_list.item(row).text() for row in range(self.image_list.count())]

    def pending(self) -> int:
        """Entries still waiting for a result."""
        return sum(1 for e in self._entries.values() if e.source is not None and e.result is None and e.error is None)

    # -- jobs --------------------------------------------------------------------------------------------

    def _submit_weights_job(self) -> None:
        source, device, host, token = self._source, self._device, self._host, next(self._tokens)

        def job(progress, cancelled):  # worker thread
            return host.load(token, source, device, progress, cancelled)

        self._close_dialog()
        self._weights_job = self._runner.submit(WEIGHTS_KIND, job, lane=LANE)
        title = SOURCE_TITLES.get(source, Path(source).name)
        self._say(f"Loading {title} on {device}…")
        if is_download(source):
            self._open_dialog(title)

    def _submit_classify(self, entry: _Entry) -> None:
        if entry.source is None or self._weights is None:
            return
        host, source, name, scale = self._host, entry.source, entry.name, self.devicePixelRatioF()

        def job(progress, cancelled):  # worker thread
            return host.classify(source, name, TOPK, scale)

        entry.job_id = self._runner.submit(f"{CLASSIFY_PREFIX}{entry.entry_id}", job, lane=LANE)

    def _add_entry(self, name: str, origin: str, source: Path | Image.Image | None, error: str | None = None) -> _Entry:
        entry = _Entry(next(self._ids), name, origin, source, error=error)
        self._entries[entry.entry_id] = entry
        item = QListWidgetItem()
        item.setData(Qt.ItemDataRole.UserRole, entry.entry_id)
        self.image_list.addItem(item)
        self._items[entry.entry_id] = item
        self._show_item(entry)
        if source is not None:
            if self._weights is not None:
                self._submit_classify(entry)
            elif not self._runner.is_busy(WEIGHTS_KIND):
                self._submit_weights_job()  # first image and nothing loaded yet: load the chosen source
        return entry

    # -- runner signals -------------------------------------------------------------------------------------

    @Slot(str, int, str, float)
    def _on_runner_progress(self, kind: str, job_id: int, text: str, fraction: float) -> None:
        if kind == WEIGHTS_KIND and job_id == self._weights_job and self._dialog is not None:
            self._dialog.setLabelText(text)
            self._dialog.setValue(round(1000 * fraction))

    @Slot(str, int, object)
    def _on_runner_finished(self, kind: str, job_id: int, result: object) -> None:
        if kind == WEIGHTS_KIND and job_id == self._weights_job:
            self._on_weights_loaded(result)
        elif kind.startswith(CLASSIFY_PREFIX):
            entry = self._entry_for(kind, job_id)
            if entry is not None:
                entry.result, entry.error = result, None
                entry.thumbnail = _pixmap(result.thumbnail, self.devicePixelRatioF())
                entry.preview = _pixmap(result.preview, self.devicePixelRatioF())
                self._show_item(entry)

    @Slot(str, int, str)
    def _on_runner_failed(self, kind: str, job_id: int, message: str) -> None:
        if kind == WEIGHTS_KIND and job_id == self._weights_job:
            self._weights_job = 0
            self._close_dialog()
            keep = f"Still using {self._weights.info.label}." if self._weights else "No weights are loaded."
            self._say(f"Could not load weights: {message} {keep}")
            self._source = self._weights.info.source if self._weights else self._source
            self._device = self._weights.device if self._weights else self._device
            self._sync_device_box()
            self._show_status()
        elif kind == COMMIT_KIND:
            self._say(f"Could not switch weights: {message}")
        elif kind.startswith(CLASSIFY_PREFIX):
            entry = self._entry_for(kind, job_id)
            if entry is not None:
                entry.result, entry.error = None, message
                self._show_item(entry)

    def _on_weights_loaded(self, loaded: LoadedWeights) -> None:
        self._weights_job = 0
        self._close_dialog()
        # Accepted: put these weights in service. The lane runs the commit before the jobs below.
        host, token = self._host, loaded.token
        self._runner.submit(COMMIT_KIND, lambda progress, cancelled: host.commit(token), lane=LANE)
        self._weights = loaded
        self._source = loaded.info.source
        self._device = loaded.device
        self._sync_device_box()
        notes = " ".join(loaded.notices)
        self._say(notes)
        self._show_status()
        self.weights_loaded.emit(loaded.as_signal_payload())
        # Every image is classified again with the new weights; results of older jobs are dropped.
        # Old predictions are cleared rather than shown under the new weights' name.
        for entry in self._entries.values():
            if entry.source is not None:
                entry.result, entry.error = None, None
                self._submit_classify(entry)
                self._show_item(entry)

    def _entry_for(self, kind: str, job_id: int) -> _Entry | None:
        entry = self._entries.get(int(kind[len(CLASSIFY_PREFIX):]))
        return entry if entry is not None and entry.job_id == job_id else None

    # -- widget signals ------------------------------------------------------------------------------------------

    def _on_device_box_changed(self, index: int) -> None:
        self.set_device(self.device_box.itemData(index))

    def _on_add_button_clicked(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Images to classify", "", "Images (*.jpg *.jpeg *.png *.bmp *.gif *.tif *.tiff *.webp);;All files (*)"
        )
        if paths:
            self.add_paths(paths)

    def _on_local_weights_triggered(self) -> None:
        patterns = " ".join(f"*{s}" for s in CHECKPOINT_SUFFIXES)
        path, _ = QFileDialog.getOpenFileName(self, "ResNet-50 checkpoint", "", f"Checkpoints ({patterns});;All files (*)")
        if path:
            self.load_weights(path)

    def _on_image_list_current_changed(self, current: QListWidgetItem | None, previous: QListWidgetItem | None) -> None:
        self._show_entry(self._entries.get(current.data(Qt.ItemDataRole.UserRole)) if current else None)
        self.image_selected.emit(self.selected_image())

    def _on_dialog_canceled(self) -> None:
        self._runner.cancel(WEIGHTS_KIND)
        self._weights_job = 0
        self._dialog = None
        keep = f"still using {self._weights.info.label}" if self._weights else "no weights are loaded"
        self._say(f"Download cancelled; {keep}. Load a local checkpoint file or use Random (untrained).")
        if self._weights:
            self._source, self._device = self._weights.info.source, self._weights.device
            self._sync_device_box()

    # -- rendering ---------------------------------------------------------------------------------------------

    def _show_item(self, entry: _Entry) -> None:
        item = self._items[entry.entry_id]
        if entry.error is not None:
            # The list already names the file; the entry shows the reason, the tooltip the full line.
            # The list already names the file: the entry shows the reason, the tooltip the whole line.
            reason = entry.error.removeprefix(f"{entry.origin}: ")
            text, tip = f"{entry.name}\n⚠ {reason}", entry.error
            icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        elif entry.result is not None:
            best = entry.result.prediction.top[0]
            untrained = "" if entry.result.prediction.trained else " (untrained)"
            text, tip = f"{entry.name}\n{best.label} {best.prob:.0%}{untrained}", entry.origin
            icon = QIcon(entry.thumbnail) if entry.thumbnail else QIcon()
        else:
            waiting = "classifying…" if self._weights is not None else "waiting for weights"
            text, tip = f"{entry.name}\n{waiting}", entry.origin
            icon = QIcon(entry.thumbnail) if entry.thumbnail else QIcon()
        item.setText(text)
        item.setToolTip(tip)
        item.setIcon(icon)
        current = self.image_list.currentItem()
        if current is item:
            self._show_entry(entry)

    def _show_entry(self, entry: _Entry | None) -> None:
        result = entry.result if entry is not None else None
        self.banner.setVisible(result is not None and not result.prediction.trained)
        self.preview.set_image(entry.preview if entry and entry.preview else None)
        if entry is None:
            self.preview.setText("Drop images or folders here, paste an image, or use Add images…")
        elif entry.error is not None:
            self.preview.setText("⚠ This input cannot be classified (see below); the others carry on.")
        elif entry.preview is None:
            self.preview.setText("")
        self.title_label.setText(entry.name if entry else "")
        top = result.prediction.top if result else ()
        for row, (label, bar) in enumerate(zip(self.class_labels, self.class_bars)):
            if row < len(top):
                label.setText(top[row].label)
                bar.setValue(round(1000 * top[row].prob))
                bar.setFormat(f"{top[row].prob:.1%}")
            else:
                label.setText("")
                bar.setValue(0)
                bar.setFormat("")
            label.setVisible(row < len(top))
            bar.setVisible(row < len(top))
        if entry is None:
            self.details_label.setText("")
        elif entry.error is not None:
            self.details_label.setText(entry.error)
        elif result is None:
            self.details_label.setText("Classifying…" if self._weights else "Waiting for weights.")
        else:
            p = result.prediction
            w, h = result.image_size
            self.details_label.setText(
                f"{p.device} · {p.precision} · {p.latency_ms:.1f} ms (forward) · decoded {w}x{h}"
            )

    def _show_status(self) -> None:
        if self._weights is None:
            text = f"No weights loaded · device {self._device}"
        else:
            text = f"Weights: {self._weights.info.label} · device {self._weights.device}"
        self.weights_label.setText(text)
        self.status_changed.emit(text)

    def _say(self, text: str) -> None:
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))

    def _select_row(self, row: int) -> None:
        if 0 <= row < self.image_list.count():
            self.image_list.setCurrentRow(row)

    def _sync_device_box(self) -> None:
        with QSignalBlocker(self.device_box):
            self.device_box.setCurrentIndex(self.device_box.findData(self._device))

    def _style_banner(self) -> None:
        # The palette's tooltip pair: a contrasting note colour on light and dark themes alike.
        pal = self.banner.palette()
        pal.setColor(QPalette.ColorRole.Window, pal.color(QPalette.ColorRole.ToolTipBase))
        pal.setColor(QPalette.ColorRole.WindowText, pal.color(QPalette.ColorRole.ToolTipText))
        self.banner.setPalette(pal)

    def _open_dialog(self, title: str) -> None:
        dialog = QProgressDialog(f"Loading {title}…", "Cancel", 0, 1000, self)
        dialog.setWindowTitle("Downloading weights")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        # Only a real download lasts long enough to show it: a cached file loads in about a second.
        dialog.setMinimumDuration(800)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.canceled.connect(self._on_dialog_canceled)
        self._dialog = dialog

    def _close_dialog(self) -> None:
        if self._dialog is not None:
            self._dialog.canceled.disconnect(self._on_dialog_canceled)
            self._dialog.close()
            self._dialog.deleteLater()
            self._dialog = None


class _FittedImage(QLabel):
    """A label that shows its image as large as fits, never larger than the image, never cropped."""

    def __init__(self) -> None:
        super().__init__()
        self._image: QPixmap | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(96, 96)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

    def set_image(self, image: QPixmap | None) -> None:
        self._image = image
        self._fit()

    def image(self) -> QPixmap | None:
        return self._image

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if self._image is None or self._image.isNull():
            self.setPixmap(QPixmap())
            return
        ratio = self._image.devicePixelRatio()
        logical = self._image.size() / ratio
        box = logical.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio).boundedTo(logical)
        fitted = self._image.scaled(box * ratio, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
        fitted.setDevicePixelRatio(ratio)
        self.setPixmap(fitted)


def _pixmap(picture: Picture, device_pixel_ratio: float) -> QPixmap:
    image = QImage(picture.data, picture.width, picture.height, 3 * picture.width, QImage.Format.Format_RGB888)
    pixmap = QPixmap.fromImage(image.copy())  # copy: the QImage must not outlive the bytes it wraps
    pixmap.setDevicePixelRatio(device_pixel_ratio)
    return pixmap
