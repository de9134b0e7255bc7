"""The whole window: drops anywhere classify (checked against the core Classifier), a broken file
shows its error while the others classify, the diagram's clicks reach the inspector and its shortcut
toggles reach the gradient lab's next run only, closing during a run exits cleanly, settings persist,
and the gui command refuses to start without a display. Nothing downloads: a torch.save'd checkpoint."""

from __future__ import annotations

import gc
import warnings

import pytest
import torch
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication, QWidget

from explorer.cli import main as cli_main
from explorer.core.gradients import run_comparison
from explorer.core.inference.classifier import Classifier
from explorer.ui.jobs import default_torch_threads
from explorer.ui.main_window import MainWindow
from support import checkpoint as make_checkpoint
from support import pattern_image

TIMEOUT_MS = 60_000

# The offscreen platform cannot resize a real window for the docks' size hints; nothing to fix.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "resnet50-random.pth", seed=5)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("img")
    good = [pattern_image(folder / name, (72, 56), seed) for seed, name in enumerate(("red.png", "stripes.jpg"))]
    broken = folder / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a JPEG")
    return {"good": good, "broken": broken}


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.resize(1300, 850)
    w.show()
    w.build_parts()
    qtbot.waitExposed(w)
    return w


def load_checkpoint(qtbot, window: MainWindow, checkpoint) -> dict:
    with qtbot.waitSignal(window.classify.weights_loaded, timeout=TIMEOUT_MS) as blocker:
        window.classify.load_weights(str(checkpoint))
    return blocker.args[0]


def drop(target: QWidget, paths) -> None:
    """What a file manager sends: a drag entering with file URLs, then the drop."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(target.rect().center())
    with warnings.catch_warnings():  # QDragEnterEvent's only constructor, which PySide6 marks deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    enter.ignore()  # as Qt delivers it: a widget that does nothing with it refuses the drag
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(target, QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))


def test_drops_anywhere_classify_and_a_broken_file_shows_its_error(qtbot, window, checkpoint, images):
    payload = load_checkpoint(qtbot, window, checkpoint)
    assert "resnet50-random.pth" in window._status.text()  # the status bar names the weights
    drop(window.diagram.viewport(), [images["good"][0], images["broken"]])
    drop(window.gradient.plot, [images["good"][1]])  # another part of the window
    qtbot.waitUntil(lambda: window.classify.pending() == 0, timeout=TIMEOUT_MS)
    texts = window.classify.entry_texts()
    assert [t.split("\n")[0] for t in texts] == ["red.png", "broken.jpg", "stripes.jpg"]
    assert texts[1].split("\n")[1].startswith("⚠")
    reference = Classifier("cpu")
    reference.load(str(checkpoint))
    for path, text in zip(images["good"], (texts[0], texts[2])):
        best = reference.classify_path(path).top[0]
        assert text.split("\n")[1].startswith(f"{best.prob:.1%} {best.label}")
    # The inspector shows the loaded checkpoint's weight statistics.
    weight = torch.load(checkpoint, weights_only=True)["layer1.0.conv1.weight"]
    assert payload["stats"]
    qtbot.waitUntil(window.diagram.has_summary, timeout=TIMEOUT_MS)
    window.diagram.select("layer1.0.conv1")
    assert window.inspector.shown()["Weights"] == f"mean {weight.mean().item():+.4g}, std {weight.std().item():.4g}"


def test_every_widget_that_takes_drags_takes_files_for_the_window(qtbot, window, images):
    """Qt hands a drag to the widget under the cursor if it takes drops (the diagram, each plot, a
    text field), else to the window: the filter watches those widgets, not the application."""
    window.show_network("resnet18", 1000)  # a switch keeps them watched
    window.drops.paths_dropped.disconnect(window.open_paths)  # what a drop means is tested above
    dropped = []
    window.drops.paths_dropped.connect(dropped.append)
    takers = [w for w in window.findChildren(QWidget) if w.acceptDrops()]
    assert len(takers) > 10
    for widget in takers + [window]:
        drop(widget, [images["good"][0]])
        assert dropped.pop() == [str(images["good"][0])], widget


def test_pasted_image_is_classified(qtbot, window, checkpoint):
    load_checkpoint(qtbot, window, checkpoint)
    image = QImage(64, 48, QImage.Format.Format_RGB32)
    image.fill(QColor(200, 40, 40))
    QApplication.clipboard().setImage(image)
    window.actions["file.paste"].trigger()
    qtbot.waitUntil(lambda: window.classify.pending() == 0, timeout=TIMEOUT_MS)
    assert window.classify.entry_texts()[0].startswith("clipboard\n")
    assert "%" in window.classify.entry_texts()[0]


def test_clicking_a_block_fills_the_inspector(qtbot, window):
    qtbot.waitUntil(window.diagram.has_summary, timeout=TIMEOUT_MS)
    item = window.diagram.item("layer3.0")
    pos = window.diagram.mapFromScene(item.mapToScene(QPointF(20, 16)))
    qtbot.mouseClick(window.diagram.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert window.inspector.shown()["Name"] == "layer3.0"
    assert window.inspector.shown()["Kind"] == "convolutional block (projection shortcut)"


def test_a_shortcut_toggle_changes_the_next_run_only_for_that_block(qtbot, window):
    lab = window.gradient
    lab.form.size_spin.setValue(64)
    lab.form.batch_spin.setValue(2)
    window.switches.set_shortcut("layer2.1", False)
    assert lab.config().plain_blocks == ("layer2.1",)
    with qtbot.waitSignal(lab.run_finished, timeout=TIMEOUT_MS) as blocker:
        window.gradient.run_action.trigger()  # Ctrl+R
    residual, plain = blocker.args[0]
    assert plain.label == "plain in layer2.1" and residual.label == "residual"
    assert [len(r.layers) for r in (residual, plain)] == [len(plain.layers)] * 2
    # Only layer2.1's output changes (no addition): every layer up to and inside it sees the same
    # input in both runs, the next block already differs.
    names = [layer.name for layer in plain.layers]
    after = names.index("layer2.2.conv1")
    same = [a.activation_std == b.activation_std for a, b in zip(residual.layers, plain.layers)]
    assert all(same[:after]) and not all(same[after:])
    # The numbers are the core's for the same settings, computed with the worker's torch thread
    # count (the summation order, hence the last bits, depends on it).
    threads = torch.get_num_threads()
    torch.set_num_threads(default_torch_threads())
    try:
        reference = run_comparison(lab.config(), "both", "cpu")
    finally:
        torch.set_num_threads(threads)
    assert [layer.grad_norm for layer in reference[1].layers] == pytest.approx([layer.grad_norm for layer in plain.layers])
    # A later toggle affects the next run, never the shown one.
    window.switches.set_shortcut("layer3.0", False)
    assert lab.config().plain_blocks == ("layer2.1", "layer3.0")
    assert lab.results()[1].label == "plain in layer2.1"


def test_closing_during_a_running_job_exits_cleanly(qtbot, window, settings):
    window.gradient.form.size_spin.setValue(224)
    finished = []
    window.gradient.run_finished.connect(finished.append)
    window.gradient.run()
    assert window.gradient.is_running()
    qtbot.wait(300)  # let the run get going
    window.close()
    assert not window.isVisible()
    assert window.runner.shutdown(1000)  # every worker has stopped
    qtbot.wait(100)
    assert finished == []  # a cancelled run's result is dropped
    assert settings.value("window/state") is not None
    assert settings.value("gradient_lab/size", type=int) == 224


def test_window_layout_and_lab_settings_come_back(qtbot, settings):
    first = MainWindow(settings)
    qtbot.addWidget(first)
    first.build_parts()
    first.gradient.form.seed_spin.setValue(7)
    first.gradient_dock.hide()
    first.close()
    second = MainWindow(settings)
    qtbot.addWidget(second)
    second.build_parts()
    assert second.gradient.form.seed_spin.value() == 7
    assert second.gradient_dock.isHidden()


def test_gui_command_without_a_display_says_how_to_run_it(monkeypatch, capsys):
    for variable in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(variable, raising=False)
    assert cli_main(["photo.jpg"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("resnet-explorer gui: error: no display") and "xvfb-run" in err[0]


def test_gui_command_rejects_unknown_options(capsys):
    with pytest.raises(SystemExit) as exc:
        cli_main(["gui", "--no-such-option"])
    assert exc.value.code == 2


def test_steps_each_take_a_turn_of_the_event_loop_the_first_too(qtbot):
    """A job's result handed on in steps: nothing happens inside the slot that got it (the first
    step there joined the turn that had just painted another result), then a step per timer."""
    from PySide6.QtCore import QTimer

    from explorer.ui.startup import run_in_steps

    done: list[str] = []
    ticks: list[int] = []  # a 0 ms timer's ticks seen by each step: the loop turned between steps
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(0)

    def steps():
        for name in ("a", "b", "c"):
            done.append(f"{name}{len(ticks)}")
            yield

    run_in_steps(steps(), lambda: done.append("then"))
    assert done == []
    qtbot.waitUntil(lambda: "then" in done, timeout=2000)
    timer.stop()
    counts = [int(entry[1:]) for entry in done[:3]]
    assert [entry[0] for entry in done[:3]] == ["a", "b", "c"] and counts[0] < counts[1] < counts[2]


def test_ui_bench_counts_what_a_phase_left_to_do_after_its_end_as_the_phases(qapp):
    """A stall just after a phase's end (a race's verdict resizing its plots) belongs to that phase,
    not to the next one started at once."""
    import time

    from PySide6.QtCore import QTimer

    from explorer.bench import ui as bench

    beat = bench._Heartbeat(5)
    seen = []

    def done() -> bool:  # the phase's end is seen; what it left to do comes a moment later
        if not seen:
            seen.append(True)
            QTimer.singleShot(10, lambda: time.sleep(0.12))
        return True

    phase = beat.measure(lambda: None, done)
    assert phase["completed"] and phase["max_gap_ms"] >= 120
    after = beat.measure(lambda: None, lambda: True)
    assert after["max_gap_ms"] < 100


def test_ui_bench_reports_launch_times_every_phase_and_the_forward_beside_the_clis(qapp):
    """Smoke test of `bench --suite ui` at a tiny size: the numbers are there and consistent (no
    timing is asserted)."""
    import argparse

    from explorer.bench import ui as bench

    # --engine belongs to the inference suite; the bench parser gives every suite all options.
    result = bench.run(argparse.Namespace(ui_startup_runs=1, ui_grad_size=32, ui_heartbeat_ms=5, engine="torch"))
    assert result["startup_caches"] == ["empty cache", "cached"]
    for launch, cache in enumerate(result["startup_caches"]):
        shown, diagram, parts, panel = (result[f"startup_{k}_s"][launch] for k in ("shown", "diagram", "parts", "panel"))
        assert None not in (shown, diagram, parts, panel) and 0 < shown <= diagram <= parts  # the diagram needs no torch
        assert result["startup_summary_s"][launch] > parts and panel > parts
        assert 0 < result["startup_gap_ms"][launch] <= (parts - shown) * 1000
        # The app froze torch's and the parts' objects out of the collector's scans once built.
        assert result["startup_frozen_objects"][launch] > 100_000
        # With the engine cached the first prediction comes from the cache before torch's parts;
        # with an empty cache it is the panel's, once the parts are built (the two lines the app
        # prints for it are read a moment apart, so their times need not be equal).
        first = result["startup_prediction_s"][launch]
        assert first < parts if cache == "cached" else parts < first <= panel
    phases = result["phases"]
    assert list(phases) == [
        "idle", "build parts + summary job", "weights (random)", "classification", "gradient run", "classification + gradient run",
        "insight: Grad-CAM + lesion sweep", "race (5 steps, 32 px)", "switch to resnet152 (random)",
    ]
    switch = result["switch_s"]  # the request until the classifier has ResNet-152, then its diagram's summary
    assert 0 < switch["classifier"] <= switch["diagram"] and result["switch_target_s"] == 2.0
    for name, phase in phases.items():
        assert phase["beats"] > 0 and phase["max_gap_ms"] >= phase["median_gap_ms"] > 0
        assert phase["completed"] or name == "idle"
    assert gc.get_freeze_count() == 0  # frozen during the phases as the app does, then let go: this process goes on
    assert len(result["forward_ms"]["app_panel"]) == 3 and all(ms > 0 for ms in result["forward_ms"]["cli"])
    engine, precision = result["forward_engine"].split()  # the panel ran the engine asked for, and the CLI side the same
    assert engine == "torch" and precision in ("fp32", "bf16")  # bf16 by default only where the CPU runs it natively
    text = bench.describe(result)
    assert "max gap" in text and "first prediction" in text and "classify command" in text
    assert f"({engine} {precision})" in text and "switch to resnet152" in text


def test_the_app_shows_its_window_with_the_network_in_the_first_frame(qtbot, settings):
    """run_app's window: the diagram is in place when the window shows, so the first paint has it
    (built after, it froze the fresh window 45-110 ms), and what is alive then is frozen out of the
    collector's scans; the parts come later, from start."""
    from explorer.ui.app import show_window

    at_show: list[bool] = []
    original = MainWindow.show

    def show(self):
        at_show.append(self.diagram is not None and self.centralWidget() is self.diagram)
        original(self)

    gc.unfreeze()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(MainWindow, "show", show)
        w = show_window(settings)
    frozen = gc.get_freeze_count()  # what lives as long as the process, out of the first look's collections
    gc.unfreeze()
    qtbot.addWidget(w)
    qtbot.waitExposed(w)
    assert at_show == [True] and w.diagram.isVisible() and w.classify is None and frozen > 10_000
    assert w.diagram.names()[:2] == ["stem", "layer1.0"]  # ResNet-50's blocks


def test_start_builds_the_parts_then_loads_weights_and_classifies(qtbot, settings, images):
    """The app's own launch path: part modules imported on a worker, parts built on the GUI thread,
    then the given weights and images."""
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    assert w.diagram is None
    with qtbot.waitSignal(w.parts_ready, timeout=TIMEOUT_MS):
        w.start([str(images["good"][0])], weights="random", device="cpu")
    assert w.diagram is not None and w.classify is not None
    qtbot.waitUntil(lambda: w.classify.pending() == 0 and "%" in w.classify.entry_texts()[0], timeout=TIMEOUT_MS)
    assert "untrained" in w.classify.entry_texts()[0]


def test_a_cached_engine_shows_the_first_prediction_before_the_parts_and_hands_over(qtbot, settings, images, tmp_path,
                                                                                   monkeypatch):
    """With the request's engine in the cache (here from a Classifier load, as a `classify` run
    leaves it), the launch shows the first image's prediction from the cache before torch's parts
    are built, keeps it until the panel has the same prediction of its own, then shows the panel."""
    from explorer.core.inference import quick

    monkeypatch.setenv(quick.ENV_VAR, str(tmp_path / "engine-cache"))
    path = str(images["good"][0])
    reference = Classifier("cpu", engine="auto")
    reference.load("random")  # what the window asks for below: the index now knows it
    expected = [t.label for t in reference.classify_path(path).top]
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    events: list[str] = []
    w.parts_ready.connect(lambda: events.append("parts"))
    w.start([path], weights="random", device="cpu")
    first = w.first_look
    first.predicted.connect(lambda ms: events.append("first"))
    qtbot.waitUntil(lambda: "parts" in events, timeout=TIMEOUT_MS)
    quick_top = first.results.shown_top()
    assert events == ["first", "parts"] and [label for label, _ in quick_top] == expected
    assert w.classify_dock.widget() is first  # still: the panel has no result yet
    qtbot.waitUntil(lambda: w.classify_dock.widget() is not first, timeout=TIMEOUT_MS)
    assert w.classify.pending() == 0 and w.classify.results.shown_top() == quick_top  # the same bars
