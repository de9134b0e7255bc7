"""The classification panel: a list of dropped images with thumbnails, the selected image's top-5 as
probability bars with device, engine and latency, an "untrained weights" banner, the device and engine
selectors and weights loading with a cancellable download dialog.

UI layer. The Classifier lives in ``classify.host.ClassifierHost`` and is used only by jobs on the
"classifier" lane; this widget keeps plain results and pixmaps. Each load and each image's
classification is its own job, whose result only this panel hears; a newer request cancels the older.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QSettings, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidgetItem,
    QProgressDialog,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from explorer.core.devices import available_devices
from explorer.core.images import ImageError, expand_inputs
from explorer.core.inference.classifier import Prediction
from explorer.core.loading.sources import DEFAULT_SOURCE, needs_download, weight_source
from explorer.core.network.stages import DEFAULT_ARCH, MEMBERS, arch_title
from explorer.core.text import shown
from explorer.ui.classify.download_dialog import DownloadDialog
from explorer.ui.classify.engine_choice import EngineChoice
from explorer.ui.classify.entries import Entry, picture_pixmap
from explorer.ui.classify.host import Classified, ClassifierHost, LoadedWeights
from explorer.ui.classify.image_list import ImageList
from explorer.ui.classify.results import ResultView
from explorer.ui.classify.weights_menu import WeightsMenu
from explorer.ui.common import dialogs
from explorer.ui.common.pixmaps import qimage_pixels
from explorer.ui.common.text import sentences
from explorer.ui.common.widgets import scrolling, wrapping_label
from explorer.ui.jobs import JobRunner, LatestJob

LANE = "classifier"
TOPK = 5
SETTINGS_GROUP = "classify"


class ClassifyPanel(QWidget):
    """Drop images, see their top-5."""

    status_changed = Signal(str)  # for the status bar: current weights and device
    weights_loaded = Signal(object)  # {"info": {...WeightsInfo fields...}, "stats": {layer: (mean, std)}}
    weights_failed = Signal(str)  # one line; the previous weights stay in use
    image_selected = Signal(object)  # selected_image() after the selection changes

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._host = ClassifierHost()  # used only inside jobs on the classifier lane
        self._loading = LatestJob(runner, LANE)
        self._ids = itertools.count(1)
        self._tokens = itertools.count(1)
        self._entries: dict[int, Entry] = {}
        self._items: dict[int, QListWidgetItem] = {}  # entry id -> its row in the list
        self._weights: LoadedWeights | None = None  # what the classifier has now
        self._source = DEFAULT_SOURCE  # what was asked for last
        self._arch: str | None = None  # the member asked for with random weights (None: ResNet-50)
        self._device = available_devices()[0]
        self._weights_problem = ""  # why the last load failed, while no weights are loaded
        self._download = DownloadDialog(self)
        self._download.canceled.connect(self._on_dialog_canceled)
        self._build()
        self._show_status()

    # -- construction -------------------------------------------------------------------------------

    def _build(self) -> None:
        self.weights_menu = WeightsMenu(self)
        self.weights_menu.source_chosen.connect(self.load_weights)
        self.weights_label = wrapping_label()  # wraps: a long checkpoint name must not widen the dock
        self.weights_button = QToolButton()
        self.weights_button.setText("Weights")
        self.weights_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.weights_button.setMenu(self.weights_menu)
        self.device_box = QComboBox()
        for device in available_devices():
            self.device_box.addItem(device, device)
        self.device_box.setCurrentIndex(self.device_box.findData(self._device))
        self.device_box.setToolTip("Where the classifier runs")
        self.engine_choice = EngineChoice(self._device)
        self.add_button = QPushButton("Add images…")
        top = QHBoxLayout()
        top.addWidget(self.weights_button)
        top.addStretch(1)
        top.addWidget(self.add_button)
        # Rows of their own: beside the buttons they widened the dock past its column (~270 px at 1280x720).
        runs_on = QHBoxLayout()
        runs_on.addWidget(QLabel("Device"))
        runs_on.addWidget(self.device_box)
        runs_on.addStretch(1)

        self.message_label = wrapping_label()
        self.message_label.hide()
        self.image_list = ImageList()
        self.results = ResultView()
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.image_list)
        splitter.addWidget(scrolling(self.results))  # a short dock scrolls instead of squeezing the bars
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([2, 3])  # proportions: the predictions get the larger share at first
        splitter.setChildrenCollapsible(False)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addLayout(top)
        outer.addLayout(runs_on)
        outer.addWidget(self.engine_choice)
        outer.addWidget(self.weights_label)  # its own line: a long file name wraps without crowding the buttons
        outer.addWidget(self.message_label)
        outer.addWidget(splitter, 1)

        self.device_box.currentIndexChanged.connect(self._on_device_box_changed)
        self.engine_choice.changed.connect(self._on_engine_choice_changed)
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.image_list.currentItemChanged.connect(self._on_image_list_current_changed)

    # -- public API ----------------------------------------------------------------------------------

    def add_paths(self, paths: list[str]) -> None:
        """Add image files (folders expand to the images in them) and classify them; a path that
        cannot be used gets an entry with its error, and the others carry on."""
        first_new = self.image_list.count()
        for item in expand_inputs(paths):
            if isinstance(item, ImageError):
                self._add_entry(shown(Path(item.path).name or item.path), item.path, None, error=str(item))
            else:
                self._add_entry(shown(item.name), str(item), item)
        self._select_row(first_new)

    def add_qimage(self, image: QImage, name: str = "clipboard") -> None:
        """Add a pasted image; it is converted to plain pixels here so the worker needs no Qt."""
        if image.isNull():
            self._add_entry(name, name, None, error=f"{name}: the clipboard holds no image")
        else:
            self._add_entry(name, name, qimage_pixels(image))
        self._select_row(self.image_list.count() - 1)

    def load_weights(self, source: str, arch: str | None = None) -> None:
        """Load a named source or a checkpoint file (which decides its network); ``arch`` is the
        member for ``random`` (default: the network in use). Downloads show a cancellable progress
        dialog; on failure the current weights and network stay and the panel says why."""
        self._source = source
        self._arch = arch or (self._weights.info.arch if self._weights else self._arch)
        self._submit_weights_job()

    def set_device(self, device: str) -> None:
        """Run the classifier on ``device`` (one of available_devices()); weights are reloaded there."""
        if device not in available_devices():
            self._say(f"Device {device} is not available here (available: {', '.join(available_devices())}).")
            self._sync_device_box()
            return
        self._device = device
        self._sync_device_box()
        if self._weights is not None or self._loading.is_running():
            self._submit_weights_job()
        else:
            self._show_status()

    def device(self) -> str:
        """The device the classifier runs on (or will, once weights are loaded)."""
        return self._device

    def loading(self) -> bool:
        """True while weights are being loaded."""
        return self._loading.is_running()

    def save_settings(self, settings: QSettings) -> None:
        settings.beginGroup(SETTINGS_GROUP)
        settings.setValue("weights_source", self._source)
        settings.setValue("arch", self._arch or "")
        settings.setValue("device", self._device)
        self.engine_choice.save_settings(settings)
        settings.endGroup()

    def restore_settings(self, settings: QSettings) -> None:
        """Restore the device and load the last weights source (default ImageNet V2)."""
        settings.beginGroup(SETTINGS_GROUP)
        source = settings.value("weights_source", DEFAULT_SOURCE, type=str) or DEFAULT_SOURCE
        device = settings.value("device", "", type=str)
        arch = settings.value("arch", "", type=str)
        self.engine_choice.restore_settings(settings)
        settings.endGroup()
        if device in available_devices():
            self._device = device
            self._sync_device_box()
        self.load_weights(source, arch if arch in MEMBERS else None)

    def selected_image(self) -> tuple[str, str, Path | Image.Image] | None:
        """(key, name, source) of the selected image for views that explain it (a key unique per entry), or None."""
        entry = self._current_entry()
        if entry is None or entry.source is None:
            return None
        return f"entry-{entry.entry_id}", entry.name, entry.source

    def entry_texts(self) -> list[str]:
        return [self.image_list.item(row).text() for row in range(self.image_list.count())]

    def pending(self) -> int:
        """Entries still waiting for a result."""
        return sum(e.waiting for e in self._entries.values())

    def predictions(self) -> list[Prediction]:
        """The predictions shown now, in list order (the ui bench reads their forward times)."""
        return [e.result.prediction for e in self._entries.values() if e.result is not None]

    def last_prediction_ms(self) -> float | None:
        """The forward time of the most recent result, as the panel shows it."""
        done = self.predictions()
        return done[-1].latency_ms if done else None

    # -- jobs --------------------------------------------------------------------------------------------

    def _submit_weights_job(self) -> None:
        source, device, host, token, arch = self._source, self._device, self._host, next(self._tokens), self._arch
        engine, precision = self.engine_choice.engine(), self.engine_choice.precision()
        self._download.close()
        job = self._loading.submit(
            lambda ctx: host.load(token, source, device, ctx.progress, ctx.cancelled, arch, engine, precision)
        )
        job.returned.connect(self._on_weights_job_returned)
        job.errored.connect(self._on_weights_job_errored)
        job.progressed.connect(self._download.progress)
        named = weight_source(source)  # random weights: of the network asked for
        title = Path(source).name if named is None else named.label if named.url else f"{arch_title(arch or DEFAULT_ARCH)}, {named.label}"
        self._say(f"Loading {title} on {device}…")
        if needs_download(source):
            self._download.open(title)
        self._show_waiting()  # the waiting rows say what they wait for now

    def _submit_classify(self, entry: Entry) -> None:
        if entry.source is None or self._weights is None:
            return
        if entry.job is not None:
            entry.job.cancel()
        host, source, name, scale = self._host, entry.source, entry.name, self.devicePixelRatioF()
        job = self._runner.submit(lambda ctx: host.classify(source, name, TOPK, scale), LANE)
        # The callbacks name the job by id: a reference to the job itself would keep it alive forever.
        entry.job, ids = job, (entry.entry_id, job.job_id)
        job.returned.connect(lambda result: self._on_classify_job_returned(*ids, result))
        job.errored.connect(lambda message: self._on_classify_job_errored(*ids, message))

    def _add_entry(self, name: str, origin: str, source: Path | Image.Image | None, error: str | None = None) -> Entry:
        entry = Entry(next(self._ids), name, origin, source, error=error)
        self._entries[entry.entry_id] = entry
        self._items[entry.entry_id] = self.image_list.add_row(entry.entry_id)
        self._show_item(entry)
        if source is not None:
            if self._weights is not None:
                self._submit_classify(entry)
            elif not self._loading.is_running():
                self._submit_weights_job()  # first image and nothing loaded yet: load the chosen source
        return entry

    # -- job signals ----------------------------------------------------------------------------------------

    def _on_weights_job_returned(self, loaded: LoadedWeights) -> None:
        self._download.close()
        self._weights_problem = ""
        # Accepted: put these weights in service. The lane runs the commit before the jobs below.
        host, token = self._host, loaded.token
        commit = self._runner.submit(lambda ctx: host.commit(token), LANE)
        commit.errored.connect(lambda message: self._say(f"Could not switch weights: {message}"))
        self._weights = loaded
        self._source = loaded.info.source
        self._device = loaded.device
        self._sync_device_box()
        self._say(" ".join(loaded.notices))
        self._show_status()
        self.weights_loaded.emit(loaded.as_signal_payload())
        # Every image is classified again; older results are dropped, not shown under the new weights' name.
        for entry in self._entries.values():
            if entry.source is not None:
                entry.result, entry.error = None, None
                self._submit_classify(entry)
                self._show_item(entry)
        # The replaced classifier is freed once the new one has answered and the window has drawn the
        # new network (host.release_replaced says why; with no images, the paint is all that waits).
        self._runner.submit(lambda ctx: host.release_replaced(), LANE, after_paint=self.window())

    def _on_weights_job_errored(self, message: str) -> None:
        self._download.close()
        keep = f"Still using {self._weights.info.label}." if self._weights else "No weights are loaded."
        self._say(sentences(f"Could not load weights: {message}", keep))
        self._weights_problem = message
        self._back_to_loaded()
        self._show_waiting()  # nothing is loading any more: the waiting rows say why and what to do
        self.weights_failed.emit(message)

    def _entry_of_job(self, entry_id: int, job_id: int) -> Entry | None:
        """The entry whose latest job this is (a superseded job's result is dropped)."""
        entry = self._entries.get(entry_id)
        return entry if entry is not None and entry.job is not None and entry.job.job_id == job_id else None

    def _on_classify_job_returned(self, entry_id: int, job_id: int, result: Classified) -> None:
        entry = self._entry_of_job(entry_id, job_id)
        if entry is None:
            return
        entry.result, entry.error = result, None
        entry.thumbnail = picture_pixmap(result.thumbnail, self.devicePixelRatioF())
        entry.preview = picture_pixmap(result.preview, self.devicePixelRatioF())
        self._show_item(entry)

    def _on_classify_job_errored(self, entry_id: int, job_id: int, message: str) -> None:
        entry = self._entry_of_job(entry_id, job_id)
        if entry is None:
            return
        entry.result, entry.error = None, message
        self._show_item(entry)

    # -- widget signals ------------------------------------------------------------------------------------------

    def _on_device_box_changed(self, index: int) -> None:
        self.set_device(self.device_box.itemData(index))

    def _on_engine_choice_changed(self) -> None:
        self.set_device(self._device)  # reloads: the load job makes (exports, compiles) the engine, off this thread

    def _on_add_button_clicked(self) -> None:
        paths = dialogs.open_images(self, "Images to classify")
        if paths:
            self.add_paths(paths)

    def _on_image_list_current_changed(self, current: QListWidgetItem | None, previous: QListWidgetItem | None) -> None:
        self._show_entry(self._current_entry())
        self.image_selected.emit(self.selected_image())

    def _on_dialog_canceled(self) -> None:
        self._loading.cancel()
        self._weights_problem = "the download was cancelled"
        keep = f"still using {self._weights.info.label}" if self._weights else "no weights are loaded"
        self._say(f"Download cancelled; {keep}. Load a local checkpoint file or use Random (untrained).")
        self._back_to_loaded()
        self._show_waiting()

    # -- rendering ---------------------------------------------------------------------------------------------

    def _current_entry(self) -> Entry | None:
        entry_id = self.image_list.current_id()
        return self._entries.get(entry_id) if entry_id is not None else None

    def _waiting_text(self) -> str:
        """What a row without a result waits for; once nothing is loading, why nothing will come and
        what to do (every waiting state ends)."""
        if self._weights is not None:
            return "classifying…"
        if self._loading.is_running():
            return "waiting for the weights to load…"
        why = f"No weights: {self._weights_problem}" if self._weights_problem else "No weights loaded"
        return sentences(why, "Choose weights in the Weights menu (a local file, or Random (untrained))")

    def _show_waiting(self) -> None:
        for entry in self._entries.values():
            if entry.waiting:
                self._show_item(entry)

    def _show_item(self, entry: Entry) -> None:
        item = self._items[entry.entry_id]
        self.image_list.show_row(item, entry, self._waiting_text())
        if self.image_list.currentItem() is item:
            self._show_entry(entry)

    def _show_entry(self, entry: Entry | None) -> None:
        if entry is None:
            self.results.show_nothing()
        elif entry.error is not None:
            self.results.show_error(entry.name, entry.error)
        elif entry.result is None:
            waiting = self._waiting_text()
            self.results.show_waiting(entry.name, entry.preview, waiting[:1].upper() + waiting[1:])
        else:
            self.results.show_prediction(entry.name, entry.result.prediction, entry.preview, entry.result.image_size)

    def _show_status(self) -> None:
        if self._weights is None:
            text = f"No weights loaded · device {self._device}"
        else:
            info, weights = self._weights.info, self._weights
            head = "" if info.num_classes == 1000 else f", {info.num_classes} classes"
            text = (f"Weights: {info.label} · {arch_title(info.arch)}{head} · device {weights.device}"
                    f" · {weights.engine} {weights.precision}")
        self.weights_label.setText(text)
        self.weights_menu.set_network(self._weights.info.arch if self._weights else self._arch or DEFAULT_ARCH)
        self.weights_menu.mark(self._weights.info.source if self._weights else None)
        self.status_changed.emit(text)

    def _back_to_loaded(self) -> None:
        """After a failed or cancelled load: the source and device of the weights still in use."""
        if self._weights is not None:
            self._source, self._device, self._arch = self._weights.info.source, self._weights.device, self._weights.info.arch
        self._sync_device_box()
        self._show_status()

    def _say(self, text: str) -> None:
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))

    def _select_row(self, row: int) -> None:
        if 0 <= row < self.image_list.count():
            self.image_list.setCurrentRow(row)

    def _sync_device_box(self) -> None:
        with QSignalBlocker(self.device_box):
            self.device_box.setCurrentIndex(self.device_box.findData(self._device))
        self.engine_choice.set_device(self._device)

    def dialog(self) -> QProgressDialog | None:
        """The download dialog while a download runs (read by tests)."""
        return self._download.dialog
