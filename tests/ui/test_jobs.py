"""JobRunner: jobs run off the GUI thread and their results reach only their own handle, on the GUI
thread; the latest request wins (a cancelled job says only "aborted"); jobs of one lane never
overlap; failures are one line; shutdown cancels and waits; a job may wait for a widget's paint."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import time
import weakref

import pytest
import torch

from PySide6.QtWidgets import QWidget

from explorer.ui.jobs import AFTER_PAINT_MS, Job, JobRunner, LatestJob


@pytest.fixture
def runner(qtbot):
    r = JobRunner(torch_threads=0)  # 0: leave torch's thread count alone in these pure-Python jobs
    yield r
    assert r.shutdown(5000)


def record(job: Job) -> dict[str, list]:
    seen: dict[str, list] = {"returned": [], "errored": [], "aborted": [], "progressed": [], "published": []}
    job.returned.connect(lambda result: seen["returned"].append(result))
    job.errored.connect(lambda message: seen["errored"].append(message))
    job.aborted.connect(lambda: seen["aborted"].append(True))
    job.progressed.connect(lambda text, f: seen["progressed"].append((text, f)))
    job.published.connect(lambda value: seen["published"].append(value))
    return seen


def test_job_runs_on_a_worker_thread_and_result_arrives_on_the_gui_thread(qtbot, runner):
    gui = threading.get_ident()
    arrived_on: list[int] = []

    def fn(ctx):
        ctx.progress("half way", 0.5)
        ctx.publish({"step": 1})
        return threading.get_ident()

    job = runner.submit(fn, "lane")
    job.returned.connect(lambda _: arrived_on.append(threading.get_ident()))
    seen = record(job)
    with qtbot.waitSignal(job.finished, timeout=5000):
        pass
    assert seen["returned"][0] != gui
    assert arrived_on == [gui]
    assert seen["progressed"] == [("half way", 0.5)] and seen["published"] == [{"step": 1}]
    assert not job.is_running() and runner.running() == []


def test_an_ended_job_lets_go_of_its_listeners_while_its_handle_is_kept(qtbot, runner):
    """A view keeps its last job's handle and the handle's listeners (lambdas) hold the view: Qt
    keeps them as long as the handle lives, a cycle Python's collector cannot see, so every closed
    window stayed in memory. Once ended, the job holds no listener."""

    class View:
        def __init__(self) -> None:
            self.job = runner.submit(lambda ctx: "done", "lane")
            self.got: list[str] = []
            self.job.returned.connect(lambda result: self.got.append(result))
            self.job.aborted.connect(lambda: self.got.append("aborted"))

    view = View()
    with qtbot.waitSignal(view.job.finished, timeout=5000):
        pass
    assert view.got == ["done"]
    alive = weakref.ref(view)
    del view
    gc.collect()
    assert alive() is None


def test_results_reach_only_their_own_handle(qtbot, runner):
    """Two panels' jobs on different lanes: each handle hears its own result and nothing else (the
    old shared, string-keyed channel let a new panel's "weights" cancel the classifier's load)."""
    a, b = runner.submit(lambda ctx: "a", "classifier"), runner.submit(lambda ctx: "b", "insight")
    seen_a, seen_b = record(a), record(b)
    with qtbot.waitSignals([a.finished, b.finished], timeout=5000):
        pass
    assert seen_a["returned"] == ["a"] and seen_b["returned"] == ["b"]


def test_latest_request_wins_and_the_superseded_result_is_dropped(qtbot, runner):
    started, release, saw_cancel = threading.Event(), threading.Event(), threading.Event()

    def stubborn(ctx):
        started.set()
        release.wait(5)
        if ctx.cancelled():
            saw_cancel.set()
        ctx.progress("late progress", 1.0)
        return "old"  # returned although cancelled: the handle must drop it

    latest = LatestJob(runner, "lab")
    first = latest.submit(stubborn)
    seen_first = record(first)
    assert latest.is_running()
    assert started.wait(5)
    second = latest.submit(lambda ctx: "new")
    seen_second = record(second)
    with qtbot.waitSignals([first.finished, second.finished], timeout=5000):
        release.set()
    assert saw_cancel.is_set()
    assert seen_second["returned"] == ["new"]
    assert seen_first["returned"] == [] and seen_first["progressed"] == [] and seen_first["aborted"] == [True]
    assert second.job_id > first.job_id


def test_jobs_of_one_lane_never_overlap_and_keep_their_order(qtbot, runner):
    active = overlaps = 0
    order: list[str] = []
    lock = threading.Lock()

    def job(name):
        def fn(ctx):
            nonlocal active, overlaps
            with lock:
                active += 1
                overlaps += active > 1
            time.sleep(0.02)
            order.append(name)
            with lock:
                active -= 1
            return name

        return fn

    names = [f"image {i}" for i in range(4)]
    jobs = [runner.submit(job(name), "classifier") for name in names]
    with qtbot.waitSignals([j.finished for j in jobs], timeout=5000):
        pass
    assert overlaps == 0
    assert order == names


def test_different_lanes_run_at_the_same_time(qtbot, runner):
    both_started = threading.Barrier(2, timeout=5)

    def job(ctx):
        both_started.wait()  # raises BrokenBarrierError (-> errored) if the other never starts
        return "ok"

    jobs = [runner.submit(job, "gradients"), runner.submit(job, "classifier")]
    seen = [record(j) for j in jobs]
    with qtbot.waitSignals([j.finished for j in jobs], timeout=6000):
        pass
    assert [s["returned"] for s in seen] == [["ok"], ["ok"]]
    assert [s["errored"] for s in seen] == [[], []]


def test_failure_is_reported_as_one_line(qtbot, runner):
    def broken(ctx):
        raise ValueError("photo.png: not an image\n(more detail that must not reach the view)")

    job = runner.submit(broken, "classifier")
    with qtbot.waitSignal(job.errored, timeout=5000) as blocker:
        pass
    assert blocker.args == ["photo.png: not an image"]


def test_failure_without_message_names_the_exception(qtbot, runner):
    def broken(ctx):
        raise MemoryError()

    job = runner.submit(broken, "k")
    with qtbot.waitSignal(job.errored, timeout=5000) as blocker:
        pass
    assert blocker.args == ["MemoryError"]


def test_cancel_drops_the_result_and_clears_busy(qtbot, runner):
    started = threading.Event()

    def loop(ctx):
        started.set()
        while not ctx.cancelled():
            time.sleep(0.005)
        return "should be dropped"

    job = runner.submit(loop, "gradients")
    seen = record(job)
    assert started.wait(5)
    job.cancel()
    assert not job.is_running() and runner.running("gradients") == []
    with qtbot.waitSignal(job.aborted, timeout=5000):
        pass
    qtbot.wait(50)
    assert seen["returned"] == [] and seen["errored"] == []


def test_queued_job_superseded_before_it_starts_never_runs(qtbot, runner):
    gate = threading.Event()
    ran: list[str] = []

    def record_job(name):
        def fn(ctx):
            ran.append(name)
            return name

        return fn

    runner.submit(lambda ctx: gate.wait(5), "classifier")
    latest = LatestJob(runner, "classifier")
    first = latest.submit(record_job("first"))
    second = latest.submit(record_job("second"))
    with qtbot.waitSignals([first.aborted, second.returned], timeout=5000):
        gate.set()
    assert ran == ["second"]


def test_shutdown_cancels_running_and_queued_jobs_and_waits(qtbot):
    runner = JobRunner(torch_threads=0)
    started, stopped, ran_queued = threading.Event(), threading.Event(), threading.Event()

    def loop(ctx):
        started.set()
        while not ctx.cancelled():
            time.sleep(0.005)
        time.sleep(0.05)  # cleanup after the cancel: shutdown must wait for it
        stopped.set()
        return "dropped"

    running = runner.submit(loop, "shared")
    seen = record(running)
    runner.submit(lambda ctx: ran_queued.set(), "shared")
    assert started.wait(5)
    assert runner.shutdown(5000)
    assert stopped.is_set()
    qtbot.wait(50)
    assert not ran_queued.is_set()
    assert seen["returned"] == []
    with pytest.raises(RuntimeError, match="shut down"):
        runner.submit(lambda ctx: None, "k")


def test_torch_threads_are_limited_in_jobs_and_in_the_gui_thread(qtbot):
    before = torch.get_num_threads()
    runner = JobRunner(torch_threads=1)
    try:
        torch.set_num_threads(2)
        job = runner.submit(lambda ctx: torch.get_num_threads(), "k")
        with qtbot.waitSignal(job.returned, timeout=5000) as blocker:
            pass
        # OpenMP keeps the count per thread: both sides must agree for identical sums.
        assert blocker.args == [1]
        assert torch.get_num_threads() == 1
    finally:
        runner.shutdown()
        torch.set_num_threads(before)


def test_creating_a_runner_does_not_import_torch():
    """The window creates its runner before its first paint; importing torch there cost ~0.8 s."""
    import subprocess
    import sys

    code = "import sys; from explorer.ui.jobs import JobRunner; JobRunner(); print('torch' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_a_job_does_not_import_torch_for_a_process_that_has_not():
    # The start-up's first look runs torch-free while torch is still to be imported; setting the
    # job's thread count imported it first (1.1 s before the first prediction could start).
    script = (
        "import sys\n"
        "from PySide6.QtCore import QCoreApplication\n"
        "from explorer.ui.jobs import JobRunner\n"
        "app = QCoreApplication([])\n"
        "runner = JobRunner(torch_threads=1)\n"
        "seen = []\n"
        "job = runner.submit(lambda ctx: 'torch' in sys.modules, 'lane')\n"
        "job.returned.connect(seen.append)\n"
        "job.finished.connect(app.quit)\n"
        "app.exec()\n"
        "runner.shutdown()\n"
        "print(seen, 'torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.stdout.split() == ["[False]", "False"]


# -- after_paint: heavy work once the widget has painted what the click changed --------------------------------------


class Painted(QWidget):
    """Records its paints and when each happened, beside the jobs' starts."""

    def __init__(self, events: list[str]) -> None:
        super().__init__()
        self.events = events
        self.resize(80, 60)

    def paintEvent(self, event):  # noqa: N802
        self.events.append("paint")


def painted_on_screen(qtbot, events: list[str]) -> Painted:
    """A Painted widget shown, its first paint done (and recorded in ``events``)."""
    widget = Painted(events)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.waitUntil(lambda: "paint" in events)
    return widget


def test_a_job_after_a_paint_starts_once_its_widget_has_painted_and_runs_meanwhile(qtbot, runner):
    events: list[str] = []
    widget = painted_on_screen(qtbot, events)
    events.clear()
    widget.update()  # what the click changed, painted on a later turn
    job = runner.submit(lambda ctx: events.append("job"), "heavy", after_paint=widget)
    time.sleep(0.2)  # the GUI thread busy: no paint yet, and so no job (at once, it would have run by now)
    assert job.is_running() and events == []
    with qtbot.waitSignal(job.finished, timeout=5000):
        pass
    assert events[:2] == ["paint", "job"]


def test_jobs_after_the_same_paint_run_in_the_order_they_were_submitted(qtbot, runner):
    events: list[str] = []
    widget = painted_on_screen(qtbot, events)
    events.clear()
    widget.update()
    jobs = [runner.submit(lambda ctx, n=n: events.append(f"job {n}"), "heavy", after_paint=widget) for n in range(4)]
    with qtbot.waitSignals([job.finished for job in jobs], timeout=5000):
        pass
    assert events == ["paint", "job 0", "job 1", "job 2", "job 3"]


def test_a_job_after_a_hidden_widgets_paint_starts_at_once_and_one_that_never_paints_at_most_a_moment_later(qtbot, runner):
    events: list[str] = []
    hidden = Painted(events)
    qtbot.addWidget(hidden)
    at_once = runner.submit(lambda ctx: events.append("hidden's job"), "heavy", after_paint=hidden)
    with qtbot.waitSignal(at_once.finished, timeout=5000):
        pass
    shown = painted_on_screen(qtbot, events)
    shown.setUpdatesEnabled(False)  # no paint will come
    began = time.perf_counter()
    waited = runner.submit(lambda ctx: time.perf_counter() - began, "heavy", after_paint=shown)
    with qtbot.waitSignal(waited.returned, timeout=5000) as blocker:
        pass
    assert events[0] == "hidden's job" and blocker.args[0] >= AFTER_PAINT_MS / 1000 * 0.9


def test_a_job_waiting_for_a_paint_can_be_cancelled_and_a_shutdown_ends_it_unrun(qtbot, runner):
    events: list[str] = []
    widget = painted_on_screen(qtbot, events)
    widget.setUpdatesEnabled(False)
    latest = LatestJob(runner, "heavy")
    first = latest.submit(lambda ctx: events.append("first ran"), after_paint=widget)
    second = latest.submit(lambda ctx: events.append("second ran"), after_paint=widget)
    with qtbot.waitSignals([first.aborted, second.finished], timeout=5000):
        pass
    assert "first ran" not in events and "second ran" in events
    other = JobRunner(torch_threads=0)
    unrun = other.submit(lambda ctx: events.append("unrun ran"), "heavy", after_paint=widget)
    seen = record(unrun)
    assert other.shutdown(5000)
    with qtbot.waitSignal(unrun.finished, timeout=5000):
        pass
    assert seen["aborted"] == [True] and "unrun ran" not in events
    assert "heavy" not in other._lanes  # no lane, and so no thread, made after the shutdown
