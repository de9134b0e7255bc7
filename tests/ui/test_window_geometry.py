"""The layout keeps the diagram readable, measured rather than looked at: on a 1600x1000 screen the
diagram holds at least half the window at first start, after the weights load, after a gradient run
and with Insight open; block names are 9 px or more on screen; no size hint grows the window past
the screen; nothing is squeezed below its minimum (which is when widgets overlap) at 1280x720; View >
Reset layout and a restored layout that starves the diagram both bring the default back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QDockWidget, QSizePolicy, QWidget

from explorer.ui import window_layout
from explorer.ui.diagram.painting import BODY_W, name_font
from explorer.ui.main_window import MainWindow
from support import pattern_image

TIMEOUT_MS = 120_000
MIN_NAME_PX = 9.0
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


def squeezed(window: QWidget) -> list[str]:
    """Visible widgets smaller than their minimum size hint: what overlaps its neighbours (a widget
    inside a scroll area gets its minimum and scrolls instead). Only what is on screen counts."""
    out = []
    # A dock tabbed behind another is parked outside the window by Qt, at whatever size: not on screen.
    parked = [d for d in window.findChildren(QDockWidget) if not d.isFloating() and not window.rect().intersects(d.geometry())]
    for widget in window.findChildren(QWidget):
        if not widget.isVisible() or widget.isWindow() or widget.window() is not window:
            continue
        if any(dock.isAncestorOf(widget) for dock in parked):
            continue
        parent = widget.parentWidget()
        if parent is None or parent.layout() is None or parent.layout().indexOf(widget) < 0:
            continue  # sized by its owner (a spin box's line edit, a scroll area's viewport), not by a layout
        policy, hint, size, set_minimum = widget.sizePolicy(), widget.minimumSizeHint(), widget.size(), widget.minimumSize()
        # As Qt's layouts do: a minimum the widget was given wins over its hint.
        for ignored, want, have, axis in (
            (policy.horizontalPolicy() == QSizePolicy.Policy.Ignored, set_minimum.width() or hint.width(), size.width(), "width"),
            (policy.verticalPolicy() == QSizePolicy.Policy.Ignored, set_minimum.height() or hint.height(), size.height(), "height"),
        ):
            if not ignored and want > 0 and have < want - 1:
                out.append(f"{type(widget).__name__} {widget.objectName() or ''} {axis} {have} < {want}")
    return out


def overlapping(window: MainWindow) -> list[str]:
    """The window's parts (menu bar, diagram, docks, status bar) that overlap one another or stick
    out of the window: what a layout squeezed below its minimum does (a dock's content under the
    status bar, two docks over each other)."""
    parts = [("menu bar", window.menuBar()), ("diagram", window.centralWidget()), ("status bar", window.statusBar())]
    # A dock tabbed behind another is parked outside the window by Qt: not on screen, not counted.
    parts += [
        (d.objectName(), d)
        for d in window.findChildren(QDockWidget)
        if d.isVisible() and not d.isFloating() and window.rect().intersects(d.geometry())
    ]
    out = [f"{name} sticks out of the window" for name, w in parts if not window.rect().contains(w.geometry())]
    for i, (a, wa) in enumerate(parts):
        for b, wb in parts[i + 1 :]:
            if wa.geometry().intersects(wb.geometry()):
                out.append(f"{a} {wa.geometry().getRect()} overlaps {b} {wb.geometry().getRect()}")
    return out


def name_pixels(window: MainWindow) -> dict[str, float]:
    """Each block name's height on screen: the font's pixel size times the view's scale."""
    return {name: name_font().pixelSize() * window.diagram.scale_factor() for name in window.diagram.block_names()}


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def first_start(qtbot, settings: QSettings) -> MainWindow:
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    w.build_parts()
    qtbot.waitExposed(w)
    qtbot.waitUntil(w.diagram.has_summary, timeout=TIMEOUT_MS)
    qtbot.wait(50)  # the default dock sizes are applied once the parts are laid out
    return w


def assert_diagram_holds_half(window: MainWindow, when: str) -> None:
    share = window_layout.central_share(window)
    assert share >= 0.5, f"{when}: the diagram has {share:.0%} of the window"
    screen = window_layout.available(window)
    assert screen.contains(window.frameGeometry()), f"{when}: the window {window.frameGeometry()} left the screen {screen}"


def test_the_diagram_holds_the_centre_through_a_session(qtbot, settings, tmp_path):
    w = first_start(qtbot, settings)
    size = w.size()
    assert_diagram_holds_half(w, "first start")
    small = {name: px for name, px in name_pixels(w).items() if px < MIN_NAME_PX}
    assert not small, f"block names below {MIN_NAME_PX} px: {small}"
    fm = QFontMetricsF(name_font())
    assert all(fm.horizontalAdvance(name) <= BODY_W - 4 for name in w.diagram.block_names())  # names fit their boxes

    with qtbot.waitSignal(w.classify.weights_loaded, timeout=TIMEOUT_MS):
        w.classify.load_weights("random")
    # A file name long enough to push any label that does not wrap.
    w.add_paths([str(pattern_image(tmp_path / ("a-very-long-photo-name-" * 6 + ".png"), (64, 48)))])
    qtbot.waitUntil(lambda: w.classify.pending() == 0 and not w.runner.running(), timeout=TIMEOUT_MS)
    assert_diagram_holds_half(w, "after the weights loaded and an image was classified")

    w.gradient.settings.set(size=32)
    with qtbot.waitSignal(w.gradient.run_finished, timeout=TIMEOUT_MS):
        w.gradient.run()
    assert_diagram_holds_half(w, "after a gradient run")

    w.actions["view.insight"].trigger()
    w.diagram.select("layer3.2.conv2")  # a layer: its block expands
    qtbot.waitUntil(lambda: not w.runner.running() and w.insight.activations_result() is not None, timeout=TIMEOUT_MS)
    assert_diagram_holds_half(w, "with Insight open and a block expanded")
    menu = w.diagram.context_menu(w.diagram.item("layer3.2"))
    menu.popup(w.mapToGlobal(w.rect().center()))
    qtbot.wait(50)
    menu.close()
    assert w.size() == size, f"the window grew by itself from {size} to {w.size()}"
    assert w.minimumSizeHint().height() <= window_layout.available(w).height()
    assert squeezed(w) == [] and overlapping(w) == []


def test_reset_layout_brings_every_dock_back_at_its_default_size(qtbot, settings):
    w = first_start(qtbot, settings)
    w.inspector_dock.hide()
    w.gradient_dock.setFloating(True)
    w.resizeDocks([w.classify_dock], [w.width() - 200], Qt.Orientation.Horizontal)
    w.actions["view.reset_layout"].trigger()
    qtbot.wait(50)
    assert all(d.isVisible() and not d.isFloating() for d in (*w.side_docks, *w.bottom_docks))
    assert_diagram_holds_half(w, "after Reset layout")


def test_a_restored_layout_that_starves_the_diagram_is_replaced(qtbot, settings):
    w = first_start(qtbot, settings)
    w.resizeDocks([w.classify_dock], [w.width()], Qt.Orientation.Horizontal)
    w.resizeDocks([w.gradient_dock], [w.height()], Qt.Orientation.Vertical)
    qtbot.wait(50)
    assert window_layout.central_share(w) < window_layout.MIN_CENTRAL_SHARE  # what the saved layout does
    w.close()
    again = first_start(qtbot, settings)
    assert_diagram_holds_half(again, "after restoring a layout that starved the diagram")
    assert "default layout" in again.statusBar().currentMessage()


def test_a_window_saved_on_a_larger_screen_is_brought_onto_this_one(qtbot, settings):
    w = first_start(qtbot, settings)
    w.resize(QSize(2400, 1500))
    w.move(900, 700)
    w.close()
    again = first_start(qtbot, settings)
    assert window_layout.available(again).contains(again.frameGeometry())


SMALL_SCREEN = """
import json, sys
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
app = QApplication([])
sys.path[:0] = [{tests!r}, {support!r}]
from test_window_geometry import overlapping, squeezed
from explorer.ui import window_layout
from explorer.ui.main_window import MainWindow
w = MainWindow(QSettings({ini!r}, QSettings.Format.IniFormat))
w.show()
w.build_parts()
out = {{}}
def check(stage):
    app.processEvents()
    out[stage] = {{"squeezed": squeezed(w) + overlapping(w), "inside": window_layout.available(w).contains(w.frameGeometry()),
                   "share": window_layout.central_share(w)}}
w.summary_ready.connect(lambda: (check("first start"), w.classify.load_weights("random")))
w.classify.weights_loaded.connect(lambda _: (w.gradient.settings.set(size=32), w.gradient.run()))
w.gradient.run_finished.connect(lambda _: (check("after a run"), w.actions["view.insight"].trigger(), check("insight"), app.quit()))
app.exec()
print(json.dumps(out))
"""


@pytest.mark.parametrize("size", [(1280, 720), (1000, 700)])
def test_at_small_screens_everything_fits_without_overlap(tmp_path, size):
    config = tmp_path / "screen.json"
    screen = {"name": "small", "x": 0, "y": 0, "width": size[0], "height": size[1], "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}
    config.write_text(json.dumps({"screens": [screen]}))
    code = SMALL_SCREEN.format(tests=str(Path(__file__).parent), support=str(Path(__file__).parents[1]), ini=str(tmp_path / "s.ini"))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}"}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert list(result) == ["first start", "after a run", "insight"]
    for stage, found in result.items():
        assert found["inside"], f"{size} {stage}: the window left the screen"
        assert found["squeezed"] == [], f"{size} {stage}: squeezed below their minimum: {found['squeezed']}"
        assert found["share"] >= 0.4, f"{size} {stage}: the diagram has {found['share']:.0%}"


@pytest.mark.parametrize("arch", ["resnet18", "resnet152"])
def test_other_members_keep_the_names_legible_and_the_layout_whole(qtbot, settings, arch):
    """ResNet-152's 36-block stage folds into one item: names stay 9 px or more at 1600x1000."""
    w = first_start(qtbot, settings)
    size = w.size()
    w.show_network(arch, 1000)
    qtbot.waitUntil(lambda: w.diagram.has_summary() and w.network() == (arch, 1000), timeout=TIMEOUT_MS)
    qtbot.wait(50)
    assert_diagram_holds_half(w, f"{arch} shown")
    small = {name: px for name, px in name_pixels(w).items() if px < MIN_NAME_PX}
    assert not small, f"{arch}: block names below {MIN_NAME_PX} px: {small}"
    fm = QFontMetricsF(name_font())
    shown = [n for n in w.diagram.block_names() if w.diagram.item(n).isVisible()]
    assert all(fm.horizontalAdvance(name) <= BODY_W - 4 for name in shown)
    folds = [w.diagram.item(f"layer{i}.fold") for i in (2, 3)] if arch == "resnet152" else []
    assert all(fm.horizontalAdvance(f.lines[0]) <= BODY_W - 4 for f in folds)
    assert w.size() == size and squeezed(w) == [] and overlapping(w) == []
