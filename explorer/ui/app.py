"""Starts the desktop app: the QApplication, the main window on screen first, then the parts, the
weights and the command-line images.

UI layer. The window appears before torch is imported; right after its first paint the view modules
(and torch) are imported on a worker thread and then the parts are built. ``probe=True`` is the
startup benchmark's mode: it prints ``shown``, ``parts``, the longest paint gap in between
(``gap MS``) and ``summary`` as each is reached, never loads weights, and quits.
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
    """Calls ``callback`` once, from the event loop, after the window first paints."""

    def __init__(self, window: MainWindow, callback) -> None:  # noqa: ANN001
        super().__init__(window)
        self._callback = callback
        self._done = False
        for widget in (window, window.centralWidget()):
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
        _FirstPaint(window, lambda: _probe_steps(window))
    else:
        _FirstPaint(window, lambda: window.start(paths, weights, device))
    return app.exec()


def _probe_steps(window: MainWindow) -> None:
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

    def on_parts() -> None:
        timer.stop()
        print("parts", flush=True)
        print(f"gap {beat['max'] * 1000:.1f}", flush=True)

    def on_summary() -> None:
        print("summary", flush=True)
        window.close()

    window.summary_ready.connect(on_summary)
    window.parts_ready.connect(on_parts)
    window.prepare_parts()
