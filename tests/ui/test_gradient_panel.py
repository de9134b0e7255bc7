"""Gradient lab panel: a run draws two curves of the 50 main-path layers with the core's numbers,
diagram toggles change only the next run and only the named block, points a log axis cannot show
are counted and named, presets set the knobs, export writes what is shown, settings round-trip.

Runs use 64x64 noise and batch 2 to stay fast; the reference is explorer.core.gradients itself
(checked against torch.autograd.grad in tests/core)."""

from __future__ import annotations

import csv
import math
from dataclasses import replace

import pytest
from PySide6.QtCore import QPointF, QSettings, Qt
from PySide6.QtSvg import QSvgRenderer

from explorer.core.gradients import CSV_FIELDS, GradConfig, main_path_layers, run_gradients
from explorer.core.gradients.depth import depth_verdict
from explorer.core.network.blocks import residual_blocks
from explorer.core.network.model import ResNet50
from explorer.core.network.stages import RESNETS
from explorer.core.network.summary import summarize
from explorer.ui.common.switches import BlockSwitches
from explorer.ui.gradient_lab.panel import GradientPanel, main_path_layout
from explorer.ui.gradient_lab.plot import Curve, GradientPlot
from explorer.ui.jobs import JobRunner
from support import built_in_steps

RUN_TIMEOUT_MS = 120_000


@pytest.fixture
def panel(qtbot, runner):
    p = GradientPanel(runner, BlockSwitches(residual_blocks()))
    qtbot.addWidget(p)
    p.form.size_spin.setValue(64)
    p.form.batch_spin.setValue(2)
    p.form.seed_spin.setValue(0)
    p.form.device_box.setCurrentIndex(p.form.device_box.findData("cpu"))
    return p


def run_and_wait(qtbot, panel: GradientPanel) -> list:
    """Click Run and wait for the plot; fail at once with the panel's message if the run fails."""
    got: list = []
    panel.run_finished.connect(got.append)
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    failed = lambda: panel.message_label.text().startswith(("Run failed", "Cannot run"))
    qtbot.waitUntil(lambda: bool(got) or failed(), timeout=RUN_TIMEOUT_MS)
    panel.run_finished.disconnect(got.append)
    assert got, panel.message_label.text()
    return got[0]


def reference_run(qtbot, runner: JobRunner, config: GradConfig):
    """The core's numbers for ``config``, computed on a worker thread exactly like the panel's run:
    the same thread and torch settings give the same summation order, which matters because a
    plain network amplifies last-bit differences to about 1%."""
    job = runner.submit(lambda ctx: run_gradients(config), "reference")
    with qtbot.waitSignal(job.returned, timeout=RUN_TIMEOUT_MS) as b:
        pass
    return b.args[0]


def plotted(panel: GradientPanel) -> list[tuple[str, list[float], list[float]]]:
    out = []
    for item in panel.plot._curves:
        x, y = item.getOriginalDataset()
        out.append((item.name(), list(x), list(y)))
    return out


def test_layout_before_any_run_equals_the_cores_layer_list(qtbot, panel):
    layout = main_path_layout(summarize())
    assert [name for name, _ in layout] == main_path_layers(ResNet50())
    panel.set_summary(summarize())
    assert panel.plot.layout_names() == tuple(name for name, _ in layout)
    stages = [stage for _, stage in layout]
    assert stages[0] == "stage1" and stages[-1] == "head"
    assert stages.count("stage2") == 9 and stages.count("stage4") == 18


def test_run_draws_two_curves_of_50_points_with_the_cores_numbers(qtbot, panel, runner):
    results = run_and_wait(qtbot, panel)
    assert [r.shortcuts for r in results] == [True, False]
    assert panel.plot.curve_points() == [("with shortcuts (residual)", 50), ("without shortcuts (plain)", 50)]
    expected = reference_run(qtbot, runner, GradConfig(size=64, batch=2, seed=0, shortcuts=False))
    _, x, y = plotted(panel)[1]
    assert x == list(range(50))
    main = [layer for layer in expected.layers if not layer.shortcut]
    assert y == pytest.approx([layer.grad_norm for layer in main], rel=1e-5)
    assert panel.plot.layout_names() == tuple(layer.name for layer in main)
    # What the user reads: the verdicts and the exact conditions of this run.
    assert panel.verdict_label.text().splitlines() == [r.verdict for r in results]
    assert panel.verdict_label.text().startswith("residual: gradient")
    conditions = panel.conditions_label.text()
    assert "size 64x64" in conditions and "batch 2" in conditions and "seed 0" in conditions
    assert "all 16 blocks" in conditions
    assert panel.skipped_label.isHidden()
    assert panel.export_button.isEnabled()


def test_activation_std_switch_redraws_the_same_run(qtbot, panel):
    results = run_and_wait(qtbot, panel)
    panel.quantity_box.setCurrentIndex(panel.quantity_box.findData("activation_std"))
    _, _, y = plotted(panel)[0]
    assert y == [layer.activation_std for layer in results[0].layers if not layer.shortcut]
    assert "activation std" in panel.plot.getPlotItem().getAxis("left").labelText


def test_block_toggle_changes_the_next_run_only_for_that_block(qtbot, panel, runner):
    first = run_and_wait(qtbot, panel)
    shown_before = panel.conditions_label.text()
    panel.switches.set_shortcut("layer2.1", False)
    assert panel.conditions_label.text() == shown_before  # the shown run keeps its conditions
    assert "only in layer2.1" in panel.form.switches_label.text()

    second = run_and_wait(qtbot, panel)
    assert second[1].config["plain_blocks"] == ["layer2.1"]
    assert "Shortcuts off in: layer2.1" in panel.conditions_label.text()
    # The residual run is unchanged; the other run equals the core's run with only layer2.1 plain.
    assert second[0].layers == first[0].layers
    reference = reference_run(qtbot, runner, GradConfig(size=64, batch=2, seed=0, shortcuts=False, plain_blocks=("layer2.1",)))
    assert [l.grad_norm for l in second[1].layers] == pytest.approx([l.grad_norm for l in reference.layers], rel=1e-5)
    assert second[1].layers != first[1].layers


def test_lesioned_block_leaves_honest_gaps(qtbot, panel):
    panel.switches.set_shortcut("layer1.1", False)
    panel.switches.set_residual("layer3.4", False)
    results = run_and_wait(qtbot, panel)
    assert results[0].config["lesion"] == ["layer3.4"]
    # The lesioned branch's three convs have no gradient: left out of both curves, and said so;
    # the legend names the one block whose shortcut is off.
    assert panel.plot.curve_points() == [("with shortcuts (residual)", 47), ("shortcuts off in layer1.1", 47)]
    _, x, _ = plotted(panel)[0]
    lesioned = [i for i, (name, _) in enumerate(main_path_layout(summarize())) if name.startswith("layer3.4.")]
    assert not set(lesioned) & set(x)
    assert panel.skipped_label.isVisibleTo(panel)
    text = panel.skipped_label.text()
    assert "Not drawn (6 point(s)" in text and "layer3.4.conv1" in text and "missing" in text


def test_plot_skips_zero_missing_and_infinite_values_and_breaks_the_line(qtbot):
    plot = GradientPlot()
    qtbot.addWidget(plot)
    plot.set_layout(main_path_layout(summarize()))
    values = [1.0] * 50
    values[3], values[10], values[20] = 0.0, None, math.inf
    skipped = plot.show_curves([Curve(True, tuple(values))], "grad_norm")
    assert [(s.layer, s.value) for s in skipped] == [
        ("layer1.0.conv3", 0.0),
        ("layer2.0.conv1", None),
        ("layer2.3.conv2", math.inf),
    ]
    item = plot._curves[0]
    x, _ = item.getOriginalDataset()
    assert len(x) == 47 and 3 not in x
    assert "not drawable" in plot.hover_text(3) and "layer1.0.conv3" in plot.hover_text(3)


def test_presets_set_the_knobs_and_edits_make_them_custom(qtbot, panel):
    panel.form.preset_box.setCurrentIndex(panel.form.preset_box.findData("no-norm"))
    assert panel.form.norm_box.currentData() == "none" and panel.form.init_box.currentData() == "pytorch"
    assert "default init" in panel.form.preset_description.text()
    panel.form.preset_box.setCurrentIndex(panel.form.preset_box.findData("trained"))
    assert panel.form.init_box.currentData() == "weights" and panel.form.weights_box.isEnabled()
    assert panel.config().weights == "imagenet-v2" and panel.config().targets == "top1"
    panel.form.norm_box.setCurrentIndex(panel.form.norm_box.findData("none"))
    assert panel.form.preset_box.currentData() == "custom"


def test_invalid_settings_are_refused_before_any_job(qtbot, panel, runner):
    panel.form.init_box.setCurrentIndex(panel.form.init_box.findData("weights"))
    panel.form.weights_box.setCurrentText("")
    panel.run()
    assert "Cannot run" in panel.message_label.text() and "weights source" in panel.message_label.text()
    assert not panel.is_running()
    panel.form.init_box.setCurrentIndex(panel.form.init_box.findData("he"))
    panel.form.inputs_box.setCurrentIndex(panel.form.inputs_box.findData("images"))
    panel.run()
    assert "choose at least one image" in panel.message_label.text()


def test_a_block_without_shortcut_and_residual_is_refused(qtbot, panel, runner):
    panel.switches.set_residual("layer3.4", False)  # the plain run would switch off its shortcut too
    panel.run()
    assert "Cannot run" in panel.message_label.text() and "layer3.4" in panel.message_label.text()
    assert not panel.is_running()
    panel.form.shortcuts_box.setCurrentIndex(panel.form.shortcuts_box.findData("on"))
    assert run_and_wait(qtbot, panel)[0].config["lesion"] == ["layer3.4"]


def test_a_failing_run_says_why_and_keeps_the_previous_plot(qtbot, panel):
    first = run_and_wait(qtbot, panel)
    # Batch statistics of a single 1x1 feature map do not exist: the core refuses at stage 5.
    panel.form.batch_spin.setValue(1)
    panel.form.size_spin.setValue(32)
    with qtbot.waitSignal(panel.run_failed, timeout=RUN_TIMEOUT_MS):
        panel.run()
    assert panel.message_label.text().startswith("Run failed:")
    assert "\n" not in panel.message_label.text()
    assert panel.results() == first and panel.plot.curve_points()[0][1] == 50


def test_cancel_drops_the_run(qtbot, panel, runner):
    panel.form.size_spin.setValue(224)
    finished = []
    panel.run_finished.connect(finished.append)
    panel.run()
    assert panel.cancel_button.isEnabled()
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert not panel.is_running()
    assert not panel.cancel_button.isEnabled()
    assert panel.message_label.text() == "Cancelled; nothing was measured."  # no earlier run for the plot to keep
    qtbot.wait(300)
    assert finished == [] and panel.results() == []


@pytest.mark.qt_log_ignore("propagateSizeHints")  # the offscreen platform's note on show()
def test_ctrl_r_runs_the_lab(qtbot, panel):
    with qtbot.waitActive(panel):
        panel.show()
        panel.activateWindow()
    panel.form.seed_spin.setFocus()
    with qtbot.waitSignal(panel.run_finished, timeout=RUN_TIMEOUT_MS):
        qtbot.keyClick(panel.form.seed_spin, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)


def test_export_writes_png_svg_and_csv_of_the_shown_run(qtbot, panel, tmp_path):
    assert not panel.export(str(tmp_path / "early.csv"))
    assert "nothing to export" in panel.message_label.text()
    results = run_and_wait(qtbot, panel)
    for name in ("plot.png", "plot.svg", "plot.csv"):
        assert panel.export(str(tmp_path / name)), panel.message_label.text()
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = (tmp_path / "plot.svg").read_text()
    assert "<svg" in svg and "without shortcuts (plain)" in svg
    assert QSvgRenderer(str(tmp_path / "plot.svg")).isValid()
    # The one CSV schema of the grads command: one row per run and layer, with the run's conditions.
    rows = list(csv.DictReader((tmp_path / "plot.csv").open()))
    assert list(rows[0]) == list(CSV_FIELDS)
    assert len(rows) == 2 * 54
    assert {(r["size"], r["batch"], r["seed"], r["norm"]) for r in rows} == {("64", "2", "0", "batch")}
    assert {r["loss"] for r in rows if r["run"] == "plain"} == {repr(results[1].loss)}
    projection = [r for r in rows if r["shortcut"] == "True"]
    assert len(projection) == 8 and {r["grad_norm"] for r in projection if r["shortcuts"] == "False"} == {""}
    residual_fc = next(r for r in rows if r["run"] == "residual" and r["layer"] == "fc")
    assert float(residual_fc["grad_norm"]) == results[0].layers[-1].grad_norm
    assert not panel.export(str(tmp_path / "plot.jpg"))
    assert "use .png, .svg or .csv" in panel.message_label.text()
    assert not panel.export(str(tmp_path / "missing-dir" / "plot.csv"))


def test_settings_round_trip(qtbot, runner, tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    a = GradientPanel(runner, BlockSwitches(residual_blocks()))
    qtbot.addWidget(a)
    a.form.preset_box.setCurrentIndex(a.form.preset_box.findData("no-norm"))
    a.form.shortcuts_box.setCurrentIndex(a.form.shortcuts_box.findData("off"))
    a.form.size_spin.setValue(96)
    a.form.seed_spin.setValue(7)
    a.quantity_box.setCurrentIndex(a.quantity_box.findData("activation_std"))
    a.save_settings(settings)
    settings.sync()

    b = GradientPanel(runner, BlockSwitches(residual_blocks()))
    qtbot.addWidget(b)
    b.restore_settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    assert b.config() == a.config()
    assert replace(b.config(), size=224, seed=0) == replace(GradConfig(norm="none", init="pytorch"))
    assert b.form.shortcuts_box.currentData() == "off" and b.settings.values == a.settings.values
    assert b.form.preset_box.currentData() == "no-norm"
    assert b.quantity_box.currentData() == "activation_std"


def test_shutdown_during_a_run_stops_it_cleanly(qtbot):
    runner = JobRunner()
    panel = GradientPanel(runner, BlockSwitches(residual_blocks()))
    qtbot.addWidget(panel)
    panel.form.size_spin.setValue(224)
    finished: list = []
    panel.run_finished.connect(finished.append)
    panel.run()
    qtbot.waitUntil(lambda: panel.progress_bar.value() > 0, timeout=RUN_TIMEOUT_MS)  # the run is under way
    assert runner.shutdown(RUN_TIMEOUT_MS)  # the core stops at its next stage boundary
    qtbot.wait(100)
    assert finished == [] and panel.results() == []


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_hovering_the_plot_names_the_layer_and_its_values(qtbot, panel):
    results = run_and_wait(qtbot, panel)
    panel.resize(1000, 600)
    panel.show()
    qtbot.waitExposed(panel)
    view_box = panel.plot.getPlotItem().vb
    y = sum(view_box.viewRange()[1]) / 2
    scene_point = view_box.mapViewToScene(QPointF(10, y))
    qtbot.mouseMove(panel.plot.viewport(), panel.plot.mapFromScene(scene_point))
    qtbot.waitUntil(lambda: panel.hover_label.text().startswith("layer2.0.conv1 (stage3)"), timeout=5000)
    residual = next(l for l in results[0].layers if l.name == "layer2.0.conv1").grad_norm
    assert f"with shortcuts (residual): {residual:.3e}" in panel.hover_label.text()


def test_the_network_box_runs_another_member(qtbot, panel):
    panel.form.size_spin.setValue(32)
    panel.form.arch_box.setCurrentIndex(panel.form.arch_box.findData("resnet34"))
    assert panel.settings.values.arch == "resnet34"
    panel.switches.reset(residual_blocks(RESNETS["resnet34"].stages))
    results = run_and_wait(qtbot, panel)
    assert {r.config["arch"] for r in results} == {"resnet34"}
    assert [n for _, n in panel.plot.curve_points()] == [34, 34]
    assert "ResNet-34" in panel.conditions_label.text() and "all 16 blocks" in panel.conditions_label.text()
    # The trained preset's weights follow the network (ResNet-50's imagenet-v2 would be refused).
    panel.form.preset_box.setCurrentIndex(panel.form.preset_box.findData("trained"))
    assert panel.settings.values.weights == "resnet34-imagenet-v1" and panel.settings.preset() == "trained"
    assert panel.form.weights_box.itemText(0) == "resnet34-imagenet-v1"
    panel.set_network("resnet50")
    assert panel.settings.values.weights == "imagenet-v2"


def test_a_depth_comparison_plots_plain_and_residual_18_and_34_with_the_verdict_from_the_numbers(qtbot, panel, runner):
    panel.form.size_spin.setValue(32)
    panel.form.depths_box.setCurrentIndex(panel.form.depths_box.findData("resnet18,resnet34"))
    assert not panel.form.arch_box.isEnabled()
    got: list = []
    panel.run_finished.connect(got.append)  # a comparison's blocks are not the window's: no overlay
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.message_label.text().startswith(("Finished", "Run failed")), timeout=RUN_TIMEOUT_MS)
    assert panel.message_label.text().startswith("Finished") and not got
    comparison = panel.comparison()
    assert comparison.archs == ("resnet18", "resnet34")
    assert [c.label for c in comparison.curves] == ["residual-18", "plain-18", "residual-34", "plain-34"]
    assert panel.plot.curve_points() == [("residual-18", 18), ("plain-18", 18), ("residual-34", 34), ("plain-34", 34)]
    assert panel.verdict_label.text() == comparison.verdict
    assert comparison.verdict == depth_verdict(comparison.curves)
    _, x, y = plotted(panel)[1]  # plain-18 along the 34 layers' axis: stem at 0, fc at 33
    assert x[0] == 0 and x[-1] == pytest.approx(33)
    assert panel.plot.layout_names()[0] == "conv1" and len(panel.plot.layout_names()) == 34
    assert "ResNet-18 vs ResNet-34" in panel.conditions_label.text()
    assert "layer4.1.conv2" in panel.plot.hover_text(32) or "layer4.2" in panel.plot.hover_text(32)
    panel.switches.set_shortcut("layer1.0", False)
    panel.run()
    assert "switches whole networks" in panel.message_label.text()  # the diagram's switches name one network's blocks


def test_built_in_steps_the_plot_first_it_is_the_same_panel(qtbot, runner):
    """The window builds the panel over two turns of the event loop (at once: 18-29 ms of the GUI
    thread while torch's parts loaded), the plot first; the panel then holds that plot, empty."""
    switches = BlockSwitches(residual_blocks())
    made, panel = built_in_steps(GradientPanel.in_steps(runner, switches))
    assert made == 1
    qtbot.addWidget(panel)
    assert isinstance(panel.plot, GradientPlot) and panel.plot.parent() is not None and panel.plot.window() is panel
    assert panel.switches is switches and panel.plot.curve_points() == []
