"""Starts the desktop app: the QApplication, the main window on screen first, then the parts, the
weights and the command-line images.

UI layer. The window appears with the diagram before torch is imported; right after its first paint
the view modules (and torch) are imported on a worker thread and then the parts are built.
``probe=True`` is the startup benchmark's mode: it starts like the app with random weights (nothing
to download) and the given images, prints ``shown``, ``parts``, the longest paint gap in between
(``gap MS``), ``diagram`` (the diagram painted), ``summary``, ``prediction MS`` (the first image
classified, from the engine cache before torch is loaded or by the panel, with the forward time
shown) and ``panel MS`` (the panel's own first result) as each is reached, and quits. Ctrl+C in the
terminal and SIGTERM close the window as File > Quit does (jobs cancelled, settings saved); the
process then ends with status 128 + the signal's number (130 for Ctrl+C), and a second signal ends
it at once.
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import NoReturn

from PySide6.QtCore import QEvent, QObject, QSettings, QSocketNotifier, QTimer
from PySide6.QtWidgets import QApplication

from explorer.ui.jobs import AfterPaint
from explorer.ui.main_window import MainWindow
from explorer.ui.startup import freeze_long_lived_objects

APP_ID = "io.github.resnet_explorer.ResNetExplorer"  # the .desktop file's and AppStream's id


class CloseOnSignals(QObject):
    """Closes ``window`` on SIGINT (Ctrl+C) or SIGTERM, from the event loop, as File > Quit does.

    Python runs a signal's handler only between two of its own bytecodes, and Qt's event loop runs
    in C++: without help a Ctrl+C waits for the next Python slot and raises KeyboardInterrupt inside
    it (a traceback from whatever event filter was running). So the handler only records the signal
    and asks for the window to close, and ``signal.set_wakeup_fd`` writes each signal's number into
    a socket pair whose notifier wakes the loop at once. Closing saves the settings first, then
    cancels the jobs and waits for their workers; after a signal that wait lasts at most
    :data:`GRACE_S` (a weights load or the start-up import of torch cannot stop mid-way), then the
    process ends. A second signal gets the default action (the process ends at once), even while
    closing waits in C++. :meth:`restore` puts everything back.
    """

    HANDLED = (signal.SIGINT, signal.SIGTERM)
    GRACE_S = 0.5

    def __init__(self, window: QObject) -> None:
        super().__init__(window)
        self.received: int | None = None
        self._window = window
        self._reader, self._writer = socket.socketpair()
        for end in (self._reader, self._writer):
            end.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno())
        self._previous = {number: signal.signal(number, self._on_signal) for number in self.HANDLED}
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._on_wakeup)
        self._closing = threading.Event()  # the window got its close event: the settings are being saved
        self._restored = threading.Event()
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Close and self.received is not None:
            self._closing.set()
        return False

    def _on_wakeup(self) -> None:
        # Python runs the pending handler as soon as this slot starts; the bytes only woke the loop.
        try:
            self._reader.recv(512)
        except OSError:
            pass

    def _on_signal(self, number: int, frame: object) -> None:
        self.received = number
        for handled in self.HANDLED:  # asked again, the person wants it gone now: the kernel does that
            signal.signal(handled, signal.SIG_DFL)
        QTimer.singleShot(0, self._window.close)
        threading.Thread(target=self._end_after_grace, name="signal-grace", daemon=True).start()

    def _end_after_grace(self) -> None:
        """On its own thread: once closing has begun, end the process :data:`GRACE_S` later unless
        the event loop has ended by then (the settings take milliseconds; the rest is waiting)."""
        self._closing.wait()
        if not self._restored.wait(self.GRACE_S):
            _end_process(128 + self.received)

    def restore(self) -> None:
        """The handlers and wakeup descriptor that were there before."""
        self._restored.set()
        self._closing.set()
        self._notifier.setEnabled(False)
        self._window.removeEventFilter(self)
        for number, handler in self._previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)
        signal.set_wakeup_fd(self._previous_fd)
        self._reader.close()
        self._writer.close()


def create_application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setOrganizationName("resnet-explorer")
    app.setApplicationName("ResNet Explorer")
    app.setDesktopFileName(APP_ID)
    return app


def show_window(settings: QSettings | None = None) -> MainWindow:
    """The main window on screen, its first frame showing the network: built after that frame, the
    diagram's 30-45 ms (its layout, and PySide6 making each Qt enum class on first use) and its first
    paint froze the fresh window for 45-110 ms while the first look's worker loaded its runtime
    (bench --suite ui's launch gap). The rest starts from the event loop (``MainWindow.start``)."""
    window = MainWindow(settings)
    window.parts_ready.connect(freeze_long_lived_objects)
    window.build_diagram()
    freeze_long_lived_objects()  # the modules and the window: the first look's full collections scanned them, 20-31 ms each
    window.show()
    return window


def run_app(paths: list[str], weights: str | None = None, device: str | None = None, probe: bool = False) -> int:
    """Open the window and run the event loop; returns the exit status (128 + the signal's number
    when a signal closed it)."""
    app = create_application()
    probe_folder = tempfile.TemporaryDirectory(prefix="resnet-explorer-probe-") if probe else None
    settings = QSettings(str(Path(probe_folder.name) / "probe.ini"), QSettings.Format.IniFormat) if probe_folder else None
    window = show_window(settings)
    if probe:
        AfterPaint((window.diagram,), lambda: print("diagram", flush=True), window)
        AfterPaint((window, window.diagram), lambda: _probe_steps(window, paths), window)
    else:
        AfterPaint((window, window.diagram), lambda: window.start(paths, weights, device), window)
    signals = CloseOnSignals(window)
    try:
        status = app.exec()
    finally:
        signals.restore()
        if probe_folder:
            probe_folder.cleanup()
    return _end_process(status if signals.received is None else 128 + signals.received)


def _end_process(status: int) -> NoReturn:
    """End the process as soon as the event loop has: the window has saved its settings and stopped
    its workers by then (after Quit, or a signal that closed it). A worker may still be running what
    cannot be cancelled (the start-up import of torch), and the interpreter's own teardown of torch
    and the views took 2.5-4.5 s after the window had gone (``import torch`` alone: 2.6 s on a loaded
    2-core machine), or printed library finalizers' tracebacks: it is skipped."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)


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
        mark("frozen", str(gc.get_freeze_count()))  # run_app's freeze_long_lived_objects, connected first
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
