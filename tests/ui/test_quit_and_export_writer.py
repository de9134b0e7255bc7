"""Issue 19 in the window: Ctrl+C in the terminal and SIGTERM close it as File > Quit does (settings
saved, exit 128 + the signal, no traceback from an event filter), also while Qt's event loop idles
in C++; every export goes through the one writer (a device or FIFO is refused and kept, a link is
written through with its target's mode kept, a new file gets the umask's mode)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pyqtgraph as pg
import pytest

from explorer.core.gradients import GradConfig, run_comparison
from explorer.ui.common.export import ExportError
from explorer.ui.gradient_lab.export import export
from support import device_copy_of_dev_null

ROOT = Path(__file__).resolve().parents[2]

# Started like `resnet-explorer --weights random`; once the window has started its parts (the
# import of torch and the weights' load still running: closing waits for them at most
# CloseOnSignals.GRACE_S), the process sends itself the signal from another thread while the event
# loop runs.
_SIGNALLED_WINDOW = """
import os, sys, threading
from explorer.ui.main_window import MainWindow
number = int(sys.argv[1])
start = MainWindow.start
def started(self, *args, **kwargs):
    start(self, *args, **kwargs)
    threading.Timer(0.5, os.kill, (os.getpid(), number)).start()
MainWindow.start = started
sys.argv[1:] = ["--weights", "random", "--device", "cpu"]
from explorer.__main__ import main
sys.exit(main())
"""


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_closes_the_window_as_quit_does(tmp_path, number):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"),
               TORCH_HOME=str(tmp_path / "torch"), PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", _SIGNALLED_WINDOW, str(int(number))], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 128 + number, proc.stderr
    assert "Traceback" not in proc.stderr and "eventFilter" not in proc.stderr, proc.stderr
    (saved,) = (tmp_path / "config").rglob("*.conf")
    assert "geometry" in saved.read_text()  # closeEvent ran: the settings were saved


# In a process of its own, as the signalled windows above: sending SIGINT to the test process itself
# after 900 other tests ended it with a segfault now and then (3 of 6 full runs, never alone; not
# understood, see the closing note of 2026-12-06), taking the whole suite with it.
_HANDLERS_PUT_BACK = """
import os, signal, sys
from PySide6.QtCore import QSettings, QTimer
from explorer.ui.app import CloseOnSignals, create_application
from explorer.ui.main_window import MainWindow
app = create_application()
before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM), signal.set_wakeup_fd(-1))
signal.set_wakeup_fd(before[2])
settings = QSettings(sys.argv[1], QSettings.Format.IniFormat)
window = MainWindow(settings)
window.show()
signals = CloseOnSignals(window)
signals.GRACE_S = 600  # the test ends the wait (restore), not the process's end
QTimer.singleShot(100, lambda: os.kill(os.getpid(), signal.SIGINT))  # the handler only asks the window to close
QTimer.singleShot(30_000, app.quit)
window.destroyed.connect(app.quit)
timer = QTimer()
timer.timeout.connect(lambda: window.isVisible() or app.quit())
QTimer.singleShot(200, lambda: timer.start(20))
app.exec()
signals.restore()
after = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM), signal.set_wakeup_fd(-1))
print(signals.received == signal.SIGINT, settings.value("window/geometry") is not None, after == before, window.isVisible())
"""


def test_the_handlers_close_the_window_and_are_put_back(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", _HANDLERS_PUT_BACK, str(tmp_path / "s.ini")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    # SIGINT received, settings saved by closing, the handlers and wakeup descriptor as before, window gone.
    assert proc.stdout.split() == ["True", "True", "True", "False"], proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def shown_run():
    return run_comparison(replace(GradConfig(), arch="resnet18", size=32, batch=2), "on", "cpu")


@pytest.mark.parametrize("suffix", [".png", ".svg", ".csv"])
def test_exports_refuse_a_device_or_fifo_and_keep_it(qtbot, tmp_path, shown_run, suffix):
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    device, fifo = device_copy_of_dev_null(tmp_path / f"device{suffix}"), tmp_path / f"fifo{suffix}"
    os.mkfifo(fifo)
    for node in (device, fifo):
        with pytest.raises(ExportError, match="not a regular file"):
            export(node, plot, shown_run)
    assert stat.S_ISCHR(device.stat().st_mode) and stat.S_ISFIFO(fifo.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([device.name, fifo.name])


@pytest.mark.parametrize("suffix", [".png", ".svg", ".csv"])
def test_exports_write_through_a_link_and_keep_modes(qtbot, tmp_path, shown_run, suffix):
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.plot([1, 2, 3], [3, 1, 2])
    target = tmp_path / "kept" / f"plot{suffix}"
    target.parent.mkdir()
    target.write_bytes(b"old")
    target.chmod(0o640)
    link = tmp_path / f"link{suffix}"
    link.symlink_to(target)
    assert export(link, plot, shown_run) == link
    assert link.is_symlink() and target.read_bytes() != b"old" and target.stat().st_size > 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    previous = os.umask(0o022)
    try:
        export(tmp_path / f"new{suffix}", plot, shown_run)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / f"new{suffix}").stat().st_mode) == 0o644  # not mkstemp's 0600
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no temporary file left
