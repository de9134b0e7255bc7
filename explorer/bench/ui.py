"""``resnet-explorer bench --suite ui``: how responsive the desktop app is.

From a fresh process each run (launched as ``resnet-explorer gui`` with random weights and one
sample, nothing downloaded, an engine cache of its own that the first launch finds empty): launch to
the window painted (target 1.5 s), to the diagram drawn (target 2 s) and to the first prediction
(target 4 s with the empty cache, 1.5 s once the engine is cached: then it comes from the cache
before torch is loaded), and to the panel's own first prediction. In this process: the longest gap between
beats of a 5 ms QTimer heartbeat on the GUI thread while jobs are in flight and for 150 ms after each
phase's end (what it left to paint is its own; target 50 ms) — the
summary and weights at start, a classification of the bundled samples, a gradient-lab run, both at
once, the Insight dock's Grad-CAM with a lesion sweep, and a short race (5 steps at 32 px) — and the forward time the Classification
panel shows beside the forward of the ``classify`` command's Classifier on the same image, measured
in the same run (target: at most 1.2x), and a switch to ResNet-152 through the Network menu (random
weights): from the request until the diagram and the classifier are rebuilt (target 2 s).
Without a display Qt runs offscreen.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from explorer.core.argtypes import positive_int

STALL_TARGET_MS = 50.0
SETTLE_MS = 150  # the heartbeat's time after a phase's end, still the phase's
STARTUP_TARGET_S = 1.5
DIAGRAM_TARGET_S = 2.0
PREDICTION_TARGET_S = {"empty cache": 4.0, "cached": 1.5}
FORWARD_RATIO_TARGET = 1.2
RACE_STEPS, RACE_SIZE = 5, 32
SWITCH_TARGET_S = 2.0
SWITCH_ARCH = "resnet152"
SWITCH_PHASE = f"switch to {SWITCH_ARCH} (random)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ui-startup-runs", type=positive_int, default=3, metavar="N", help="ui: launches to time with the engine cached (default 3), after one with an empty cache")
    parser.add_argument("--ui-grad-size", type=positive_int, default=224, metavar="PX", help="ui: gradient-lab input size (default 224)")
    parser.add_argument("--ui-heartbeat-ms", type=positive_int, default=5, metavar="MS", help="ui: heartbeat period (default 5)")


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    if not any(env.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def _startup_once(env: dict[str, str], sample: str) -> dict[str, float]:
    """Seconds from spawning ``resnet-explorer gui --startup-probe SAMPLE`` to each line it prints:
    ``shown`` (first paint), ``parts`` (diagram and panels built), ``diagram`` (drawn), ``summary``
    (numbers in), ``prediction`` (the sample classified; its forward ms as ``prediction_ms``),
    ``panel`` (the panel's own first result)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "explorer", "gui", "--startup-probe", sample],
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
        elif word == "frozen":  # objects taken out of the collector's scans once the parts were built
            marks["frozen_objects"] = float(value)
        else:
            marks[word] = time.perf_counter() - start
            if word in ("prediction", "panel"):
                marks[f"{word}_ms"] = float(value)
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
        """Run ``start()``, keep the event loop going until ``done()``, return the gap statistics.
        The heartbeat goes on for :data:`SETTLE_MS` after ``done()``: what the phase's end left to
        paint (a race's verdict resizing its plots) is the phase's, not the next one's."""
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
        seconds = time.perf_counter() - began
        settle = QEventLoop()
        QTimer.singleShot(SETTLE_MS, settle.quit)
        settle.exec()
        self.recording = False
        gaps = sorted(self.gaps) or [0.0]
        worst = max(range(len(self.gaps)), key=self.gaps.__getitem__) if self.gaps else None
        return {
            "seconds": round(seconds, 3),
            "max_gap_end_s": round(self.ends[worst] - began, 3) if worst is not None else 0.0,
            "beats": len(self.gaps),
            "max_gap_ms": round(gaps[-1], 1),
            "p99_gap_ms": round(gaps[min(len(gaps) - 1, int(0.99 * len(gaps)))], 1),
            "median_gap_ms": round(statistics.median(gaps), 1),
            "completed": bool(done()),
        }


def _heartbeat(args: argparse.Namespace) -> tuple[dict[str, dict[str, float]], list, dict[str, float]]:
    os.environ.update({k: v for k, v in _environment().items() if k == "QT_QPA_PLATFORM"})
    from PySide6.QtCore import qInstallMessageHandler

    from explorer.ui.app import create_application

    app = create_application()
    # The offscreen platform warns that it cannot resize real windows; noise in a report.
    previous = qInstallMessageHandler(
        lambda mode, context, text: None if text.startswith("This plugin does not support") else print(text, file=sys.stderr)
    )
    try:
        with tempfile.TemporaryDirectory(prefix="ui-bench-") as folder:
            return _phases(app, args, Path(folder) / "bench.ini")
    finally:
        qInstallMessageHandler(previous)
        gc.unfreeze()  # frozen as the app freezes them (below): the process is left as it was (a test runs this)


def _phases(app, args: argparse.Namespace, settings_file: Path) -> tuple[dict[str, dict[str, float]], list, dict[str, float]]:  # noqa: ANN001
    from PySide6.QtCore import QSettings

    from explorer.ui.main_window import MainWindow
    from explorer.ui.startup import freeze_long_lived_objects

    window = MainWindow(QSettings(str(settings_file), QSettings.Format.IniFormat))
    window.resize(1400, 900)
    window.show()
    beat = _Heartbeat(args.ui_heartbeat_ms)
    from explorer.core.samples import sample_images  # through the resources API, as installed

    samples = [str(p) for p in sample_images()]
    phases: dict[str, dict[str, float]] = {}
    state = {"weights": False, "runs": 0, "swept": False, "raced": False}

    def build() -> None:
        window.prepare_parts()  # as the app does
        window.parts_ready.connect(freeze_long_lived_objects)  # as run_app does
        window.parts_ready.connect(hooks)

    def hooks() -> None:
        window.classify.weights_loaded.connect(lambda _: state.update(weights=True))
        window.gradient.run_finished.connect(lambda _: state.update(runs=state["runs"] + 1))
        window.gradient.settings.set(size=args.ui_grad_size)
        box = window.classify.engine_choice.engine_box  # bench --engine, as a person would pick it
        box.setCurrentIndex(box.findData(args.engine))

    phases["idle"] = beat.measure(lambda: None, lambda: False, timeout_s=1.0)
    # Startup, after the window is shown: the GUI thread builds and first paints the parts while the
    # summary job runs. torch is already loaded here; the launch probe measures the import's gap.
    phases["build parts + summary job"] = beat.measure(build, lambda: window.diagram is not None and window.diagram.has_summary())
    # The Insight dock loads the same weights into its own model once the classifier has them.
    phases["weights (random)"] = beat.measure(
        lambda: window.classify.load_weights("random"), lambda: state["weights"] and not window.runner.running()
    )
    phases["classification"] = beat.measure(lambda: window.add_paths(samples), lambda: window.classify.pending() == 0)
    in_app = window.classify.predictions()
    phases["gradient run"] = beat.measure(window.gradient.run, lambda: state["runs"] == 1)

    def both() -> None:
        window.add_paths(samples)
        window.gradient.run()

    phases["classification + gradient run"] = beat.measure(both, lambda: state["runs"] == 2 and window.classify.pending() == 0)

    def insight() -> None:
        # The dock loads its own copy of the weights once shown, then computes the Grad-CAM and the sweep.
        window.insight_dock.raise_()
        window.insight.tabs.setCurrentIndex(1)  # Grad-CAM of the selected sample
        window.classify.image_list.setCurrentRow(0)
        state["swept"] = False

    def insight_done() -> bool:
        if window.insight.is_ready() and not state["swept"]:
            state["swept"] = True
            window.insight.sweep()
        return window.insight.cam_result() is not None and window.insight.sweep_result() is not None
    phases["insight: Grad-CAM + lesion sweep"] = beat.measure(insight, insight_done)

    def race() -> None:  # the live plots redraw after every step while the two networks train
        window.race_dock.raise_()
        window.race.settings.set(steps=RACE_STEPS, size=RACE_SIZE, batch=8)
        window.race.race_finished.connect(lambda _: state.update(raced=True))
        window.race.run()

    phases[f"race ({RACE_STEPS} steps, {RACE_SIZE} px)"] = beat.measure(race, lambda: state["raced"])
    switch = _switch_network(window, beat, phases)
    window.close()
    app.processEvents()
    return phases, in_app, switch


def _switch_network(window, beat: _Heartbeat, phases: dict[str, dict[str, float]]) -> dict[str, float]:  # noqa: ANN001
    """Seconds from choosing ResNet-152 in the Network menu until the classifier has it (weights
    loaded) and until the diagram is redrawn with its summary; the heartbeat's gaps meanwhile."""
    marks: dict[str, float] = {}
    began = [0.0]

    def start() -> None:
        window.classify.weights_loaded.connect(lambda _: marks.setdefault("classifier", time.perf_counter() - began[0]))
        window.summary_ready.connect(lambda: marks.setdefault("diagram", time.perf_counter() - began[0]))
        began[0] = time.perf_counter()
        window.model_menus.network_actions[(SWITCH_ARCH, "random")].trigger()

    def done() -> bool:  # the images classified again and the replaced classifier freed too: still the switch's
        return window.network()[0] == SWITCH_ARCH and {"classifier", "diagram"} <= set(marks) and not window.runner.running()

    phases[SWITCH_PHASE] = beat.measure(start, done)
    return {key: round(value, 3) for key, value in marks.items()}


def _cli_forward_ms(samples: list[str], engine: str, precision: str, repeats: int = 7) -> list[float]:
    """The forward of the ``classify`` command's Classifier on the same images with the engine and
    precision the panel used, with torch's own thread count as the command runs it (the app's jobs
    use every core but one)."""
    import torch

    from explorer.core.inference.classifier import Classifier

    threads = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or 1)
    try:
        classifier = Classifier("cpu", precision, engine=engine)
        classifier.load("random")
        images = [classifier.decode(path) for path in samples]
        return [classifier.classify(images[i % len(images)]).latency_ms for i in range(repeats)]
    finally:
        torch.set_num_threads(threads)


def run(args: argparse.Namespace) -> dict:
    from explorer.core.inference import quick
    from explorer.core.samples import sample_images

    env = _environment()
    samples = [str(p) for p in sample_images()]
    with tempfile.TemporaryDirectory(prefix="ui-engine-cache-") as cache:  # empty for the first launch
        env[quick.ENV_VAR] = cache
        launches = [_startup_once(env, samples[0]) for _ in range(1 + args.ui_startup_runs)]

    def marks(key: str, digits: int = 3) -> list[float | None]:
        return [round(m[key], digits) if key in m else None for m in launches]

    phases, predictions, switch = _heartbeat(args)
    in_app, (engine, precision) = [p.latency_ms for p in predictions], (predictions[-1].engine, predictions[-1].precision)
    cli = _cli_forward_ms(samples, engine, precision)
    app_ms, cli_ms = statistics.median(in_app), statistics.median(cli)
    return {
        "startup_shown_s": marks("shown"),
        "startup_parts_s": marks("parts"),
        "startup_diagram_s": marks("diagram"),
        "startup_summary_s": marks("summary"),
        "startup_prediction_s": marks("prediction"),
        "startup_panel_s": marks("panel"),
        "startup_caches": ["empty cache", *["cached"] * args.ui_startup_runs],
        "startup_gap_ms": marks("gap_ms", 1),
        "startup_frozen_objects": marks("frozen_objects", 0),
        "targets_s": {"shown": STARTUP_TARGET_S, "diagram": DIAGRAM_TARGET_S, "prediction": PREDICTION_TARGET_S},
        "startup_forward_ms": marks("prediction_ms", 1),
        "heartbeat_ms": args.ui_heartbeat_ms,
        "grad_size": args.ui_grad_size,
        "stall_target_ms": STALL_TARGET_MS,
        "phases": phases,
        "forward_ms": {"app_panel": [round(v, 1) for v in in_app], "cli": [round(v, 1) for v in cli]},
        "forward_ratio": round(app_ms / cli_ms, 3),
        "forward_engine": f"{engine} {precision}",
        "forward_ratio_target": FORWARD_RATIO_TARGET,
        "switch_arch": SWITCH_ARCH,
        "switch_s": switch,
        "switch_target_s": SWITCH_TARGET_S,
        "cpu_count": os.cpu_count(),
        "platform": env.get("QT_QPA_PLATFORM", "default"),
    }


def _seconds(values: list[float | None]) -> str:
    return ", ".join("never" if v is None else f"{v:.2f}" for v in values)


def describe(result: dict) -> str:
    t = result["targets_s"]
    f = result["forward_ms"]
    lines = [
        f"ui: launch ({', '.join(result['startup_caches'])}) -> window painted {_seconds(result['startup_shown_s'])} s "
        f"(target {t['shown']}), diagram drawn {_seconds(result['startup_diagram_s'])} s (target {t['diagram']}), first "
        f"prediction {_seconds(result['startup_prediction_s'])} s (target {t['prediction']['empty cache']} with the empty "
        f"cache, {t['prediction']['cached']} cached), the panel's own {_seconds(result['startup_panel_s'])} s; parts built "
        f"{_seconds(result['startup_parts_s'])} s, summary in {_seconds(result['startup_summary_s'])} s; longest paint gap "
        f"before the parts {', '.join('-' if g is None else f'{g:.0f}' for g in result['startup_gap_ms'])} ms; objects then "
        f"frozen out of the collector's scans {', '.join('-' if n is None else f'{n:,.0f}' for n in result['startup_frozen_objects'])}",
        f"ui: classification forward ({result.get('forward_engine', 'torch fp32')}) in the app (as the panel shows it) median {statistics.median(f['app_panel']):.1f} ms "
        f"against the classify command's {statistics.median(f['cli']):.1f} ms: {result['forward_ratio']:.2f}x "
        f"(target at most {result['forward_ratio_target']}x)",
        f"ui: switch to {result['switch_arch']} (Network menu, random weights): classifier rebuilt "
        f"{_seconds([result['switch_s'].get('classifier')])} s, diagram redrawn with its summary "
        f"{_seconds([result['switch_s'].get('diagram')])} s after the request (target {result['switch_target_s']} s)",
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
