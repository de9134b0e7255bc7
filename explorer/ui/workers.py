"""Background jobs for the Qt views: the only module in explorer.ui that owns threads.

A job is a plain function ``fn(progress, cancelled) -> result`` (the shape of the core's long
calls: a progress callback and a cancel flag checked between stages). It runs on a worker thread;
progress, results and errors come back to the GUI thread through queued signals as plain data.
The latest request wins per *kind*: submitting a job cancels the earlier job of the same kind and
drops whatever it still returns. Jobs that share state (one Classifier for "weights" and
"classify:<n>" jobs) share a *lane*: a lane runs its jobs one at a time, in submission order.
"""

from __future__ import annotations

import itertools
import sys
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QThreadPool, Signal, Slot

Progress = Callable[[str, float], None]
Cancelled = Callable[[], bool]
JobFn = Callable[[Progress, Cancelled], object]

log = logging.getLogger(__name__)


def default_torch_threads() -> int:
    """Intra-op threads for torch in jobs: every core but one, so the GUI thread always finds a
    free core to paint on (on this project's 2-core machine: 1 torch thread)."""
    return max(1, (os.cpu_count() or 1) - 1)


@dataclass
class _Job:
    kind: str
    job_id: int
    cancel: threading.Event = field(default_factory=threading.Event)


class JobRunner(QObject):
    """Runs jobs on worker threads; one instance per window, shared by its panels.

    Signals are emitted in the GUI thread, only for the latest, not-cancelled job of each kind.
    """

    progress = Signal(str, int, str, float)  # kind, job_id, text, fraction 0..1
    finished = Signal(str, int, object)  # kind, job_id, result (plain data)
    failed = Signal(str, int, str)  # kind, job_id, one-line message

    # Emitted from worker threads; AutoConnection queues them into this object's (the GUI) thread.
    _job_progress = Signal(int, str, float)
    _job_ended = Signal(int, bool, object)  # job_id, ok, result or message

    def __init__(self, parent: QObject | None = None, torch_threads: int | None = None) -> None:
        super().__init__(parent)
        self._torch_threads = default_torch_threads() if torch_threads is None else torch_threads
        self._ids = itertools.count(1)
        self._jobs: dict[int, _Job] = {}  # submitted and not yet ended; GUI thread only
        self._latest: dict[str, int] = {}
        self._lanes: dict[str, QThreadPool] = {}
        self._closed = False
        self._job_progress.connect(self._on_job_progress)
        self._job_ended.connect(self._on_job_ended)

    # -- public API (GUI thread) -----------------------------------------------------------------

    def submit(self, kind: str, fn: JobFn, lane: str | None = None) -> int:
        """Run ``fn(progress, cancelled)`` on a worker thread and return the job id.

        Cancels the earlier job of the same ``kind``. Jobs of one ``lane`` (default: the kind) run
        one at a time in submission order, so a superseded job has stopped before its successor
        touches the state they share.
        """
        if self._closed:
            raise RuntimeError("the job runner has been shut down")
        # OpenMP keeps the thread count per thread: set it on the submitting (GUI) thread too, so
        # every thread of the process sums in the same order (a plain 50-layer net amplifies the
        # last bit to ~1%). Only once torch is loaded: importing it here froze the GUI thread.
        if "torch" in sys.modules:
            self._limit_torch_threads()
        self.cancel(kind)
        job = _Job(kind, next(self._ids))
        self._jobs[job.job_id] = job
        self._latest[kind] = job.job_id
        self._lane(lane or kind).start(lambda: self._execute(job, fn))
        return job.job_id

    def cancel(self, kind: str) -> None:
        """Ask every job of ``kind`` to stop; whatever they still return is dropped."""
        for job in self._jobs.values():
            if job.kind == kind:
                job.cancel.set()

    def is_busy(self, kind: str) -> bool:
        """True while the latest job of ``kind`` is queued or running and not cancelled."""
        job = self._jobs.get(self._latest.get(kind, 0))
        return job is not None and not job.cancel.is_set()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel everything, drop queued jobs and wait up to ``timeout_ms`` for running ones.

        Returns True when every worker thread has stopped. Called from the window's closeEvent.
        """
        self._closed = True
        for job in self._jobs.values():
            job.cancel.set()
        deadline_ok = True
        for pool in self._lanes.values():
            pool.clear()  # queued jobs never start
        for pool in self._lanes.values():
            deadline_ok = pool.waitForDone(timeout_ms) and deadline_ok
        return deadline_ok

    # -- worker side ------------------------------------------------------------------------------

    def _lane(self, name: str) -> QThreadPool:
        pool = self._lanes.get(name)
        if pool is None:
            pool = QThreadPool(self)
            pool.setMaxThreadCount(1)
            self._lanes[name] = pool
        return pool

    def _execute(self, job: _Job, fn: JobFn) -> None:
        """Runs on a worker thread: never touches widgets, only emits the private signals."""
        if job.cancel.is_set():  # superseded while queued: do not even start
            self._emit(self._job_ended, job.job_id, False, None)
            return
        self._limit_torch_threads()

        def progress(text: str, fraction: float) -> None:
            if not job.cancel.is_set():
                self._emit(self._job_progress, job.job_id, str(text), float(fraction))

        try:
            result = fn(progress, job.cancel.is_set)
        except Exception as exc:  # reported as one line in the view; details go to the log
            log.debug("job %s #%d failed", job.kind, job.job_id, exc_info=True)
            self._emit(self._job_ended, job.job_id, False, _one_line(exc))
        else:
            self._emit(self._job_ended, job.job_id, True, result)

    def _limit_torch_threads(self) -> None:
        # With every core busy in a convolution the GUI thread waits for a core and the event loop
        # stalls; on 2 cores two OpenMP threads also fight the rest of the machine (measured: a
        # 224 px gradient run took 3.9 s with 1 thread, 32 s with 2, on a loaded 2-core box).
        # Imported lazily: the runner itself does not need torch.
        if self._torch_threads > 0:
            import torch

            if torch.get_num_threads() != self._torch_threads:
                torch.set_num_threads(self._torch_threads)

    @staticmethod
    def _emit(signal, *args) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the runner was deleted after shutdown timed out: nobody listens
            pass

    # -- GUI side -----------------------------------------------------------------------------------

    def _is_current(self, job_id: int) -> _Job | None:
        job = self._jobs.get(job_id)
        if job is None or job.cancel.is_set() or self._latest.get(job.kind) != job_id:
            return None
        return job

    @Slot(int, str, float)
    def _on_job_progress(self, job_id: int, text: str, fraction: float) -> None:
        job = self._is_current(job_id)
        if job is not None:
            self.progress.emit(job.kind, job_id, text, fraction)

    @Slot(int, bool, object)
    def _on_job_ended(self, job_id: int, ok: bool, payload: object) -> None:
        job = self._is_current(job_id)
        self._jobs.pop(job_id, None)
        if job is None:
            return  # superseded or cancelled: latest wins, its result is dropped
        if ok:
            self.finished.emit(job.kind, job_id, payload)
        elif payload is not None:
            self.failed.emit(job.kind, job_id, str(payload))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return first or type(exc).__name__
