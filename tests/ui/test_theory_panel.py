"""The Theory dock: each tab's Run draws the core's own numbers (signal curves, Veit's three plots, the
ERF maps with their theoretical squares), Cancel stops a run and keeps the previous views, bad settings
are named in one line before anything runs, a failing run says why, and the knobs, the File… and
Images… buttons and the per-view options write the Qt-free settings model (and the model the knobs).

Runs are ResNet-18 at 32-64 px with batch 2 on the CPU, so they take seconds."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import Qt

from explorer.core.theory import TheoryConfig, run_erf, run_paths, run_signal
from explorer.ui.common import dialogs
from explorer.core.theory.config import VIEWS
from explorer.ui.theory.panel import TheoryPanel
from explorer.ui.theory.settings import TheorySettings
from support import built_in_steps, checkpoint, pattern_image

TIMEOUT_MS = 120_000
SMALL = {"arch": "resnet18", "size": 64, "batch": 2, "device": "cpu"}
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")  # the offscreen platform, on show()


@pytest.fixture
def panel(qtbot, runner):
    p = TheoryPanel(runner)
    qtbot.addWidget(p)
    p.settings.set(**SMALL)
    p.resize(1100, 320)
    p.show()
    return p


def run_view(qtbot, panel: TheoryPanel, view: str) -> None:
    panel.tabs.setCurrentIndex(VIEWS.index(view))
    with qtbot.waitSignal(panel.view_shown, timeout=TIMEOUT_MS, check_params_cb=lambda shown: shown == view):
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    assert panel.progress_bar.value() == 1000 and not panel.cancel_button.isEnabled()
    assert panel.message_label.text().startswith("Finished in")


def test_signal_tab_draws_residual_and_plain_as_the_core_measures_them(qtbot, panel):
    run_view(qtbot, panel, "signal")
    residual, plain = panel.results["signal"]
    assert residual == run_signal(TheoryConfig(arch="resnet18", size=64)) and plain.config.shortcuts is False
    assert panel.signal_plot.points(0) == [9, 9] and panel.signal_plot.points(2) == [8, 8]  # the stem has no branch
    for item, result in zip(panel.signal_plot.plots[1].listDataItems(), (residual, plain)):
        assert list(item.getOriginalDataset()[1]) == pytest.approx([b.variance for b in result.blocks])
    assert "with shortcuts (residual)" in panel.signal_plot.legend.text and "ResNet-18" in panel.notes["signal"].text()


def test_signal_tab_compares_two_initialisations_and_says_what_a_log_axis_cannot_show(qtbot, panel):
    panel.compare_box.setCurrentIndex(panel.compare_box.findData("init"))
    assert panel.second_init_box.isEnabled()
    panel.second_init_box.setCurrentIndex(panel.second_init_box.findData("zero-residual"))
    run_view(qtbot, panel, "signal")
    he, zero = panel.results["signal"]
    assert (he.config.init, zero.config.init) == ("he", "zero-residual")
    assert panel.signal_plot.points(2) == [8, 0]  # every zero-residual branch variance is 0
    assert "8 residual branch variance point(s) are 0" in panel.notes["signal"].text()
    assert "zero-residual init" in panel.signal_plot.legend.text


def test_paths_tab_draws_veits_figure_6_from_the_core(qtbot, panel):
    panel.settings.set(size=32, norm="frozen")
    run_view(qtbot, panel, "paths")
    (result,) = panel.results["paths"]
    expected = run_paths(TheoryConfig(arch="resnet18", size=32, norm="frozen"))
    assert result.gradient_by_length == pytest.approx(expected.gradient_by_length, rel=1e-6)
    assert panel.paths_plot.bars(0) == pytest.approx(list(result.distribution))
    assert panel.paths_plot.bars(2) == pytest.approx(list(result.total_by_length))
    assert panel.paths_plot.points(1) == [9]
    notes = panel.notes["paths"].text()
    assert "All 256 paths" in notes and "carry 90% of the total gradient" in notes


def test_erf_tab_shows_each_stage_against_random_weights_with_its_theoretical_square(qtbot, panel, tmp_path):
    from explorer.core.network.model import ResNet

    weights = checkpoint(tmp_path / "r18.pth", ResNet("resnet18", init="pytorch", seed=4))
    panel.settings.set(init="weights", weights=str(weights), norm="frozen")
    run_view(qtbot, panel, "erf")
    mine, random = panel.results["erf"]
    assert [r.stage for r in mine] == ["stem", "layer1", "layer2", "layer3", "layer4"]
    assert (mine[0].config.arch, random[0].config.init) == ("resnet18", "he")  # the file decided the network
    expected = run_erf(TheoryConfig(arch="resnet18", size=64, norm="frozen", init="weights", weights=str(weights)), ("layer1",))[0]
    assert (mine[1].map == expected.map).all()
    assert len(panel.erf_view.cells) == 10
    top, left, bottom, right = mine[0].box()
    assert panel.erf_view.fields()[0] == [(left, top, right - left + 1, bottom - top + 1)]
    assert "theoretical fields 11, 43, 99, 211, 435 px" in panel.notes["erf"].text()
    assert "Batch statistics" not in panel.notes["erf"].text()


def test_cancel_keeps_the_previous_views(qtbot, panel):
    panel.settings.set(size=32)
    run_view(qtbot, panel, "signal")
    shown = panel.results["signal"]
    panel.settings.set(arch="resnet50", size=224, samples=4)
    panel.tabs.setCurrentIndex(VIEWS.index("paths"))
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    assert panel.cancel_button.isEnabled() and panel.is_running()
    job = panel._run.current()
    qtbot.waitUntil(lambda: panel.progress_bar.value() > 0, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(job.aborted, timeout=TIMEOUT_MS):
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert panel.message_label.text().startswith("Cancelled") and panel.progress_bar.value() == 0
    assert panel.results["signal"] is shown and "paths" not in panel.results


def test_settings_that_cannot_run_are_named_before_anything_runs_and_a_failure_says_why(qtbot, panel, tmp_path):
    panel.settings.set(inputs="images")
    panel.run_action.trigger()
    assert panel.message_label.text() == "Cannot run: choose at least one image, or use seeded noise" and not panel.is_running()
    panel.settings.set(inputs="noise", init="weights", weights="")
    panel.run()
    assert panel.message_label.text().startswith("Cannot run: give weights") and not panel.is_running()
    panel.settings.set(weights=str(tmp_path / "missing.pth"))
    with qtbot.waitSignal(panel.run_failed, timeout=TIMEOUT_MS) as failed:
        panel.run()
    assert "missing.pth" in failed.args[0] and panel.message_label.text().startswith("Run failed:")
    panel.cancel_action.trigger()  # nothing runs: harmless
    assert not panel.cancel_button.isEnabled()


def test_the_buttons_and_knobs_write_the_model_and_the_model_the_knobs(qtbot, panel, tmp_path, monkeypatch):
    pictures = [str(pattern_image(tmp_path / f"p{i}.png", seed=i)) for i in range(3)]
    weights = str(checkpoint(tmp_path / "w.pth", seed=1))
    monkeypatch.setattr(dialogs, "open_images", lambda parent, title: pictures)
    monkeypatch.setattr(dialogs, "open_checkpoint", lambda parent, title: weights)
    form = panel.form
    assert not form.images_button.isEnabled() and not form.weights_browse.isEnabled()
    form.inputs_box.setCurrentIndex(form.inputs_box.findData("images"))
    qtbot.mouseClick(form.images_button, Qt.MouseButton.LeftButton)
    assert panel.settings.values.images == tuple(pictures) and "p0.png" in form.images_label.text()
    assert not form.batch_spin.isEnabled()
    form.init_box.setCurrentIndex(form.init_box.findData("weights"))
    qtbot.mouseClick(form.weights_browse, Qt.MouseButton.LeftButton)
    assert panel.settings.values.weights == weights and form.weights_box.currentText() == weights
    form.init_box.setCurrentIndex(form.init_box.findData("fixup"))
    assert panel.settings.values.norm == "none" and form.norm_box.currentData() == "none"  # fixup has no BN
    form.size_spin.setValue(96)
    form.seed_spin.setValue(5)
    panel.samples_spin.setValue(3)
    assert (panel.settings.paths_config().size, panel.settings.paths_config().seed, panel.settings.paths_config().samples) == (96, 5, 3)
    panel.set_network("resnet34")
    assert form.arch_box.currentData() == "resnet34" and panel.settings.values.weights == weights  # a file stays
    panel.settings.set(init="weights", weights="imagenet-v2")
    panel.set_network("resnet18")
    assert form.weights_box.currentText() == "resnet18-imagenet-v1"  # ResNet-50's named weights follow the network
    for index in range(panel.tabs.count()):
        panel.tabs.setCurrentIndex(index)
        assert panel.view_options.currentIndex() == index == panel.notes_stack.currentIndex()


# -- the Qt-free settings model ----------------------------------------------------------------------


def test_settings_give_each_view_its_configs():
    settings = TheorySettings(["cpu"])
    settings.set(arch="resnet18", size=64)
    residual, plain = settings.signal_configs()
    assert replace(residual, shortcuts=False) == plain and residual.shortcuts
    settings.set(compare="init", second_init="fixup")
    he, fixup = settings.signal_configs()
    assert (he.init, he.norm, fixup.init, fixup.norm) == ("he", "batch", "fixup", "none")
    assert settings.erf_configs() == [he]  # random He is what is chosen already: one row
    settings.set(init="weights", weights="/models/mine.pth")
    chosen, random = settings.erf_configs()
    assert (chosen.arch, chosen.weights, random.arch, random.init, random.weights) == (None, "/models/mine.pth", "resnet18", "he", None)
    settings.set(weights="resnet18-imagenet-v1")
    assert settings.config().arch == "resnet18"  # a named source of the network: the network stays
    assert settings.problem([replace(he, init="fixup", norm="batch")]) == "init fixup replaces normalisation: use norm none, not batch"
    with pytest.raises(ValueError, match="no setting"):
        settings.set(colour="red")
    with pytest.raises(ValueError, match="from 32 to 1024"):
        settings.set(size=8)
    with pytest.raises(ValueError, match="not available"):
        settings.set(device="cuda:7")


def test_built_in_steps_a_plot_per_turn_it_is_the_same_panel(qtbot, runner):
    """The window builds the panel over turns of the event loop (a row of three plots at once held
    the GUI thread 18-30 ms): one step per plot of the two rows and one for the ERF view."""
    made, panel = built_in_steps(TheoryPanel.in_steps(runner))
    qtbot.addWidget(panel)
    rows = (panel.signal_plot, panel.paths_plot)
    assert made == sum(len(row.LOGS) for row in rows) + 1
    assert [[p.getAxis("left").logMode for p in row.plots] for row in rows] == [list(row.LOGS) for row in rows]
    assert all(row.plots[0].scene() is row.scene() for row in rows)  # in their rows, not left aside
