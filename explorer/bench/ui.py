"""``resnet-explorer bench --suite ui``: how responsive the desktop app is.

Two numbers from the issue's targets: the time from launching ``resnet-explorer`` to its window being
painted (target < 1.5 s; measured from outside, in a fresh process, each run), and the longest gap
between beats of a 5 ms QTimer heartbeat on the GUI thread while jobs are in flight (target < 50 ms):
the summary and weights at start, a classification of the bundled samples, a gradient-lab run, both
at once, and the Insight dock's Grad-CAM and 16-block lesion sweep in flight together. Random
weights: nothing is downloaded. Without a display Qt runs offscreen.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from explorer.bench._args import positive_int

STALL_TARGET_MS = 50.0
STARTUP_TARGET_S = 1.5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ui-startup-runs", type=positive_int, default=3, metavar="N", help="ui: launches to time (default 3)")
    parser.add_argument("--ui-grad-size", type=positive_int, default=224, metavar="PX", help="ui: gradient-lab input size (default 224)")
    parser.add_argument("--ui-heartbeat-ms", type=positive_int, default=5, metavar="MS", help="ui: heartbeat period (default 5)")


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    if not any(env.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def _startup_once(env: dict[str, str]) -> dict[str, float]:
    """Seconds from spawning ``resnet-explorer gui --startup-probe`` to each line it prints:
    ``shown`` (first paint), ``parts`` (diagram and panels built), ``summary`` (numbers in)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "explorer", "gui", "--startup-probe"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    marks: dict[str, float] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        word, _, value = line.strip().partition(" ")
        if word == "gap":  # the app's own heartbeat between first paint and parts (ms)
            marks["gap_ms"] = float(value)
        else:
            marks[word] = time.perf_counter() - start
    proc.wait(timeout=120)
    if "shown" not in marks:
        raise RuntimeError(f"the app exited with status {proc.returncode} before showing its window")
    return marks


class _Heartbeat:
    """Records the gaps between timer beats on the GUI thread while ``recording`` is on."""

    def __init__(self, period_ms: int) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.gaps: list[float] = []
        self.ends: list[float] = []  # when each gap ended, for locating the worst one
        self.recording = False
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(period_ms)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._timer.start()

    def _on_timer_timeout(self) -> None:
        now = time.perf_counter()
        if self.recording:
            self.gaps.append((now - self._last) * 1000)
            self.ends.append(now)
        self._last = now

    def measure(self, start: Callable[[], None], done: Callable[[], bool], timeout_s: float = 600) -> dict[str, float]:
        """Run ``start()``, keep the event loop going until ``done()``, return the gap statistics."""
        from PySide6.QtCore import QEventLoop, QTimer

        self.gaps, self.ends, self._last, self.recording = [], [], time.perf_counter(), True
        began = time.perf_counter()
        start()
        loop = QEventLoop()
        poll = QTimer()
        poll.timeout.connect(lambda: done() and loop.quit())
        poll.start(20)
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        loop.exec()
        poll.stop()
        self.recording = False
        gaps = sorted(self.gaps) or [0.0]
        worst = max(range(len(self.gaps)), key=self.gaps.__getitem__) if self.gaps else None
        return {
            "seconds": round(time.perf_counter() - began, 3),
            "max_gap_end_s": round(self.ends[worst] - began, 3) if worst is not None else 0.0,
            "beats": len(self.gaps),
            "max_gap_ms": round(gaps[-1], 1),
            "p99_gap_ms": round(gaps[min(len(gaps) - 1, int(0.99 * len(gaps)))], 1),
            "median_gap_ms": round(statistics.median(gaps), 1),
            "completed": bool(done()),
        }


def _heartbeat(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    os.environ.update({k: v for k, v in _environment().items() if k == "QT_QPA_PLATFORM"})
    from PySide6.QtCore import qInstallMessageHandler

    from explorer.ui.app import create_application

    app = create_application()
    # The offscreen platform warns that it cannot resize real windows; noise in a report.
    previous = qInstallMessageHandler(
        lambda mode, context, text: None if text.startswith("This plugin does not support") else print(text, file=sys.stderr)
    )
    try:
        return _phases(app, args)
    finally:
        qInstallMessageHandler(previous)


def _phases(app, args: argparse.Namespace) -> dict[str, dict[str, float]]:  # noqa: ANN001 - a QApplication
    from PySide6.QtCore import QSettings

    from explorer.ui.main_window import MainWindow

    settings = QSettings(str(Path(tempfile.mkdtemp()) / "bench.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.resize(1400, 900)
    window.show()
    beat = _Heartbeat(args.ui_heartbeat_ms)
    from explorer.core.inference import sample_images  # through the resources API, as installed

    samples = [str(p) for p in sample_images()]
    phases: dict[str, dict[str, float]] = {}
    state = {"weights": False, "runs": 0}

    def build() -> None:
        window.prepare_parts()  # as the app does (torch is already loaded in this process)
        window.parts_ready.connect(hooks)

    def hooks() -> None:
        window.classify.weights_loaded.connect(lambda _: state.update(weights=True))
        window.gradient.run_finished.connect(lambda _: state.update(runs=state["runs"] + 1))
        window.gradient.settings.set(size=args.ui_grad_size)

    phases["idle"] = beat.measure(lambda: None, lambda: False, timeout_s=1.0)
    # Startup, after the window is shown: the GUI thread builds and first paints the parts while the
    # summary job runs. torch is already loaded here; the launch probe measures the import's gap.
    phases["build parts + summary job"] = beat.measure(build, lambda: window.diagram is not None and window.diagram.has_summary())
    # The Insight dock loads the same weights into its own model once the classifier has them.
    phases["weights (random)"] = beat.measure(
        lambda: window.classify.load_weights("random"), lambda: state["weights"] and window.insight.has_weights()
    )
    phases["classification"] = beat.measure(lambda: window.add_paths(samples), lambda: window.classify.pending() == 0)
    phases["gradient run"] = beat.measure(window.gradient.run, lambda: state["runs"] == 1)

    def both() -> None:
        window.add_paths(samples)
        window.gradient.run()

    phases["classification + gradient run"] = beat.measure(both, lambda: state["runs"] == 2 and window.classify.pending() == 0)

    def insight() -> None:
        window.insight_dock.raise_()
        window.insight.tabs.setCurrentIndex(1)  # Grad-CAM of the selected sample
        window.classify.image_list.setCurrentRow(0)
        window.insight.sweep()

    insight_done = lambda: window.insight.cam_result() is not None and window.insight.sweep_result() is not None  # noqa: E731
    phases["insight: Grad-CAM + lesion sweep"] = beat.measure(insight, insight_done)
    window.close()
    app.processEvents()
    return phases


def run(args: argparse.Namespace) -> dict:
    env = _environment()
    launches = [_startup_once(env) for _ in range(args.ui_startup_runs)]
    shown = [m["shown"] for m in launches]
    result = {
        "startup_shown_s": [round(s, 3) for s in shown],
        "startup_parts_s": [round(m.get("parts", float("nan")), 3) for m in launches],
        "startup_summary_s": [round(m.get("summary", float("nan")), 3) for m in launches],
        "startup_gap_ms": [round(m.get("gap_ms", float("nan")), 1) for m in launches],
        "startup_target_s": STARTUP_TARGET_S,
        "heartbeat_ms": args.ui_heartbeat_ms,
        "grad_size": args.ui_grad_size,
        "stall_target_ms": STALL_TARGET_MS,
        "phases": _heartbeat(args),
        "cpu_count": os.cpu_count(),
        "platform": env.get("QT_QPA_PLATFORM", "default"),
    }
    return result


def describe(result: dict) -> str:
    shown = result["startup_shown_s"]
    lines = [
        f"ui: window painted {min(shown):.2f}-{max(shown):.2f} s after launch over {len(shown)} runs "
        f"(target < {result['startup_target_s']} s); diagram and panels built at "
        f"{', '.join(f'{s:.2f}' for s in result['startup_parts_s'])} s, summary in at "
        f"{', '.join(f'{s:.2f}' for s in result['startup_summary_s'])} s; longest paint gap before the parts "
        f"{', '.join(f'{g:.0f}' for g in result['startup_gap_ms'])} ms",
        f"ui: {result['heartbeat_ms']} ms heartbeat on the GUI thread, gradient runs at {result['grad_size']} px, "
        f"{result['cpu_count']} cores, Qt platform {result['platform']} (target: max gap < {result['stall_target_ms']:.0f} ms)",
    ]
    for name, p in result["phases"].items():
        done = "" if p["completed"] or name == "idle" else " (did not finish)"
        lines.append(
            f"  {name:<32} {p['seconds']:>7.2f} s  {p['beats']:>6} beats  max gap {p['max_gap_ms']:>7.1f} ms  "
            f"(at {p['max_gap_end_s']:.2f} s)  p99 {p['p99_gap_ms']:>6.1f} ms  median {p['median_gap_ms']:>5.1f} ms{done}"
        )
    return "\n".join(lines)
