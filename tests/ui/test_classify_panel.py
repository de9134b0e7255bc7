"""Classification panel: what it shows equals the core Classifier's answer for the same checkpoint;
bad inputs get their own error and the rest still classify; failed or cancelled weight loads keep the
current weights and say how to proceed; the untrained banner; device selector; settings.

Checkpoints are torch.save'd state_dicts in a temporary folder; downloads are simulated by replacing
explorer.core.loading.download.fetch (nothing here touches the network)."""

from __future__ import annotations

import threading
import time

import pytest
import torch
from PIL import Image
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QPushButton

from explorer.core.choices import ENGINES
from explorer.core.devices import available_devices
from explorer.core.inference import engines
from explorer.core.inference.classifier import Classifier
from explorer.core.loading import download
from explorer.ui.classify.host import ClassifierHost
from explorer.ui.classify.panel import ClassifyPanel
from explorer.ui.jobs import JobRunner
from support import checkpoint, head_model, lively_model, not_an_image, pattern_image, random_stats_model

TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Two different ResNet-50 checkpoints (He init, seeds 1 and 2) with non-trivial BN statistics."""
    folder = tmp_path_factory.mktemp("ckpt")
    return [checkpoint(folder / f"resnet50-seed{seed}.pth", random_stats_model(seed)) for seed in (1, 2)]


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Three small photos-to-be (JPEG, PNG, RGBA PNG), a text file posing as a JPEG, an empty folder."""
    folder = tmp_path_factory.mktemp("img")
    good = folder / "good"
    good.mkdir()
    for seed, (name, mode) in enumerate((("a.jpg", "RGB"), ("b.png", "RGB"), ("c.png", "RGBA"))):
        pattern_image(good / name, (80, 60), seed, mode)
    bad = not_an_image(folder / "broken.jpg")
    empty = folder / "empty"
    empty.mkdir()
    return {"good": good, "files": sorted(good.iterdir()), "bad": bad, "empty": empty, "missing": folder / "gone.png"}


def core_answer(checkpoint, images, engine: str = "auto", precision: str = "auto") -> dict:
    """The core Classifier's prediction (top-5, and the engine and precision that made it: both follow
    the CPU, see tests/conftest.py) for every good image."""
    classifier = Classifier("cpu", precision, engine=engine)
    classifier.load(str(checkpoint))
    return {p.name: classifier.classify_path(p) for p in images["files"]}


@pytest.fixture(scope="module")
def reference(checkpoints, images):
    """The core Classifier's predictions with auto engine and precision, under each checkpoint."""
    return {checkpoint: core_answer(checkpoint, images) for checkpoint in checkpoints}


@pytest.fixture(scope="module")
def auto_runs(reference, checkpoints) -> str:
    """What the panel runs unless told otherwise, as it says it: "onnxruntime fp32", "torch bf16", ..."""
    prediction = reference[checkpoints[0]]["a.jpg"]
    return f"{prediction.engine} {prediction.precision}"


def tops(predictions: dict) -> dict:
    return {name: p.top for name, p in predictions.items()}


@pytest.fixture
def panel(qtbot, runner):
    p = ClassifyPanel(runner)
    qtbot.addWidget(p)
    return p


def load(qtbot, panel: ClassifyPanel, source: str) -> dict:
    with qtbot.waitSignal(panel.weights_loaded, timeout=TIMEOUT_MS) as blocker:
        panel.load_weights(source)
    return blocker.args[0]


def wait_classified(qtbot, panel: ClassifyPanel) -> None:
    qtbot.waitUntil(lambda: panel.pending() == 0, timeout=TIMEOUT_MS)


def shown_top(panel: ClassifyPanel) -> list[tuple[str, str]]:
    return panel.results.shown_top()


def test_images_show_the_classifiers_top5(qtbot, panel, checkpoints, images, reference, auto_runs):
    payload = load(qtbot, panel, str(checkpoints[0]))
    assert payload["info"]["source"] == str(checkpoints[0]) and payload["info"]["trained"] is True
    panel.add_paths([str(images["good"])])  # a folder: its three images
    wait_classified(qtbot, panel)
    expected = tops(reference[checkpoints[0]])
    assert [t.split("\n")[0] for t in panel.entry_texts()] == ["a.jpg", "b.png", "c.png"]
    for row, name in enumerate(["a.jpg", "b.png", "c.png"]):
        panel.image_list.setCurrentRow(row)
        top = expected[name]
        assert shown_top(panel) == [(t.label, f"{t.prob:.1%}") for t in top]
        assert panel.results.class_bars[0].value() == round(1000 * top[0].prob)
        assert panel.entry_texts()[row].split("\n")[1] == f"{top[0].prob:.1%} {top[0].label}"  # as the bar says it
        assert panel.results.title_label.text() == name
        assert panel.results.details_label.text().startswith(f"cpu · {auto_runs} · ") and " ms (forward)" in panel.results.details_label.text()
        assert panel.results.preview.image() is not None and not panel.results.preview.pixmap().isNull() and not panel.image_list.item(row).icon().isNull()
    assert not panel.results.banner.isVisibleTo(panel)


def test_weight_statistics_are_those_of_the_checkpoint(qtbot, panel, checkpoints):
    stats = load(qtbot, panel, str(checkpoints[0]))["stats"]
    state = torch.load(checkpoints[0], weights_only=True)
    weighted = [k[: -len(".weight")] for k, v in state.items() if k.endswith(".weight") and v.dim() in (2, 4)]
    assert sorted(stats) == sorted(weighted) and len(stats) == 54
    for name in ("conv1", "layer3.2.conv2", "layer4.0.downsample.0", "fc"):
        w = state[f"{name}.weight"]
        assert stats[name] == pytest.approx((w.mean().item(), w.std().item()), rel=1e-5, abs=1e-7)


def test_bad_inputs_get_their_own_error_and_the_others_classify(qtbot, panel, checkpoints, images, reference):
    load(qtbot, panel, str(checkpoints[0]))
    files = images["files"]
    panel.add_paths([str(files[0]), str(images["bad"]), str(images["missing"]), str(images["empty"]), str(files[1])])
    wait_classified(qtbot, panel)
    texts = panel.entry_texts()
    assert len(texts) == 5
    assert texts[1] == "broken.jpg\n⚠ a text file, not an image"
    assert texts[2] == "gone.png\n⚠ no such file or folder"
    assert texts[3].startswith("empty\n⚠ folder contains no images")
    expected = tops(reference[checkpoints[0]])
    assert texts[0].endswith(f"{expected['a.jpg'][0].prob:.1%} {expected['a.jpg'][0].label}")
    assert texts[4].endswith(f"{expected['b.png'][0].prob:.1%} {expected['b.png'][0].label}")
    panel.image_list.setCurrentRow(1)
    assert panel.results.details_label.text() == f"{images['bad']}: a text file, not an image"
    assert shown_top(panel) == []
    assert panel.image_list.item(1).toolTip() == panel.results.details_label.text()


def test_random_weights_show_the_untrained_banner(qtbot, panel, checkpoints, images):
    payload = load(qtbot, panel, "random")
    assert payload["info"]["trained"] is False
    assert "untrained" in panel.weights_label.text()
    panel.add_paths([str(images["files"][0])])
    wait_classified(qtbot, panel)
    assert panel.results.banner.isVisibleTo(panel) and "Untrained" in panel.results.banner.text()
    assert panel.entry_texts()[0].endswith("(untrained)")
    load(qtbot, panel, str(checkpoints[0]))  # trained weights: the image is classified again
    wait_classified(qtbot, panel)
    assert not panel.results.banner.isVisibleTo(panel)
    assert not panel.entry_texts()[0].endswith("(untrained)")


def test_new_weights_reclassify_every_image(qtbot, panel, checkpoints, images, reference):
    load(qtbot, panel, str(checkpoints[0]))
    panel.add_paths([str(p) for p in images["files"]])
    wait_classified(qtbot, panel)
    load(qtbot, panel, str(checkpoints[1]))
    wait_classified(qtbot, panel)
    expected = tops(reference[checkpoints[1]])
    panel.image_list.setCurrentRow(2)
    assert shown_top(panel) == [(t.label, f"{t.prob:.1%}") for t in expected["c.png"]]


def test_the_replaced_classifier_is_freed_after_the_new_one_has_answered(qtbot, panel, monkeypatch, checkpoints, images):
    # Freeing an engine holds the allocator's locks for tens of ms (host.release_replaced): not while
    # the window takes the new weights, but once every image has its new prediction.
    calls: list[str] = []
    classify, release = ClassifierHost.classify, ClassifierHost.release_replaced
    monkeypatch.setattr(ClassifierHost, "classify", lambda self, *a, **k: calls.append("classify") or classify(self, *a, **k))
    monkeypatch.setattr(ClassifierHost, "release_replaced", lambda self: calls.append(f"release {release(self)}"))
    load(qtbot, panel, str(checkpoints[0]))
    panel.add_paths([str(p) for p in images["files"]])
    wait_classified(qtbot, panel)
    calls.clear()
    first = panel._host._classifier
    load(qtbot, panel, str(checkpoints[1]))
    qtbot.waitUntil(lambda: not panel._runner.running(), timeout=TIMEOUT_MS)
    assert calls == ["classify"] * len(images["files"]) + ["release 1"]
    assert panel._host._classifier is not first and panel._host._replaced == []


@pytest.mark.qt_log_ignore("propagateSizeHints")  # the offscreen platform's note on show()
def test_with_no_images_the_replaced_classifier_is_freed_once_the_window_has_painted(qtbot, runner, monkeypatch, checkpoints):
    # Nothing to classify again: the release would run beside the turn that draws the new network.
    released: list[int] = []
    release = ClassifierHost.release_replaced
    monkeypatch.setattr(ClassifierHost, "release_replaced", lambda self: released.append(release(self)))
    p = ClassifyPanel(runner)
    qtbot.addWidget(p)
    p.show()
    qtbot.waitExposed(p)
    load(qtbot, p, str(checkpoints[0]))
    qtbot.waitUntil(lambda: released == [0], timeout=TIMEOUT_MS)
    with qtbot.waitSignal(p.weights_loaded, timeout=TIMEOUT_MS):
        p.load_weights(str(checkpoints[1]))
    time.sleep(0.2)  # the GUI thread busy, as drawing the new network: no paint yet, and so no release
    assert released == [0]
    qtbot.waitUntil(lambda: released == [0, 1], timeout=TIMEOUT_MS)


def test_the_host_keeps_a_replaced_classifier_until_released(checkpoints):
    host = ClassifierHost()
    for token, path in enumerate(checkpoints[:2]):
        host.load(token, str(path), "cpu", lambda *a: None, lambda: False)
        host.commit(token)
    assert host.release_replaced() == 1  # the first one; the second is in service
    assert host.release_replaced() == 0
    assert host._classifier is not None and host._classifier.weights is not None


def test_a_failed_load_keeps_the_current_weights(qtbot, panel, checkpoints, images, tmp_path, auto_runs):
    status: list[str] = []
    load(qtbot, panel, str(checkpoints[0]))
    panel.add_paths([str(images["files"][0])])
    wait_classified(qtbot, panel)
    before = shown_top(panel)
    panel.status_changed.connect(status.append)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"\x00" * 100)
    with qtbot.waitSignal(panel.weights_failed, timeout=TIMEOUT_MS):
        panel.load_weights(str(junk))
    message = panel.message_label.text()
    assert message.startswith("Could not load weights:") and "junk.pth" in message
    assert message.endswith(f"Still using {checkpoints[0].name}.")
    assert status[-1] == f"Weights: {checkpoints[0].name} · ResNet-50 · device cpu · {auto_runs}"
    assert shown_top(panel) == before  # nothing was re-classified or lost
    # and the classifier still answers with the old weights
    panel.add_paths([str(images["files"][1])])
    wait_classified(qtbot, panel)
    assert "⚠" not in panel.entry_texts()[1]


def test_offline_download_says_how_to_proceed(qtbot, panel, monkeypatch, images, tmp_path):
    def offline(url, filename, sha256_prefix=None, progress=None, cancel=None, timeout=None):
        raise download.DownloadError("cannot resolve download.pytorch.org within 15 s (offline?)")

    monkeypatch.setattr(download, "fetch", offline)
    with qtbot.waitSignal(panel.weights_failed, timeout=TIMEOUT_MS):
        panel.load_weights("imagenet-v2")
    message = panel.message_label.text()
    assert "cannot download imagenet-v2" in message and "random" in message and ".pth" in message
    assert message.endswith("No weights are loaded.")
    assert panel.dialog() is None
    assert panel.weights_label.text().startswith("No weights loaded")
    # The app carries on: random weights work.
    load(qtbot, panel, "random")
    panel.add_paths([str(images["files"][0])])
    wait_classified(qtbot, panel)
    assert panel.entry_texts()[0].endswith("(untrained)")


def test_images_waiting_for_weights_that_fail_say_so_and_classify_once_weights_load(qtbot, panel, monkeypatch, images):
    def offline(url, filename, sha256_prefix=None, progress=None, cancel=None, timeout=None):
        raise download.DownloadError("cannot resolve download.pytorch.org within 15 s (offline?)")

    monkeypatch.setattr(download, "fetch", offline)
    with qtbot.waitSignal(panel.weights_failed, timeout=TIMEOUT_MS):
        panel.add_paths([str(images["files"][0])])  # the first image loads the chosen weights: ImageNet V2, offline
    # The row stops waiting for a load that is over: it says why nothing comes and what to do.
    assert panel.entry_texts()[0].startswith("a.jpg\nNo weights: cannot download") and "Weights menu" in panel.entry_texts()[0]
    load(qtbot, panel, "random")
    wait_classified(qtbot, panel)
    assert panel.entry_texts()[0].endswith("(untrained)")


def test_download_dialog_shows_progress_and_cancel_keeps_the_weights(qtbot, panel, monkeypatch, checkpoints, auto_runs):
    saw_cancel = threading.Event()

    def slow_fetch(url, filename, sha256_prefix=None, progress=None, cancel=None, timeout=None):
        total = 100 * 2**20
        for step in range(1, 2000):
            if cancel():
                saw_cancel.set()
                raise download.DownloadCancelled(f"download of {url} cancelled")
            progress(min(step * 2**20, total), total)
            time.sleep(0.01)
        raise AssertionError("the download was never cancelled")

    load(qtbot, panel, str(checkpoints[0]))
    monkeypatch.setattr(download, "fetch", slow_fetch)
    panel.load_weights("imagenet-v1")
    dialog = panel.dialog()
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.isVisible() and dialog.value() > 0, timeout=TIMEOUT_MS)
    assert dialog.labelText().startswith("Downloading imagenet-v1:") and "MiB" in dialog.labelText()
    qtbot.mouseClick(dialog.findChild(QPushButton), Qt.MouseButton.LeftButton)
    assert saw_cancel.wait(10)
    assert panel.dialog() is None
    assert panel.message_label.text().startswith(f"Download cancelled; still using {checkpoints[0].name}")
    qtbot.wait(100)
    assert panel.weights_label.text() == f"Weights: {checkpoints[0].name} · ResNet-50 · device cpu · {auto_runs}"
    assert not panel.loading()


def test_pasted_image_is_classified_like_the_same_pixels_from_a_file(qtbot, panel, checkpoints, tmp_path):
    load(qtbot, panel, str(checkpoints[0]))
    image = QImage(70, 50, QImage.Format.Format_RGB32)
    image.fill(QColor(200, 120, 30))
    panel.add_qimage(image, "pasted")
    panel.add_qimage(QImage(), "empty clipboard")
    wait_classified(qtbot, panel)
    path = tmp_path / "same.png"
    Image.new("RGB", (70, 50), (200, 120, 30)).save(path)
    classifier = Classifier("cpu")
    classifier.load(str(checkpoints[0]))
    top = classifier.classify_path(path).top
    panel.image_list.setCurrentRow(0)
    assert shown_top(panel) == [(t.label, f"{t.prob:.1%}") for t in top]
    assert panel.entry_texts()[1] == "empty clipboard\n⚠ the clipboard holds no image"


def test_device_selector_lists_the_devices_and_refuses_unknown_ones(qtbot, panel, checkpoints, auto_runs):
    assert [panel.device_box.itemData(i) for i in range(panel.device_box.count())] == available_devices()
    load(qtbot, panel, str(checkpoints[0]))
    panel.set_device("cuda:7" if "cuda:7" not in available_devices() else "nonsense")
    assert "is not available here" in panel.message_label.text()
    assert panel.device_box.currentData() == panel.device()
    # Choosing a device reloads the same weights there (on this machine: the CPU again).
    with qtbot.waitSignal(panel.weights_loaded, timeout=TIMEOUT_MS) as blocker:
        panel.device_box.setCurrentIndex(panel.device_box.findData("cpu"))
        panel.set_device("cpu")
    assert blocker.args[0]["info"]["source"] == str(checkpoints[0])
    assert panel.weights_label.text().endswith(f"device cpu · {auto_runs}")


@pytest.mark.cpu_kind
def test_the_engine_choice_reloads_off_the_gui_thread_is_shown_and_persisted(qtbot, runner, images, tmp_path):
    """Each engine shows what the core Classifier runs for that choice on this CPU (auto's precision
    fits a named engine: onnxruntime runs fp32 only; an engine that cannot run here falls back to
    torch), with the core's numbers. A ResNet-18: CI runs this as the other kind of CPU too, where
    bf16 may be emulated."""
    small = checkpoint(tmp_path / "resnet18.pth", lively_model(1, "resnet18"))
    a = ClassifyPanel(runner)
    qtbot.addWidget(a)
    load(qtbot, a, str(small))
    a.add_paths([str(images["files"][0])])
    wait_classified(qtbot, a)
    # Offered: what can run here; the tooltip names the rest and how to install them.
    offered = [name for name in ENGINES if engines.installed(name)]
    assert [a.engine_choice.engine_box.itemData(i) for i in range(a.engine_choice.engine_box.count())] == ["auto", *offered]
    for name in set(ENGINES) - set(offered):
        assert f"{name} (pip install {name})" in a.engine_choice.engine_box.toolTip()
    assert a.engine_choice.precision_box.itemData(0) == "auto"
    for name in offered:
        with qtbot.waitSignal(a.weights_loaded, timeout=TIMEOUT_MS):
            a.engine_choice.engine_box.setCurrentIndex(a.engine_choice.engine_box.findData(name))
        wait_classified(qtbot, a)
        expected = core_answer(small, images, engine=name)[images["files"][0].name]
        runs = f"{expected.engine} {expected.precision}"
        if name == "onnxruntime":
            assert expected.precision == "fp32"  # auto's precision fits the engine, whatever the CPU
        assert a.weights_label.text().endswith(f"· {runs}")
        assert a.results.details_label.text().startswith(f"cpu · {runs} · ")
        assert (a.predictions()[0].engine, a.predictions()[0].precision) == (expected.engine, expected.precision)
        assert shown_top(a) == [(t.label, f"{t.prob:.1%}") for t in expected.top]
    a.engine_choice.precision_box.setCurrentIndex(a.engine_choice.precision_box.findData("fp32"))
    qtbot.waitUntil(lambda: not a.loading(), timeout=TIMEOUT_MS)
    settings_path = str(tmp_path / "s.ini")
    a.save_settings(QSettings(settings_path, QSettings.Format.IniFormat))
    b = ClassifyPanel(runner)
    qtbot.addWidget(b)
    with qtbot.waitSignal(b.weights_loaded, timeout=TIMEOUT_MS) as blocker:
        b.restore_settings(QSettings(settings_path, QSettings.Format.IniFormat))
    assert (b.engine_choice.engine(), b.engine_choice.precision()) == (offered[-1], "fp32")
    assert blocker.args[0]["info"]["source"] == str(small)
    assert b.weights_label.text().endswith(f"· {offered[-1]} fp32")


def test_a_precision_asked_for_by_name_says_when_it_is_dropped_auto_does_not(qtbot, runner, native_bf16, images, tmp_path):
    """As on a CPU with native bf16, whatever this one is: the precision box offers bf16; auto drops
    it silently where the sample photos lose their top-5, bf16 chosen by name says so, untrained
    weights keep it unchecked, and the labels always say what runs."""
    crowded = checkpoint(tmp_path / "crowded.pth", head_model(1 + torch.arange(1000.0) * 1e-5))  # ties in bf16
    panel = ClassifyPanel(runner)
    qtbot.addWidget(panel)
    box = panel.engine_choice.precision_box
    assert [box.itemData(i) for i in range(box.count())] == ["auto", "fp32", "bf16"]
    engine_box = panel.engine_choice.engine_box
    engine_box.setCurrentIndex(engine_box.findData("torch"))  # it rounds the logits to bf16; OpenVINO's last sums stay fp32
    fp32 = "torch fp32"
    load(qtbot, panel, str(crowded))
    assert panel.message_label.isHidden() and panel.weights_label.text().endswith(f"· {fp32}")
    with qtbot.waitSignal(panel.weights_loaded, timeout=TIMEOUT_MS):
        box.setCurrentIndex(box.findData("bf16"))
    assert panel.message_label.text() == "bf16 changed the top-5 on the sample photos; using fp32 instead"
    panel.add_paths([str(images["files"][0])])
    wait_classified(qtbot, panel)
    assert panel.weights_label.text().endswith(f"· {fp32}") and panel.results.details_label.text().startswith(f"cpu · {fp32} · ")
    for precision in ("bf16", "auto"):  # random weights: near ties, no check, bf16 stays
        box.setCurrentIndex(box.findData(precision))
        qtbot.waitUntil(lambda: not panel.loading(), timeout=TIMEOUT_MS)
        load(qtbot, panel, "random")
        wait_classified(qtbot, panel)
        assert panel.message_label.isHidden() and panel.predictions()[0].precision == "bf16"
        assert panel.weights_label.text().endswith("· torch bf16")


def test_settings_round_trip_restores_weights_and_device(qtbot, runner, checkpoints, tmp_path):
    settings_path = str(tmp_path / "s.ini")
    a = ClassifyPanel(runner)
    qtbot.addWidget(a)
    load(qtbot, a, str(checkpoints[1]))
    a.save_settings(QSettings(settings_path, QSettings.Format.IniFormat))

    b = ClassifyPanel(runner)
    qtbot.addWidget(b)
    with qtbot.waitSignal(b.weights_loaded, timeout=TIMEOUT_MS) as blocker:
        b.restore_settings(QSettings(settings_path, QSettings.Format.IniFormat))
    assert blocker.args[0]["info"]["source"] == str(checkpoints[1])
    assert b.device_box.currentData() == "cpu"


def test_shutdown_during_classification_exits_cleanly(qtbot, checkpoints, images):
    runner = JobRunner()
    panel = ClassifyPanel(runner)
    qtbot.addWidget(panel)
    load(qtbot, panel, str(checkpoints[0]))
    panel.add_paths([str(p) for p in images["files"]] * 3)
    assert panel.pending() == 9
    assert runner.shutdown(30_000)
    qtbot.wait(100)
    assert panel.pending() > 0  # queued jobs were dropped, not run; nothing crashed


def test_a_download_cancelled_after_it_finished_is_never_used(qtbot, panel, monkeypatch, checkpoints, images, reference, auto_runs):
    """The user cancels while the worker is completing the load: the GUI drops the result, and the
    classifier must not switch to those weights behind its back."""
    load(qtbot, panel, str(checkpoints[0]))
    monkeypatch.setattr(download, "fetch", lambda url, filename, *args, **kwargs: checkpoints[1])
    done = threading.Event()
    real_load = ClassifierHost.load

    def load_then_signal(self, *args, **kwargs):
        result = real_load(self, *args, **kwargs)
        done.set()
        return result

    monkeypatch.setattr(ClassifierHost, "load", load_then_signal)
    panel.load_weights("imagenet-v1")
    dialog = panel.dialog()
    assert done.wait(60)  # finished on the worker; its result waits in the GUI's event queue
    dialog.canceled.emit()  # the user presses Cancel now
    qtbot.wait(200)
    assert panel.weights_label.text() == f"Weights: {checkpoints[0].name} · ResNet-50 · device cpu · {auto_runs}"
    panel.add_paths([str(images["files"][2])])
    wait_classified(qtbot, panel)
    top = reference[checkpoints[0]]["c.png"].top
    assert shown_top(panel) == [(t.label, f"{t.prob:.1%}") for t in top]
