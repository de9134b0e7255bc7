"""Worker-side half of the classification panel: the one Classifier and the jobs that use it.

UI layer, but no Qt here. The panel submits these methods as jobs on its "classifier" lane, so the
model is touched by one job at a time and never by the GUI thread; what comes back is frozen
dataclasses of plain values (predictions, RGB bytes for thumbnails) that the panel turns into pixmaps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from PIL import Image

from explorer.core.inference.classifier import Classifier
from explorer.core.loading.pipeline import WeightsInfo
from explorer.core.loading.sources import weight_source
from explorer.core.progress import Cancel, Progress
from explorer.ui.classify.pictures import Classified

# A download reports every chunk; a few updates a second are enough for a progress bar and keep the
# GUI's event queue short.
PROGRESS_INTERVAL_S = 0.1


@dataclass(frozen=True)
class LoadedWeights:
    token: int  # what ClassifierHost.commit needs to put these weights in service
    info: WeightsInfo
    stats: dict[str, tuple[float, float]]
    device: str
    notices: tuple[str, ...]
    engine: str | None = None  # the engine in use: "torch", "onnxruntime", "openvino"
    precision: str = "fp32"  # the precision in use (after any fallback)

    def as_signal_payload(self) -> dict:
        """The ``weights_loaded`` payload: ``{"info": {...WeightsInfo fields...}, "stats": {...}}``."""
        return {"info": asdict(self.info), "stats": dict(self.stats)}


class ClassifierHost:
    """Owns the Classifier. Call its methods only from jobs of one JobRunner lane.

    Loading is two-phase so that the GUI, not the worker, decides which weights are in use: ``load``
    prepares a fresh Classifier beside the current one, and only ``commit`` (a job the panel submits
    once it has accepted the result) puts it in service. A load that was cancelled or superseded
    after it finished is therefore never used, and a failed one changes nothing.
    """

    def __init__(self) -> None:
        self._classifier: Classifier | None = None
        self._candidate: tuple[int, Classifier] | None = None
        self._replaced: list[Classifier] = []  # put out of service by commit, freed by release_replaced

    def load(
        self, token: int, source: str, device: str, progress: Progress, cancelled: Cancel,
        arch: str | None = None, engine: str = "auto", precision: str = "auto",
    ) -> LoadedWeights:
        """Load ``source`` on ``device`` into a new Classifier (predicting with ``engine`` at
        ``precision``, see :mod:`explorer.core.inference.engines`; an export or compile happens here, on the
        worker) kept under ``token`` until committed. ``arch`` is the member for ``random`` (a named
        checkpoint or a file decides its own)."""
        self._candidate = None  # an earlier load that was never committed is dropped
        candidate = Classifier(device, precision, engine=engine)
        named = weight_source(source)
        arch = arch if named is not None and named.url is None else None
        info = candidate.load(source, progress=_download_progress(source, progress), cancel=cancelled, arch=arch)
        with torch.no_grad():  # the statistics are read-outs, not part of any graph
            stats = candidate.weight_stats()
        self._candidate = (token, candidate)
        return LoadedWeights(
            token, info, stats, str(candidate.device), tuple(candidate.notices), candidate.engine, candidate.precision
        )

    def commit(self, token: int) -> None:
        """Put the Classifier prepared by ``load(token, ...)`` in service; the one it replaces is kept
        until :meth:`release_replaced`."""
        if self._candidate is None or self._candidate[0] != token:
            raise RuntimeError("the loaded weights were replaced before they could be used; load them again")
        if self._classifier is not None:
            self._replaced.append(self._classifier)
        self._classifier = self._candidate[1]
        self._candidate = None

    def release_replaced(self) -> int:
        """Free the classifiers :meth:`commit` put out of service; how many there were. The panel
        queues this after the new weights' predictions and the window's next paint: freeing an
        OpenVINO engine (ResNet-152's holds ~360 MB) ends in its ``malloc_trim``, which holds glibc's
        allocator locks for 30-80 ms, and the GUI thread, allocating as it drew the new network,
        waited on them (switch stalls of 50-100 ms, traced with perf's sched_switch)."""
        count = len(self._replaced)
        self._replaced.clear()
        return count

    def classify(self, source: str | Path | Image.Image, name: str, topk: int = 5, scale: float = 1.0) -> Classified:
        """Classify a file (raises ImageError, one line naming it) or an already decoded image.

        ``scale``: the screen's device pixel ratio, so thumbnails stay sharp at 200%.
        """
        if self._classifier is None or self._classifier.weights is None:
            raise RuntimeError("no weights loaded yet")
        if isinstance(source, Image.Image):
            image = source.convert("RGB")
        else:
            image = self._classifier.decode(source)  # as classify_path decodes it
        return Classified.of(self._classifier.classify(image, name, topk), image, scale)


def _download_progress(source: str, progress: Progress) -> Callable[[int, int], None]:
    last = 0.0

    def report(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last < PROGRESS_INTERVAL_S and done != total:
            return
        last = now
        mib = f"{done / 2**20:.1f} of {total / 2**20:.1f} MiB" if total else f"{done / 2**20:.1f} MiB"
        progress(f"Downloading {source}: {mib}", done / total if total else 0.0)

    return report
