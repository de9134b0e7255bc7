"""The Race view: a tiny race runs to the end on the worker and the plots, verdict and conditions show
the core's numbers; a depth race (He et al. Fig. 6) draws four curves told apart by colour and marker
with a legend naming each; Cancel stops it mid-race and keeps the steps done; bad knob values are
named in one line before anything runs; export writes PNG, SVG and CSV of the shown race; closing the
window mid-race stops the worker.

Races are ResNet-18 at 32x32 (the depth race ResNet-20 and -32 at 16x16) with batch 4 and a few
steps, on the CPU, so they take seconds."""

from __future__ import annotations

import csv

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtSvg import QSvgRenderer

from explorer.commands.race import format_result
from explorer.core.race.report import CSV_FIELDS, LABELS, SERIES, csv_rows
from explorer.ui.race.panel import RacePanel
from support import built_in_steps

RACE_TIMEOUT_MS = 120_000
TINY = {"network": "resnet18", "steps": 3, "batch": 4, "size": 32, "device": "cpu"}


@pytest.fixture
def panel(qtbot, runner):
    p = RacePanel(runner)
    qtbot.addWidget(p)
    p.settings.set(**TINY)
    return p


def race_to_the_end(qtbot, panel: RacePanel):
    got: list = []
    panel.race_finished.connect(got.append)
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    failed = lambda: panel.message_label.text().startswith(("Race failed", "Cannot race"))
    qtbot.waitUntil(lambda: bool(got) or failed(), timeout=RACE_TIMEOUT_MS)
    assert got, panel.message_label.text()
    return got[0]


def test_the_knobs_write_the_model_and_the_model_the_knobs(panel):
    assert panel.form.network_box.currentData() == "resnet18" and panel.form.steps_spin.value() == 3
    panel.form.size_spin.setValue(panel.form.size_spin.minimum())
    assert panel.form.size_spin.text() == "auto" and panel.settings.config().size is None
    panel.form.size_spin.setValue(40)
    panel.form.lr_edit.textEdited.emit("0.02")
    panel.form.no_norm_box.setChecked(True)
    panel.form.network_box.setCurrentIndex(panel.form.network_box.findData("resnet34"))
    config = panel.settings.config()
    assert (config.size, config.lr, config.norm, config.network) == (40, 0.02, "none", "resnet34")
    panel.settings.set(seed=7, data="digits")
    assert panel.form.seed_spin.value() == 7 and panel.form.data_edit.text() == "digits"


def test_a_tiny_race_runs_to_the_end_and_shows_the_core_numbers(qtbot, panel):
    seen: list = []
    panel.plot.add_step = lambda step, add=panel.plot.add_step: seen.append(step) or add(step)  # the live updates
    result = race_to_the_end(qtbot, panel)
    assert [s.step for s in seen] == [1, 2, 3]
    assert not result.cancelled and result.steps_done == 3 and result.config.network == "resnet18"
    for series in SERIES:
        for label in LABELS:
            assert panel.plot.points(series, label) == 3, (series, label)
    # The window states the verdict word for word as the race command prints it (one verdict code).
    assert panel.verdict_label.text() == result.verdict and result.verdict in format_result(result).splitlines()
    assert "3 steps" in result.verdict
    conditions = panel.conditions_label.text()
    for words in ("ResNet-18 residual vs plain", "digits", "3 steps of batch 4", "lr 0.1", "seed 0", "cpu", "32x32"):
        assert words in conditions, words
    assert panel.progress_bar.value() == 1000 and panel.export_button.isEnabled() and not panel.cancel_button.isEnabled()
    # The plots show exactly the core's numbers (accuracy in percent).
    x, y = panel.plot._curves[("accuracy", "plain")].getData()
    assert list(y) == pytest.approx([100 * a for a in result.run("plain").accuracy])


def test_a_depth_race_draws_four_curves_told_apart_with_a_legend(qtbot, panel):
    panel.settings.set(network="resnet32", size=0)
    panel.form.depth_box.setCurrentIndex(panel.form.depth_box.findData("resnet20"))
    config = panel.settings.config()
    assert (config.depths, config.image_size) == (("resnet32", "resnet20"), 16)
    result = race_to_the_end(qtbot, panel)
    labels = ["residual-20", "plain-20", "residual-32", "plain-32"]
    assert [run.label for run in result.runs] == labels
    for series in SERIES:
        for label in labels:
            assert panel.plot.points(series, label) == 3, (series, label)
    looks = {(item.opts["pen"].color().name(), item.opts["symbol"]) for (series, _), item in panel.plot._curves.items() if series == "loss"}
    colours, symbols = {c for c, _ in looks}, {s for _, s in looks}
    assert len(looks) == len(colours) == len(symbols) == 4  # each curve its own colour and its own marker
    legend = panel.plot.legend.text
    assert all(label in legend for label in labels) and all(colour in legend.lower() for colour in colours)
    assert panel.verdict_label.text().startswith("After 3 steps (training loss and batch accuracy over the last 1 step) plain-32 ")
    assert "ResNet-20, ResNet-32, each residual and plain" in panel.conditions_label.text()
    # Back to one network: two curves again.
    panel.form.depth_box.setCurrentIndex(0)
    assert panel.settings.config().depths == ()
    race_to_the_end(qtbot, panel)
    assert sorted(label for series, label in panel.plot._curves if series == "loss") == ["plain", "residual"]


def test_cancel_mid_race_stops_and_keeps_the_steps_done(qtbot, panel):
    panel.settings.set(steps=500)
    first: list = []
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    job = panel._race.current()
    job.published.connect(first.append)
    qtbot.waitUntil(lambda: bool(first), timeout=RACE_TIMEOUT_MS)
    with qtbot.waitSignal(job.aborted, timeout=RACE_TIMEOUT_MS):
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert not panel.is_running() and panel.result() is None
    assert panel.message_label.text().startswith("Cancelled after ") and "Cancelled" in panel.verdict_label.text()
    assert 1 <= panel.plot.points("loss", "residual") < 500
    assert not panel.export_button.isEnabled() and not panel.cancel_button.isEnabled()


@pytest.mark.parametrize(
    "change,words",
    [
        ({"lr": "fast"}, "learning rate 'fast' is not a number"),
        ({"lr": "0"}, "lr must be above 0"),
        ({"lr": "50"}, "lr must be a number from 0.0 to 10.0"),
        ({"data": "no/such/folder"}, "no/such/folder: no such folder"),
    ],
)
def test_bad_knob_values_are_named_before_anything_runs(qtbot, panel, change, words):
    panel.settings.set(**change)
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    assert not panel.is_running()
    assert panel.message_label.text().startswith("Cannot race: ") and words in panel.message_label.text()


def test_an_absent_device_fails_in_one_line(qtbot, panel):
    panel.form.device_box.setCurrentText("cuda:7")
    failed: list = []
    panel.race_failed.connect(failed.append)
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(failed), timeout=RACE_TIMEOUT_MS)
    assert "cuda:7" in failed[0] and "\n" not in failed[0]
    assert panel.message_label.text().startswith("Race failed: ") and not panel.export_button.isEnabled()


def test_export_writes_png_svg_and_csv_of_the_shown_race(qtbot, panel, tmp_path):
    assert not panel.export(str(tmp_path / "early.csv"))
    assert "nothing to export yet" in panel.message_label.text()
    result = race_to_the_end(qtbot, panel)
    for name in ("race.png", "race.svg", "race.csv"):
        assert panel.export(str(tmp_path / name)), panel.message_label.text()
    assert (tmp_path / "race.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = (tmp_path / "race.svg").read_text()
    assert "<svg" in svg and QSvgRenderer(str(tmp_path / "race.svg")).isValid()
    rows = list(csv.reader((tmp_path / "race.csv").open()))
    assert rows[0] == list(CSV_FIELDS) and rows[1:] == [[str(v) for v in r] for r in csv_rows(result)]
    assert not panel.export(str(tmp_path / "race.jpg")) and "use .png, .svg or .csv" in panel.message_label.text()
    assert not panel.export(str(tmp_path / "missing" / "race.csv")) and "no such folder" in panel.message_label.text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race.csv", "race.png", "race.svg"]  # nothing half-made


def test_closing_the_window_mid_race_stops_the_worker(qtbot, tmp_path):
    from explorer.ui.main_window import MainWindow

    window = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    window.build_parts()
    window.race.settings.set(**dict(TINY, steps=10_000))
    steps: list = []
    window.race.run()
    window.race._race.current().published.connect(steps.append)
    qtbot.waitUntil(lambda: bool(steps), timeout=RACE_TIMEOUT_MS)
    assert window.race.is_running()
    window.close()
    assert not window.isVisible() and not window.runner.running()
    assert window.runner.shutdown(1000)  # every worker thread has already stopped


def test_built_in_steps_a_plot_per_turn_it_is_the_same_panel(qtbot, runner):
    """The window builds the panel over turns of the event loop (the three plots at once held the
    GUI thread 26-36 ms): one step per plot, then the panel with those plots, titled and empty."""
    made, panel = built_in_steps(RacePanel.in_steps(runner))
    qtbot.addWidget(panel)
    assert made == len(SERIES) and list(panel.plot.plots) == list(SERIES)
    at_once = RacePanel(runner)
    qtbot.addWidget(at_once)
    for series in SERIES:
        plot, other = panel.plot.plots[series], at_once.plot.plots[series]
        assert plot.titleLabel.text == other.titleLabel.text and plot.getAxis("left").logMode == other.getAxis("left").logMode
    assert panel.plot.points(SERIES[0], LABELS[0]) == 0
