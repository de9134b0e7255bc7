"""Starts the desktop app: the QApplication, the main window on screen first, then the parts, the
weights and the command-line images.

UI layer. The window appears before torch is imported; right after its first paint the view modules
(and torch) are imported on a worker thread and then the parts are built. ``probe=True`` is the
startup benchmark's mode: it starts like the app with random weights (nothing to download) and the
given images, prints ``shown``, ``parts``, the longest paint gap in between (``gap MS``),
``diagram`` (the diagram painted), ``summary``, ``prediction MS`` (the first image classified, from
the engine cache before torch is loaded or by the panel, with the forward time shown) and ``panel
MS`` (the panel's own first result) as each is reached, and quits.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from explorer.ui.main_window import MainWindow

APP_ID = "io.github.resnet_explorer.ResNetExplorer"  # the .desktop file's and AppStream's id


class _FirstPaint(QObject):
    """Calls ``callback`` once, from the event loop, after ``owner`` (or one of ``widgets``) first paints."""

    def __init__(self, owner, callback, widgets=None) -> None:  # noqa: ANN001
        super().__init__(owner)
        self._callback = callback
        self._done = False
        for widget in widgets if widgets is not None else (owner, owner.centralWidget()):
            widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Paint and not self._done:
            self._done = True
            QTimer.singleShot(0, self._callback)  # let this paint reach the screen first
        return False


def create_application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setOrganizationName("resnet-explorer")
    app.setApplicationName("ResNet Explorer")
    app.setDesktopFileName(APP_ID)
    return app


def run_app(paths: list[str], weights: str | None = None, device: str | None = None, probe: bool = False) -> int:
    """Open the window and run the event loop; returns the exit status."""
    app = create_application()
    if probe:
        settings = QSettings(str(Path(tempfile.mkdtemp()) / "probe.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings)
    else:
        window = MainWindow()
    window.show()
    if probe:
        _FirstPaint(window, lambda: _probe_steps(window, paths))
    else:
        _FirstPaint(window, lambda: window.start(paths, weights, device))
    return app.exec()


def _probe_steps(window: MainWindow, paths: list[str]) -> None:
    print("shown", flush=True)
    # The longest gap of a 5 ms timer from the first paint until the parts are built: how long the
    # fresh window stops painting while torch and the views load.
    beat = {"last": time.perf_counter(), "max": 0.0}

    def on_beat() -> None:
        now = time.perf_counter()
        beat["max"], beat["last"] = max(beat["max"], now - beat["last"]), now

    timer = QTimer(window)
    timer.timeout.connect(on_beat)
    timer.start(5)

    seen: set[str] = set()

    def mark(what: str, value: str = "") -> None:
        if what not in seen:
            seen.add(what)
            print(f"{what} {value}".strip(), flush=True)
        if {"summary", "prediction", "panel"} <= seen:
            window.close()

    def on_parts() -> None:
        timer.stop()
        mark("parts")
        mark("gap", f"{beat['max'] * 1000:.1f}")
        window.classify.image_list.model().dataChanged.connect(on_entry_changed)

    def on_entry_changed(*_: object) -> None:
        latency = window.classify.last_prediction_ms()
        if latency is not None:
            mark("prediction", f"{latency:.1f}")
            mark("panel", f"{latency:.1f}")

    window.summary_ready.connect(lambda: mark("summary"))
    window.parts_ready.connect(on_parts)
    window.start(paths, weights="random", device="cpu")
    if window.first_look is not None:
        window.first_look.predicted.connect(lambda latency: mark("prediction", f"{latency:.1f}"))
    _FirstPaint(window.diagram, lambda: mark("diagram"), widgets=(window.diagram.viewport(),))
