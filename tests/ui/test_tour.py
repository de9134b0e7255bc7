"""The newcomer's tour (issue 20), one rule per finding, on the real widgets: every waiting state
ends and says why; no dock clips its content at 1280x720; a network switch clears what belonged to
the old network; settings that cannot go together are not offered together and the lab speaks of
its own controls; the wheel changes only a focused box; depth curves tell the networks apart; an
entry is enabled exactly when it can act (the action tables); sentences end with a full stop; one
percent format; stage labels never overlap; run controls stay in view; a click shows the block's
facts; exports get the umask's mode; Find and Help's shortcuts; the app ends its process with its
event loop. Nothing downloads: ``download.fetch`` is refused as offline."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QImage, QPainter, QWheelEvent
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QScrollArea, QWidget

from explorer.core.gradients import GradConfig
from explorer.core.gradients import depth as depth_module
from explorer.core.gradients.depth import run_depth_comparison
from explorer.core.loading import download
from explorer.core.loading.sources import member_weights
from explorer.core.samples import sample_images
from explorer.ui.classify.entries import Entry, row_text
from explorer.ui.common import dialogs
from explorer.ui.common.text import percent, sentence, sentences
from explorer.ui.gradient_lab.panel import depth_curves
from explorer.ui.gradient_lab.plot import GradientPlot
from explorer.ui.gradient_lab.text import describe_conditions, in_window_terms, lab_title
from explorer.ui.main_window import MainWindow
from support import checkpoint, open_window, pattern_image, prediction

TIMEOUT_MS = 120_000
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")
LONGEST = "Greater Swiss Mountain dog, the longest name of the five, and then some more words"


@pytest.fixture
def offline(monkeypatch):
    def refuse(url, *args, **kwargs):
        raise download.DownloadError(f"cannot download {url} (offline in this test)")

    monkeypatch.setattr(download, "fetch", refuse)


@pytest.fixture
def window(qtbot, tmp_path, offline):
    w = open_window(qtbot, tmp_path / "settings.ini", TIMEOUT_MS)
    return w


def settle(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.runner.running(), timeout=TIMEOUT_MS)


def load(qtbot, window: MainWindow, source: str, arch: str | None = None) -> None:
    with qtbot.waitSignal(window.classify.weights_loaded, timeout=TIMEOUT_MS):
        window.classify.load_weights(source, arch)
    settle(qtbot, window)


def shown_whole(widget: QWidget) -> bool:
    """True when ``widget`` lies wholly inside the viewport of every scroll area around it (what
    the person sees of it is all of it)."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QScrollArea):
            view = parent.viewport()
            top_left = widget.mapTo(view, QPoint(0, 0))
            if not view.rect().contains(top_left) or not view.rect().contains(top_left + QPoint(widget.width() - 1, widget.height() - 1)):
                return False
        parent = parent.parentWidget()
    return True


# -- 1, 9: every waiting state ends; sentences ------------------------------------------------------


def test_after_the_weights_fail_a_dropped_image_says_why_and_what_to_do(qtbot, window, tmp_path):
    with qtbot.waitSignal(window.classify.weights_failed, timeout=TIMEOUT_MS):
        window.classify.load_weights("imagenet-v2")
    settle(qtbot, window)
    message = window.classify.message_label.text()
    assert message.endswith("(untrained). No weights are loaded.")  # 9: a full stop between the sentences
    window.add_paths([str(pattern_image(tmp_path / "dropped.png", (64, 48)))])
    settle(qtbot, window)  # the chosen source is tried again for the first image, and fails again
    assert not window.classify.loading()
    row = window.classify.entry_texts()[0].split("\n")[1]
    assert row.startswith("No weights: cannot download") and "Weights menu" in row and "Random (untrained)" in row
    assert window.classify.results.details_label.text().startswith("No weights: cannot download")
    # Insight, which would explain the image with the same weights, stops waiting too.
    window.insight_dock.raise_()
    assert window.insight.banner.text().startswith("No weights: cannot download") and "Weights menu" in window.insight.banner.text()
    load(qtbot, window, "random")
    assert "%" in window.classify.entry_texts()[0].split("\n")[1]  # and the row ends in a result once weights come


def test_sentences_join_with_one_full_stop():
    assert sentence("use 'random' (untrained)") == "use 'random' (untrained)."
    assert sentences("Could not load weights: offline", "", "No weights are loaded.") == "Could not load weights: offline. No weights are loaded."
    assert sentence("Done.") == "Done." and sentence("") == ""


# -- 2, 10, 15: no clipping at 1280x720, one percent format, list rows -------------------------------


def test_at_1280x720_long_class_names_elide_and_the_bars_keep_their_room(qtbot, window, tmp_path):
    window.resize(1280, 720)
    window.reset_layout()
    load(qtbot, window, "random")
    window.add_paths([str(pattern_image(tmp_path / ("a-rather-long-file-name-" * 3 + ".png"), (64, 48)))])
    settle(qtbot, window)
    window.classify_dock.raise_()
    results = window.classify.results
    results.show_prediction("made.png", prediction([LONGEST, "b", "c", "d", "e"], [0.611, 0.2, 0.1, 0.05, 0.005], trained=False), None, (64, 48))
    qtbot.wait(50)
    label, bar = results.class_labels[0], results.class_bars[0]
    assert label.shown_text().endswith("…") and label.toolTip() == LONGEST
    assert bar.width() >= bar.minimumWidth() > 0 and bar.format() == "61.1%" and results.class_bars[4].format() == "0.5%"
    for widget in (*results.class_labels, *results.class_bars, results.banner, results.title_label):
        assert shown_whole(widget), widget
    assert results.banner.isVisible() and results.banner.heightForWidth(results.banner.width()) <= results.banner.height()
    # The list row: two lines, elided, one height (it wrapped to ~110 px).
    images = window.classify.image_list
    row = images.visualItemRect(images.item(0))
    assert row.height() <= 2 * images.fontMetrics().lineSpacing() + 56
    assert row.width() <= images.viewport().width() and images.horizontalScrollBar().maximum() == 0  # elided, not cut
    assert window.classify.image_list.item(0).toolTip().startswith(str(tmp_path))


def test_one_percent_format_shows_half_a_percent():
    entry = Entry(1, "x.png", "/x.png", Path("/x.png"))
    entry.result = type("Classified", (), {"prediction": prediction(["tabby"], [0.005])})()
    assert percent(0.005) == "0.5%" and row_text(entry, "")[0] == "x.png\n0.5% tabby"


# -- 3: a network switch clears what belonged to the old network --------------------------------------


def test_a_network_switch_clears_the_overlay_the_lab_run_and_its_exports(qtbot, window):
    load(qtbot, window, "random")
    window.gradient.settings.set(size=32, batch=2)
    with qtbot.waitSignal(window.gradient.run_finished, timeout=TIMEOUT_MS):
        window.gradient.run_button.click()
    window.insight.overlay_box.setCurrentIndex(window.insight.overlay_box.findData("gradient"))
    assert window.diagram.overlay() is not None and window.actions["file.export_gradients"].isEnabled()
    load(qtbot, window, "random", "resnet18")
    assert window.network() == ("resnet18", 1000)
    assert window.diagram.overlay() is None and window.gradient.results() == []
    assert not window.gradient.actions["lab.export_png"].isEnabled() and not window.actions["file.export_gradients"].isEnabled()
    assert window.gradient.plot.curve_points() == []


# -- 5: settings that cannot go together; the window's own words ---------------------------------------


def test_a_depth_comparison_runs_each_network_with_its_own_named_weights(qtbot, window, monkeypatch, tmp_path):
    lab = window.gradient
    lab.set_network("resnet18")  # the window on ResNet-18: its weights are ResNet-18's
    lab.form.preset_box.setCurrentIndex(lab.form.preset_box.findData("trained"))
    assert lab.settings.values.weights == "resnet18-imagenet-v1"
    lab.settings.set(depths="resnet50,resnet101,resnet152")
    assert lab.settings.problem(lab.config()) is None
    assert not lab.form.weights_browse.isEnabled()  # a file fits one network: not offered with a comparison
    ran: list[GradConfig] = []
    monkeypatch.setattr(depth_module, "run_comparison", lambda config, *a, **k: ran.append(config) or [])
    monkeypatch.setattr(depth_module, "depth_verdict", lambda curves: "")
    run_depth_comparison(lab.config(), lab.settings.depth_archs())
    assert [(c.arch, c.weights) for c in ran] == [(a, member_weights("resnet18-imagenet-v1", a)) for a in ("resnet50", "resnet101", "resnet152")]
    assert {c.weights for c in ran} == {"imagenet-v2", "resnet101-imagenet-v2", "resnet152-imagenet-v2"}
    lab.settings.set(depths="")
    lab.settings.set(weights=str(checkpoint(tmp_path / "one.pth", seed=1)))
    lab.settings.set(depths="resnet18,resnet34")  # a file in the box: the comparison takes named weights
    assert lab.settings.values.weights == "resnet18-imagenet-v1"
    assert in_window_terms("--weights x are ResNet-18's, not ResNet-50's (--arch resnet50); use imagenet-v2") == (
        "Weights x are ResNet-18's, not ResNet-50's (Network resnet50); use imagenet-v2")


# -- 6: the wheel changes a box only when it has the focus ---------------------------------------------


def wheel(widget: QWidget, notches: int) -> None:
    pos = QPointF(widget.rect().center())
    event = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, 120 * notches),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_the_wheel_scrolls_past_an_unfocused_box_and_changes_a_focused_one(qtbot, window):
    window.gradient_dock.raise_()
    boxes = (window.gradient.form.preset_box, window.gradient.form.batch_spin, window.race.form.steps_spin)
    window.diagram.setFocus()
    for box in boxes:
        before = box.currentIndex() if hasattr(box, "currentIndex") else box.value()
        wheel(box, -1)
        assert (box.currentIndex() if hasattr(box, "currentIndex") else box.value()) == before, box
    preset = window.gradient.form.preset_box
    preset.setFocus()
    qtbot.waitUntil(preset.hasFocus)
    before = preset.currentIndex()
    wheel(preset, -1)
    assert preset.currentIndex() != before


def test_every_box_of_every_part_ignores_the_wheel_until_focused(qtbot, window):
    """The guard sits on each box the window places (not on the application, where it was handed
    every event): a box it missed would change under a scrolling pointer."""
    window.diagram.setFocus()
    boxes = window.findChildren(QComboBox) + window.findChildren(QAbstractSpinBox)
    assert len(boxes) > 20
    for box in boxes:
        if not box.isEnabled():
            continue
        before = box.currentIndex() if isinstance(box, QComboBox) else box.text()
        for notches in (-1, 1):  # one way or the other moves an unguarded box, wherever it stands
            wheel(box, notches)
            assert (box.currentIndex() if isinstance(box, QComboBox) else box.text()) == before, box


# -- 7, 11: depth curves apart; the plot's labels ---------------------------------------------------------


def test_depth_curves_differ_and_the_hover_names_each_curves_own_layer(qtbot):
    comparison = run_depth_comparison(GradConfig(size=32, batch=2), ("resnet18", "resnet34"))
    layers, curves = depth_curves(comparison, "grad_norm")
    plot = GradientPlot()
    qtbot.addWidget(plot)
    plot.set_layout([(layer.name, layer.stage) for layer in layers])
    plot.show_curves(curves, "grad_norm")
    drawn = {(str(item.opts["pen"].color().name()), item.opts["symbol"]) for item in plot._curves}
    assert len(drawn) == 4  # residual-18, plain-18, residual-34, plain-34: each its own colour and marker
    index = len(layers) // 2
    text = plot.hover_text(index)
    for curve in curves:
        nearest = curve.nearest(index, len(layers))
        own = curve.layers[nearest].split(" (")[0]
        assert f"{curve.title} at {own}:" in text  # the same layer the curve's tooltip names
    assert lab_title(comparison.results) == "ResNet-18 vs ResNet-34 gradient lab"
    assert "every block of each network" in describe_conditions(comparison.results) and "every blocks" not in describe_conditions(comparison.results)


def test_stage_labels_never_overlap_on_a_narrow_plot(qtbot):
    plot = GradientPlot()
    qtbot.addWidget(plot)
    plot.resize(380, 200)
    plot.set_layout([("conv1", "stage1"), *((f"layer1.{i}", "stage2") for i in range(4)), *((f"layer2.{i}", "stage3") for i in range(4)),
                     *((f"layer3.{i}", "stage4") for i in range(4)), *((f"layer4.{i}", "stage5") for i in range(4)), ("fc", "head")])
    plot.show()
    qtbot.waitExposed(plot)
    image = QImage(400, 100, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        _, _, texts = plot.getPlotItem().getAxis("bottom").generateDrawSpecs(painter)
    finally:
        painter.end()
    rects = sorted((rect for rect, _, _ in texts), key=lambda r: r.left())
    assert rects and all(a.right() <= b.left() for a, b in zip(rects, rects[1:]))


# -- 8: an entry is enabled exactly when it can act ----------------------------------------------------------


def test_every_action_of_every_table_is_enabled_exactly_when_it_can_act(qtbot, window, monkeypatch):
    asked: list[str] = []
    monkeypatch.setattr(dialogs, "save_export", lambda *a: asked.append(a[1]) or "")
    tables = window.menus.tables
    assert {spec.id.split(".")[0] for t in tables for spec in t.specs.values()} >= {"file", "view", "help", "diagram", "lab", "race"}
    for table in tables:
        for action_id in table.specs:
            assert table[action_id].isEnabled() == table.can(action_id), action_id
    lab, race = window.gradient.actions, window.race.actions
    idle = [window.actions["file.export_gradients"], lab["lab.cancel"], lab["lab.export_png"], race["race.cancel"], race["race.export_csv"]]
    assert not any(action.isEnabled() for action in idle)
    for action in idle:
        action.trigger()  # a stale trigger does nothing: no dialog, no message
    assert asked == [] and window.gradient.message_label.text() == ""
    window.gradient.settings.set(size=32, batch=2)
    window.gradient.run()
    assert lab["lab.cancel"].isEnabled() and window.gradient.cancel_button.isEnabled()
    with qtbot.waitSignal(window.gradient.run_finished, timeout=TIMEOUT_MS):
        pass
    assert not lab["lab.cancel"].isEnabled() and lab["lab.export_png"].isEnabled() and window.actions["file.export_gradients"].isEnabled()


# -- 12: run controls in view; 13: reset re-fits; 14: a click shows the facts -------------------------------


# A two-network race's verdict as the race command prints it (the gradient lab's are shorter; a race
# of four depths says 600 characters, and its dock scrolls at 1280x720).
VERDICT = (
    "After 40 steps the plain network's training loss is 2.21, the residual one's 1.43 (medians of the last 8 "
    "steps), batch accuracy 19% and 52% (means): the residual network is ahead. Validation accuracy: residual 48%, plain 17%."
)


@pytest.mark.parametrize("size", [(1280, 720), (1600, 1000)])
def test_run_controls_and_progress_stay_in_view_without_scrolling(qtbot, window, size):
    window.resize(*size)
    window.reset_layout()
    qtbot.wait(100)
    for dock, panel in ((window.gradient_dock, window.gradient), (window.race_dock, window.race)):
        dock.raise_()
        panel.verdict_label.setText(VERDICT)  # empty, the verdict line takes no room: a finished run's is shown
        qtbot.wait(50)
        for widget in (panel.run_button, panel.cancel_button, panel.progress_bar, panel.verdict_label):
            assert widget.isVisible() and shown_whole(widget), (dock.objectName(), widget)
        outer = dock.widget()
        assert outer.verticalScrollBar().maximum() == 0, f"{dock.objectName()} scrolls at {size}"
    window.insight_dock.raise_()
    window.insight.tabs.setCurrentIndex(2)
    qtbot.wait(50)
    assert shown_whole(window.insight.lesions.sweep_button) and shown_whole(window.insight.lesions.sweep_progress)


def test_reset_layout_fits_the_diagram_and_a_click_raises_the_inspector(qtbot, window):
    diagram = window.diagram
    for _ in range(4):
        diagram.zoom_in()
    window.actions["view.reset_layout"].trigger()
    shown = diagram.mapToScene(diagram.viewport().rect()).boundingRect()
    assert shown.adjusted(-1, -1, 1, 1).contains(diagram.scene().itemsBoundingRect())
    window.classify_dock.raise_()
    item = diagram.item("layer2.1")
    point = diagram.mapFromScene(item.mapToScene(QPointF(20, 16)))
    qtbot.mouseClick(diagram.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert diagram.selected() == "layer2.1"
    assert not window.inspector_dock.visibleRegion().isEmpty() and window.inspector.shown().get("Name") == "layer2.1"


# -- 15: the input's label clears the stem -------------------------------------------------------------------


def test_the_input_shape_label_clears_the_stem_box(window):
    from explorer.ui.diagram.painting import BODY_H, BODY_W
    from explorer.ui.diagram.scene_items import EdgeItem

    stem = window.diagram.item("stem").mapRectToScene(QRectF(0, 0, BODY_W, BODY_H))
    first = next(e for e in window.diagram.scene().items() if isinstance(e, EdgeItem) and "224" in e.label)
    assert "224×224" in first.label and not first.mapRectToScene(first._label_rect()).intersects(stem)


# -- 16: exports get the umask's mode ---------------------------------------------------------------------------


def test_exports_get_the_mode_the_umask_gives_new_files(qtbot, window, tmp_path):
    window.gradient.settings.set(size=32, batch=2)
    with qtbot.waitSignal(window.gradient.run_finished, timeout=TIMEOUT_MS):
        window.gradient.run()
    old = os.umask(0o022)
    try:
        for suffix in (".png", ".svg", ".csv"):
            assert window.gradient.export(str(tmp_path / f"lab{suffix}"))
            assert stat.S_IMODE((tmp_path / f"lab{suffix}").stat().st_mode) == 0o644, suffix
    finally:
        os.umask(old)


# -- 19: Find and the shortcuts ----------------------------------------------------------------------------------


def test_ctrl_f_finds_a_block_by_name_and_help_lists_every_shortcut(qtbot, window):
    diagram = window.diagram
    notices: list[str] = []
    diagram.notice.connect(notices.append)
    window.activateWindow()
    diagram.setFocus()
    qtbot.keyClick(diagram, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert diagram.find_bar.isVisible()
    qtbot.keyClicks(diagram.find_bar, "layer9.9")
    qtbot.keyClick(diagram.find_bar, Qt.Key.Key_Return)
    assert notices == ["No block or layer named 'layer9.9' in this network"] and diagram.find_bar.isVisible()
    diagram.find_bar.clear()
    qtbot.keyClicks(diagram.find_bar, "LAYER3.2.conv2")
    qtbot.keyClick(diagram.find_bar, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: diagram.selected() == "layer3.2.conv2")
    assert not diagram.find_bar.isVisible() and diagram.is_expanded("layer3.2")  # Enter did not reach the diagram
    text = window.menus.shortcuts_text()
    for keys in ("Ctrl+R", "Ctrl+F", "Ctrl+I", "Ctrl+0", "Ctrl+Shift+F", "Ctrl+O", "Ctrl+Q"):
        assert keys in text, keys
    assert window.actions["help.docs"].isEnabled() == (window.menus.docs_url() is not None)


# -- 17: the process ends with the event loop ---------------------------------------------------------------------


def test_the_app_ends_its_process_when_its_loop_ends_without_the_interpreters_teardown(tmp_path):
    code = textwrap.dedent(f"""
        import atexit
        atexit.register(lambda: print("teardown", flush=True))
        from explorer.ui.app import run_app
        run_app([{str(sample_images()[0])!r}], probe=True)
        print("after run_app", flush=True)
    """)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.split()
    assert {"shown", "diagram", "summary", "prediction"} <= set(lines)  # every mark the ui bench reads
    assert "after run_app" not in proc.stdout and "teardown" not in proc.stdout  # ended right after the loop
