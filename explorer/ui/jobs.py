"""Background jobs for the Qt views: the only module in explorer.ui that owns threads.

A job is a plain function ``fn(context) -> result`` that runs on a worker thread. The
:class:`JobContext` it receives carries the shape of the core's long calls: ``progress(text,
fraction)``, a ``cancelled()`` flag to poll between steps, and ``publish(value)`` for partial
results (a training step, a download's bytes). ``JobRunner.submit`` returns a :class:`Job` handle
whose signals only its submitter hears (superqt's workers: ``returned``, ``errored``, ``aborted``),
emitted on the GUI thread with plain data. A cancelled job emits ``aborted`` and nothing else, so a
superseded request's result never reaches a view; :class:`LatestJob` keeps one handle per purpose
and cancels the previous one on every submit (latest wins).

Jobs that share state (one Classifier for loading weights and classifying) share a *lane*: a lane
runs its jobs one at a time, in submission order, so a superseded job has stopped before its
successor touches the state they share.

A job that answers a click with heavy Python (building a network) may wait to start until a widget
has painted what the click changed (``after_paint``): started at once, it took the interpreter lock
from the GUI thread's paint turn in short pieces, and the race's first turn took 37-52 ms instead
of 20-25.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence

from PySide6.QtCore import QEvent, QMetaMethod, QObject, QThreadPool, QTimer, Signal, Slot
from PySide6.QtWidgets import QAbstractScrollArea, QWidget

log = logging.getLogger(__name__)

AFTER_PAINT_MS = 100  # the longest a job submitted with after_paint waits for that paint


def default_torch_threads() -> int:
    """Intra-op threads for torch in jobs: every core but one, so the GUI thread always finds a
    free core to paint on (on this project's 2-core machine: 1 torch thread)."""
    return max(1, (os.cpu_count() or 1) - 1)


class JobContext:
    """What a job's function may call from its worker thread. Qt-free; never touches widgets."""

    def __init__(self, job: Job) -> None:
        self._job = job

    def progress(self, text: str, fraction: float) -> None:
        """Report progress (``fraction`` 0..1); dropped once the job is cancelled."""
        if not self._job.cancelled():
            self._job._progress_from_worker.emit(str(text), float(fraction))

    def cancelled(self) -> bool:
        """True once the submitter (or the runner's shutdown) asked the job to stop."""
        return self._job.cancelled()

    def publish(self, value: object) -> None:
        """Hand a partial result (plain data) to the submitter while the job goes on."""
        if not self._job.cancelled():
            self._job._published_from_worker.emit(value)


JobFn = Callable[[JobContext], object]


class Job(QObject):
    """The handle of one submitted job. Exactly one of ``returned``, ``errored`` or ``aborted`` is
    emitted, on the GUI thread, then ``finished``. Nothing but ``aborted`` follows a cancel."""

    progressed = Signal(str, float)  # text, fraction 0..1
    published = Signal(object)  # a partial result
    returned = Signal(object)  # the function's return value (plain data)
    errored = Signal(str)  # one-line message
    aborted = Signal()  # cancelled (by cancel(), a newer request or shutdown)
    finished = Signal()

    # Emitted from the worker thread; queued into this object's (the GUI) thread.
    _progress_from_worker = Signal(str, float)
    _published_from_worker = Signal(object)
    _ended_from_worker = Signal(bool, object)  # ok, result or message

    def __init__(self, job_id: int, lane: str) -> None:
        super().__init__()
        self.job_id = job_id
        self.lane = lane
        self._cancel = threading.Event()
        self._running = True
        self._progress_from_worker.connect(self._on_worker_progress)
        self._published_from_worker.connect(self._on_worker_published)
        self._ended_from_worker.connect(self._on_worker_ended)

    def cancel(self) -> None:
        """Ask the job to stop; it emits ``aborted`` once its function has returned (or at once,
        if it never started)."""
        self._cancel.set()

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def is_running(self) -> bool:
        """True while queued or running and not cancelled."""
        return self._running and not self._cancel.is_set()

    @Slot(str, float)
    def _on_worker_progress(self, text: str, fraction: float) -> None:
        if self.is_running():
            self.progressed.emit(text, fraction)

    @Slot(object)
    def _on_worker_published(self, value: object) -> None:
        if self.is_running():
            self.published.emit(value)

    @Slot(bool, object)
    def _on_worker_ended(self, ok: bool, payload: object) -> None:
        if not self._running:
            return
        self._running = False
        if self._cancel.is_set():
            self.aborted.emit()
        elif ok:
            self.returned.emit(payload)
        else:
            self.errored.emit(str(payload))
        self.finished.emit()
        self._release_listeners()

    def _release_listeners(self) -> None:
        # An ended job emits nothing more, yet Qt would keep its listeners (often lambdas holding
        # their view) as long as the handle lives, and a view that keeps its last job's handle
        # would then be kept by it: a cycle through C++ that Python's collector cannot see (every
        # closed window of the test suite stayed in memory, 14 GB by its end).
        for signal in (self.progressed, self.published, self.returned, self.errored, self.aborted, self.finished):
            if self.isSignalConnected(QMetaMethod.fromSignal(signal)):
                signal.disconnect()


class JobRunner(QObject):
    """Runs jobs on worker threads, one thread per lane; one instance per window, shared by its parts."""

    def __init__(self, parent: QObject | None = None, torch_threads: int | None = None) -> None:
        super().__init__(parent)
        self._torch_threads = default_torch_threads() if torch_threads is None else torch_threads
        self._ids = itertools.count(1)
        self._jobs: dict[int, Job] = {}  # submitted and not yet ended; GUI thread only
        self._lanes: dict[str, QThreadPool] = {}
        self._paint_waits: dict[QWidget, AfterPaint] = {}  # jobs waiting for a widget's next paint, in order
        self._closed = False

    def submit(self, fn: JobFn, lane: str, after_paint: QWidget | None = None) -> Job:
        """Run ``fn(context)`` on the worker thread of ``lane`` after the lane's earlier jobs; return
        its handle. Connect to the handle's signals right away (they are queued, so nothing is
        emitted before control returns to the event loop). With ``after_paint`` (a widget on
        screen) the job is queued once that widget has painted, or :data:`AFTER_PAINT_MS` later
        if it does not; it is running (and can be cancelled) meanwhile."""
        if self._closed:
            raise RuntimeError("the job runner has been shut down")
        # OpenMP keeps the thread count per thread: set it on the submitting (GUI) thread too, so
        # every thread of the process sums in the same order (a plain 50-layer net amplifies the
        # last bit to ~1%). Only once torch is loaded: importing it here froze the GUI thread.
        if "torch" in sys.modules:
            self._limit_torch_threads()
        # No Qt parent: the runner keeps the job until it has ended, the submitter as long as it likes.
        job = Job(next(self._ids), lane)
        self._jobs[job.job_id] = job
        job.finished.connect(lambda job_id=job.job_id: self._jobs.pop(job_id, None))
        if after_paint is not None and after_paint.isVisible():
            # One wait per widget: jobs after the same paint start in the order they were submitted
            # (a filter each, Qt would have called the last installed first).
            waiting = self._paint_waits.get(after_paint)
            if waiting is None:
                waiting = AfterPaint((after_paint,), lambda: self._paint_waits.pop(after_paint, None), self, AFTER_PAINT_MS)
                self._paint_waits[after_paint] = waiting
            waiting.also(lambda: self._start(job, fn))
        else:
            self._start(job, fn)
        return job

    def _start(self, job: Job, fn: JobFn) -> None:
        if self._closed:  # shut down while it waited for a paint: it never runs
            _emit(job._ended_from_worker, False, None)
        else:
            self._lane(job.lane).start(lambda: self._execute(job, fn))

    def running(self, lane: str | None = None) -> list[Job]:
        """Jobs queued or running (and not cancelled), of one lane or of all."""
        return [j for j in self._jobs.values() if j.is_running() and (lane is None or j.lane == lane)]

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel everything, drop queued jobs and wait up to ``timeout_ms`` for running ones.

        Returns True when every worker thread has stopped. Called from the window's closeEvent.
        """
        self._closed = True
        for job in self._jobs.values():
            job.cancel()
        for pool in self._lanes.values():
            pool.clear()  # queued jobs never start
        stopped = True
        for pool in self._lanes.values():
            stopped = pool.waitForDone(timeout_ms) and stopped
        return stopped

    def _lane(self, name: str) -> QThreadPool:
        pool = self._lanes.get(name)
        if pool is None:
            pool = QThreadPool(self)
            pool.setMaxThreadCount(1)
            self._lanes[name] = pool
        return pool

    def _execute(self, job: Job, fn: JobFn) -> None:
        """Runs on a worker thread: never touches widgets, only emits the job's private signals."""
        if job.cancelled():  # superseded while queued: do not even start
            _emit(job._ended_from_worker, False, None)
            return
        # Not before torch is loaded: the start-up's first look is a torch-free job, and importing
        # torch here held it back 1.1 s. The job that loads torch (the parts' import) only imports.
        if "torch" in sys.modules:
            self._limit_torch_threads()
        try:
            result = fn(JobContext(job))
        except Exception as exc:  # reported as one line in the view; details go to the log
            log.debug("job #%d on lane %s failed", job.job_id, job.lane, exc_info=True)
            _emit(job._ended_from_worker, False, one_line(exc))
        else:
            _emit(job._ended_from_worker, True, result)

    def _limit_torch_threads(self) -> None:
        # With every core busy in a convolution the GUI thread waits for a core and the event loop
        # stalls; on 2 cores two OpenMP threads also fight the rest of the machine (measured: a
        # 224 px gradient run took 3.9 s with 1 thread, 32 s with 2, on a loaded 2-core box).
        # Imported lazily: the runner itself does not need torch.
        if self._torch_threads > 0:
            import torch

            if torch.get_num_threads() != self._torch_threads:
                torch.set_num_threads(self._torch_threads)


class AfterPaint(QObject):
    """Calls ``callback`` once, from the event loop, right after one of ``widgets`` (a scroll area's
    viewport, for a scroll area or graphics view) next paints; with ``at_most_ms``, that long from now
    if none does. The app's first-paint steps use it, and :meth:`JobRunner.submit`'s ``after_paint``."""

    def __init__(self, widgets: Sequence[QWidget], callback: Callable[[], None], parent: QObject,
                 at_most_ms: int | None = None) -> None:
        super().__init__(parent)
        self._callbacks: list[Callable[[], None]] = [callback]
        self._watched = [w.viewport() if isinstance(w, QAbstractScrollArea) else w for w in widgets]
        for widget in self._watched:
            widget.installEventFilter(self)
        if at_most_ms is not None:
            QTimer.singleShot(at_most_ms, self, self._go)

    def also(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` too, after those given before."""
        self._callbacks.append(callback)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Paint and self._callbacks:
            QTimer.singleShot(0, self, self._go)  # once this paint has reached the screen
        return False

    def _go(self) -> None:
        if self._callbacks:
            callbacks, self._callbacks = self._callbacks, []
            for widget in self._watched:
                with contextlib.suppress(RuntimeError):  # the widget is gone already (its window closed)
                    widget.removeEventFilter(self)
            self.deleteLater()
            for callback in callbacks:
                callback()


class LatestJob:
    """One purpose's current job (the gradient lab's run, the classifier's weights): submitting
    cancels the previous one, so only the latest request's result arrives."""

    def __init__(self, runner: JobRunner, lane: str) -> None:
        self._runner = runner
        self.lane = lane
        self._job: Job | None = None

    def submit(self, fn: JobFn, after_paint: QWidget | None = None) -> Job:
        self.cancel()
        self._job = self._runner.submit(fn, self.lane, after_paint)
        return self._job

    def cancel(self) -> bool:
        """Cancel the current job; True if one was running."""
        job, self._job = self._job, None
        if job is not None and job.is_running():
            job.cancel()
            return True
        return False

    def is_running(self) -> bool:
        return self._job is not None and self._job.is_running()

    def current(self) -> Job | None:
        return self._job if self.is_running() else None


def _emit(signal, *args) -> None:  # noqa: ANN001 - a bound Qt signal
    try:
        signal.emit(*args)
    except RuntimeError:  # the job object was deleted after a shutdown timed out: nobody listens
        pass


def one_line(exc: BaseException) -> str:
    """An exception as the one line a view shows: its first line, or its type's name."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return first or type(exc).__name__
