"""The Qt binding itself: void Qt calls must leave None's reference count alone (PySide6 6.12.0 on
CPython 3.11 takes one off per call and the app dies after a few thousand paints), the dependency
specification must not admit that combination, and the gui command refuses to start on it."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

from explorer.cli import main as cli_main
from explorer.ui.common import binding

ROOT = Path(__file__).resolve().parents[2]

# A few thousand calls that return nothing, of the kinds the diagram's paint code makes, in a child
# process so that a leaking binding fails this test instead of aborting the whole run later.
COUNT_NONE = """
import sys
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QBrush, QColor, QGuiApplication, QImage, QPainter, QPen
app = QGuiApplication([])
image = QImage(32, 32, QImage.Format.Format_ARGB32)
painter = QPainter(image)
brush, pen = QBrush(QColor("red")), QPen(QColor("blue"))
def calls(n):
    for _ in range(n):
        painter.setBrush(brush); painter.setPen(pen); painter.save(); painter.restore()
        painter.drawLine(QPointF(0, 0), QPointF(9, 9)); painter.drawRect(QRectF(1, 1, 5, 5))
calls(5)
before = sys.getrefcount(None)
calls(500)  # 3,000 void calls
print(sys.getrefcount(None) - before)
painter.end()
"""


def test_void_qt_calls_leave_none_alone():
    proc = subprocess.run(
        [sys.executable, "-c", COUNT_NONE], capture_output=True, text=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    )
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.split()[-1]) == 0, "the installed PySide6 corrupts None's reference count"


def test_startup_probe_sees_no_drift_with_the_installed_binding():
    assert binding.none_refcount_drift() == 0
    assert binding.binding_problem() is None


def test_dependency_specification_excludes_the_leaking_combination():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    qt = [Requirement(r) for r in project["dependencies"] if Requirement(r).name.lower() == "pyside6-essentials"]
    assert qt, "PySide6-Essentials must be a dependency"
    for python, broken in (("3.10", True), ("3.11", True), ("3.12", False), ("3.13", False)):
        env = {"python_version": python, "python_full_version": f"{python}.0"}
        active = [r for r in qt if r.marker is None or r.marker.evaluate(env)]
        assert len(active) == 1, f"exactly one PySide6 requirement applies on Python {python}"
        allows = active[0].specifier.contains(Version("6.12.0"))
        assert allows is not broken, f"Python {python}: 6.12.0 {'admitted' if allows else 'refused'}"
        assert active[0].specifier.contains(Version("6.11.3"))


def test_gui_refuses_a_leaking_binding_with_one_line(monkeypatch, capsys):
    monkeypatch.setattr(binding, "none_refcount_drift", lambda calls=binding.PROBE_CALLS: -3 * calls)
    started = []
    monkeypatch.setattr("explorer.ui.app.run_app", lambda *a, **k: started.append(a) or 0)
    assert cli_main(["gui"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "PySide6" in err[0] and "pip install" in err[0] and "-600" in err[0]
    assert not started
