"""JobRunner: jobs run off the GUI thread, the latest request per kind wins, results arrive as
signals in the GUI thread, failures as one line, and shutdown cancels and waits."""

from __future__ import annotations

import threading
import time

import pytest

from explorer.ui.workers import JobRunner


@pytest.fixture
def runner(qtbot):
    r = JobRunner(torch_threads=0)  # 0: leave torch's thread count alone in these pure-Python jobs
    yield r
    assert r.shutdown(5000)


def record(runner: JobRunner) -> dict[str, list]:
    seen: dict[str, list] = {"finished": [], "failed": [], "progress": []}
    runner.finished.connect(lambda kind, job_id, result: seen["finished"].append((kind, job_id, result)))
    runner.failed.connect(lambda kind, job_id, message: seen["failed"].append((kind, job_id, message)))
    runner.progress.connect(lambda kind, job_id, text, f: seen["progress"].append((kind, job_id, text, f)))
    return seen


def test_job_runs_on_a_worker_thread_and_result_arrives_on_the_gui_thread(qtbot, runner):
    gui = threading.get_ident()
    arrived_on: list[int] = []
    runner.finished.connect(lambda *_: arrived_on.append(threading.get_ident()))

    def job(progress, cancelled):
        progress("half way", 0.5)
        return threading.get_ident()

    seen = record(runner)
    with qtbot.waitSignal(runner.finished, timeout=5000) as blocker:
        job_id = runner.submit("k", job)
    kind, got_id, worker = blocker.args
    assert (kind, got_id) == ("k", job_id)
    assert worker != gui
    assert arrived_on == [gui]
    assert seen["progress"] == [("k", job_id, "half way", 0.5)]
    assert not runner.is_busy("k")


def test_latest_request_wins_and_the_superseded_result_is_dropped(qtbot, runner):
    started = threading.Event()
    release = threading.Event()
    saw_cancel = threading.Event()

    def stubborn(progress, cancelled):
        started.set()
        release.wait(5)
        if cancelled():
            saw_cancel.set()
        progress("late progress", 1.0)
        return "old"  # returned although cancelled: the runner must drop it

    seen = record(runner)
    first = runner.submit("k", stubborn)
    assert runner.is_busy("k")
    assert started.wait(5)
    with qtbot.waitSignal(runner.finished, timeout=5000) as blocker:
        second = runner.submit("k", lambda p, c: "new")
        release.set()
    assert blocker.args == ["k", second, "new"]
    assert saw_cancel.is_set()
    assert second > first
    qtbot.wait(50)  # give a wrongly forwarded late signal the chance to show up
    assert [r for _, _, r in seen["finished"]] == ["new"]
    assert seen["progress"] == []


def test_jobs_of_one_lane_never_overlap_and_keep_their_order(qtbot, runner):
    active = 0
    overlaps = 0
    order: list[str] = []
    lock = threading.Lock()

    def job(name):
        def fn(progress, cancelled):
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

    names = [f"classify:{i}" for i in range(4)]
    with qtbot.waitSignals([runner.finished] * 4, timeout=5000):
        for name in names:
            runner.submit(name, job(name), lane="classifier")
    assert overlaps == 0
    assert order == names


def test_different_kinds_run_at_the_same_time(qtbot, runner):
    both_started = threading.Barrier(2, timeout=5)

    def job(progress, cancelled):
        both_started.wait()  # raises BrokenBarrierError (-> failed) if the other never starts
        return "ok"

    seen = record(runner)
    with qtbot.waitSignals([runner.finished, runner.finished], timeout=6000):
        runner.submit("gradients", job)
        runner.submit("weights", job)
    assert sorted(k for k, _, _ in seen["finished"]) == ["gradients", "weights"]
    assert seen["failed"] == []


def test_failure_is_reported_as_one_line(qtbot, runner):
    def broken(progress, cancelled):
        raise ValueError("photo.png: not an image\n(more detail that must not reach the view)")

    with qtbot.waitSignal(runner.failed, timeout=5000) as blocker:
        job_id = runner.submit("classify:1", broken)
    assert blocker.args == ["classify:1", job_id, "photo.png: not an image"]


def test_failure_without_message_names_the_exception(qtbot, runner):
    def broken(progress, cancelled):
        raise MemoryError()

    with qtbot.waitSignal(runner.failed, timeout=5000) as blocker:
        runner.submit("k", broken)
    assert blocker.args[2] == "MemoryError"


def test_cancel_drops_the_result_and_clears_busy(qtbot, runner):
    started = threading.Event()

    def loop(progress, cancelled):
        started.set()
        while not cancelled():
            time.sleep(0.005)
        return "should be dropped"

    seen = record(runner)
    runner.submit("gradients", loop)
    assert started.wait(5)
    runner.cancel("gradients")
    assert not runner.is_busy("gradients")
    qtbot.wait(100)
    assert seen["finished"] == [] and seen["failed"] == []


def test_queued_job_superseded_before_it_starts_never_runs(qtbot, runner):
    gate = threading.Event()
    ran: list[str] = []

    def blocker_job(progress, cancelled):
        gate.wait(5)
        return "blocker"

    def record_job(name):
        def fn(progress, cancelled):
            ran.append(name)
            return name

        return fn

    runner.submit("weights", blocker_job, lane="classifier")
    runner.submit("classify:1", record_job("first"), lane="classifier")
    with qtbot.waitSignal(runner.finished, check_params_cb=lambda k, i, r: r == "second", timeout=5000):
        runner.submit("classify:1", record_job("second"), lane="classifier")
        gate.set()
    assert ran == ["second"]


def test_shutdown_cancels_running_and_queued_jobs_and_waits(qtbot):
    runner = JobRunner(torch_threads=0)
    started = threading.Event()
    stopped = threading.Event()
    ran_queued = threading.Event()

    def loop(progress, cancelled):
        started.set()
        while not cancelled():
            time.sleep(0.005)
        time.sleep(0.05)  # cleanup after the cancel: shutdown must wait for it
        stopped.set()
        return "dropped"

    seen = record(runner)
    runner.submit("gradients", loop, lane="shared")
    runner.submit("classify:1", lambda p, c: ran_queued.set(), lane="shared")
    assert started.wait(5)
    assert runner.shutdown(5000)
    assert stopped.is_set()
    qtbot.wait(50)
    assert not ran_queued.is_set()
    assert seen["finished"] == []
    with pytest.raises(RuntimeError, match="shut down"):
        runner.submit("k", lambda p, c: None)


def test_torch_threads_are_limited_in_jobs_and_in_the_gui_thread(qtbot):
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        runner = JobRunner(torch_threads=1)
        with qtbot.waitSignal(runner.finished, timeout=5000) as blocker:
            runner.submit("k", lambda p, c: torch.get_num_threads())
        # OpenMP keeps the count per thread: both sides must agree for identical sums.
        assert blocker.args[2] == 1
        assert torch.get_num_threads() == 1
    finally:
        runner.shutdown()
        torch.set_num_threads(before)


def test_creating_a_runner_does_not_import_torch():
    """The window creates its runner before its first paint; importing torch there cost ~0.8 s."""
    import subprocess
    import sys

    code = "import sys; from explorer.ui.workers import JobRunner; JobRunner(); print('torch' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
