"""The Classification dock before its panel exists: the first command-line image classified at
start-up from the engine cache without torch (:mod:`explorer.core.inference.quick`), shown as the
panel shows a result, until the panel (built once torch has loaded) has a result of its own.

UI layer, torch-free at import and when it runs: the window shows this within a second of launch
while torch is still to be imported. Nothing here decides anything the panel does: when the cache
has no entry for the request, or anything differs, the dock simply waits for the panel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import QDockWidget, QVBoxLayout, QWidget

from explorer.core.images import ImageError, expand_inputs, load_image
from explorer.core.inference import quick
from explorer.core.loading.sources import DEFAULT_SOURCE, weight_source
from explorer.core.network.stages import RESNETS
from explorer.ui.classify.pictures import Classified
from explorer.ui.classify.results import ResultView
from explorer.ui.common.pixmaps import rgb_bytes_pixmap
from explorer.ui.common.widgets import wrapping_label

if TYPE_CHECKING:  # the runner imports torch once it sets thread counts, after this has run
    from explorer.ui.jobs import JobContext, JobRunner

LANE = "first look"
AUTO = "auto"


def request_at_start(settings: QSettings, weights: str | None, device: str | None) -> quick.Request:
    """What the panel will load at launch (``MainWindow._load_start_weights``): the command line's
    weights with the engine and precision at ``auto``, else the saved source, network, device,
    engine and precision (the panel's settings group and keys). A guess that differs from what the
    panel then asks only means no quick result: the index is keyed by the exact request."""
    if weights is not None:
        return quick.request(weights, None, 0, AUTO, AUTO, device or "cpu")
    settings.beginGroup("classify")
    source = settings.value("weights_source", DEFAULT_SOURCE, type=str) or DEFAULT_SOURCE
    arch = settings.value("arch", "", type=str)
    saved_device = settings.value("device", "", type=str)
    engine, precision = settings.value("engine", AUTO, type=str), settings.value("precision", AUTO, type=str)
    settings.endGroup()
    named = weight_source(source)
    random = named is not None and named.url is None  # only random weights take the saved network
    return quick.request(source, arch if random and arch in RESNETS else None, 0, engine, precision,
                         saved_device or device or "cpu")


def classify_first(request: quick.Request, paths: list[str], scale: float, ctx: JobContext) -> Classified | None:
    """A job: the first usable image of ``paths`` classified from the cache, or None."""
    first = next((item for item in expand_inputs(paths) if not isinstance(item, ImageError)), None)
    if first is None or ctx.cancelled():
        return None
    classifier = quick.QuickClassifier.open(request)
    if classifier is None:
        return None
    try:
        image = load_image(first)
    except ImageError:
        return None
    return Classified.of(classifier.classify(image, first.name), image, scale)


class FirstLook(QWidget):
    """The dock's content at start-up. ``predicted`` (the forward's ms) fires when a result is in."""

    predicted = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.note = wrapping_label("Loading the classifier…")
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.results = ResultView()
        self.results.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.note)
        layout.addWidget(self.results, 1)
        self._result: Classified | None = None

    @classmethod
    def open_in(cls, dock: QDockWidget, runner: JobRunner, request: quick.Request, paths: list[str],
                then: Callable[[], None]) -> FirstLook:
        """A FirstLook in ``dock`` that classifies the first of ``paths`` on a lane of its own, then
        calls ``then`` (the rest of the app loads), whatever the outcome."""
        first = cls()
        dock.setWidget(first)
        scale = first.devicePixelRatioF()
        job = runner.submit(lambda ctx: classify_first(request, paths, scale, ctx), LANE)
        job.returned.connect(first._on_job_returned)
        job.finished.connect(then)
        return first

    def result(self) -> Classified | None:
        return self._result

    def keep_in(self, dock: QDockWidget, panel: Any) -> None:
        """Take the place of ``panel`` (the ClassifyPanel, already in ``dock``) until it has a result
        of its own or its weights fail (it then says why), so that the user never sees a result
        replaced by "waiting for weights"; without a result here, give way at once."""
        panel_view = dock.widget()
        if self._result is None:
            self.deleteLater()
            return
        dock.setWidget(self)
        changed, failed = panel.image_list.model().dataChanged, panel.weights_failed

        def place(*_: object) -> None:
            changed.disconnect(check)
            failed.disconnect(place)
            dock.setWidget(panel_view)
            self.deleteLater()

        def check(*_: object) -> None:
            if panel.pending() == 0:
                place()

        changed.connect(check)
        failed.connect(place)

    def _on_job_returned(self, result: Classified | None) -> None:
        if result is None:
            return
        self._result = result
        p = result.prediction
        self.note.setText(f"From the engine cache ({p.engine} {p.precision}) while the app loads…")
        preview = result.preview
        pixmap = rgb_bytes_pixmap(preview.width, preview.height, preview.data, self.devicePixelRatioF())
        self.results.show_prediction(p.file, p, pixmap, result.image_size)
        self.results.show()
        self.predicted.emit(p.latency_ms)
