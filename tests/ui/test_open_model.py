"""Opening any ResNet in the window (issue 12): File > Open model…, a checkpoint dropped with images
beside it, the recent models list, the Network menu; the diagram, the lab, Insight, the title and
the class names follow the network; a file that is no model is refused and the old network stays.
Nothing downloads: checkpoints are torch.save'd state dicts in tmp_path."""

from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import QSettings
from test_main_window import drop

from explorer.core.inference.classifier import Classifier
from explorer.core.loading import download
from explorer.ui.classify.model_menus import RECENT_KEY, ModelMenus
from explorer.ui.common import dialogs
from explorer.ui.main_window import MainWindow
from support import checkpoint, lively_model, pattern_image

TIMEOUT_MS = 120_000
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")
LABELS = [f"flower {i}" for i in range(10)]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A ResNet-18 with a fine-tuned 10-class head and its labels.txt, and a broken .pth."""
    folder = tmp_path_factory.mktemp("models")
    model = lively_model(seed=4, arch="resnet18")
    model.fc = torch.nn.Linear(512, 10)
    tuned = folder / "flowers"
    tuned.mkdir()
    (tuned / "labels.txt").write_text("\n".join(LABELS) + "\n")
    broken = folder / "broken.pth"
    broken.write_bytes(b"not a checkpoint at all")
    return {"tuned": checkpoint(tuned / "resnet18-flowers.pth", model), "broken": broken}


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings, monkeypatch):
    def offline(*args, **kwargs):
        raise download.DownloadError("tests never download")

    monkeypatch.setattr(download, "fetch", offline)
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    w.build_parts()
    qtbot.waitExposed(w)
    qtbot.waitUntil(w.diagram.has_summary, timeout=TIMEOUT_MS)
    w.gradient.settings.set(size=32, batch=2)
    return w


def settle(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.runner.running(), timeout=TIMEOUT_MS)


def test_open_model_rebuilds_every_part_for_a_fine_tuned_resnet18(qtbot, window, models, monkeypatch, tmp_path):
    monkeypatch.setattr(dialogs, "open_checkpoint", lambda parent, title: str(models["tuned"]))
    assert window.model_menus.open_action.shortcut().toString() == "Ctrl+Shift+O"
    with qtbot.waitSignal(window.classify.weights_loaded, timeout=TIMEOUT_MS):
        window.model_menus.open_action.trigger()
    assert window.network() == ("resnet18", 10)
    assert window.windowTitle().startswith("ResNet-18")
    assert window.classify.weights_label.text().startswith(  # then the engine and precision in use
        f"Weights: resnet18-flowers.pth · ResNet-18, 10 classes · device {window.classify.device()} · ")
    qtbot.waitUntil(window.diagram.has_summary, timeout=TIMEOUT_MS)
    names = window.diagram.block_names()
    assert names == ["stem", *(f"layer{s}.{i}" for s in range(1, 5) for i in range(2)), "head"]
    first = window.diagram.item("layer1.0")  # 64 channels at stride 1: no projection in ResNet-18
    assert first.kind == "identity" and "identity block of two 3×3 convolutions" in first.toolTip()
    assert window.diagram.item("layer2.0").kind == "conv"
    assert "basic blocks (two 3x3 convolutions)" in window.statusBar().currentMessage()
    assert window.diagram.folded() == set()
    assert window.switches.blocks() == tuple(names[1:-1])
    assert window.gradient.settings.values.arch == "resnet18"

    photo = pattern_image(tmp_path / "photo.png", (80, 60), 2)
    window.add_paths([str(photo)])
    qtbot.waitUntil(lambda: window.classify.pending() == 0, timeout=TIMEOUT_MS)
    reference = Classifier("cpu")
    reference.load(str(models["tuned"]))
    [shown] = window.classify.predictions()
    expected = reference.classify_path(photo)
    assert [t.label for t in shown.top] == [t.label for t in expected.top] and shown.top[0].label in LABELS

    with qtbot.waitSignal(window.gradient.run_finished, timeout=TIMEOUT_MS) as run:
        window.gradient.run()
    assert {r.config["arch"] for r in run.args[0]} == {"resnet18"}
    assert len([layer for layer in run.args[0][0].layers if not layer.shortcut]) == 18

    window.actions["view.insight"].trigger()
    qtbot.waitUntil(lambda: window.insight.has_weights() and not window.runner.running(), timeout=TIMEOUT_MS)
    box = window.insight.block_box
    assert [box.itemData(i) for i in range(box.count())] == names[:-1]
    assert window.insight.lesions.sweep_button.text() == "S&weep all 8 blocks"
    window.diagram.select("layer4.1")
    assert window.insight.block() == "layer4.1"
    window.insight.tabs.setCurrentIndex(1)  # Grad-CAM: the class names are the checkpoint's labels
    qtbot.waitUntil(lambda: window.insight.cam_result() is not None and not window.runner.running(), timeout=TIMEOUT_MS)
    classes = [window.insight.cam.class_box.itemText(i) for i in range(window.insight.cam.class_box.count())]
    assert classes and all(text.rsplit(" (", 1)[0] in LABELS for text in classes)


def test_a_dropped_checkpoint_opens_and_the_images_beside_it_classify_with_it(qtbot, window, models, tmp_path):
    photo = pattern_image(tmp_path / "beside.png", (72, 56), 1)
    with qtbot.waitSignal(window.classify.weights_loaded, timeout=TIMEOUT_MS):
        drop(window.diagram.viewport(), [models["tuned"], photo])
    assert window.network() == ("resnet18", 10)
    qtbot.waitUntil(lambda: window.classify.pending() == 0, timeout=TIMEOUT_MS)
    [prediction] = window.classify.predictions()
    assert prediction.top[0].label in LABELS
    assert window.classify.entry_texts()[0].startswith("beside.png")


def test_a_bad_model_file_is_refused_in_one_line_and_the_old_network_stays(qtbot, window, models, tmp_path):
    with qtbot.waitSignal(window.classify.weights_loaded, timeout=TIMEOUT_MS):
        window.classify.load_weights(str(models["tuned"]))
    qtbot.waitUntil(window.diagram.has_summary, timeout=TIMEOUT_MS)
    for bad in (models["broken"], tmp_path / "missing.safetensors"):
        with qtbot.waitSignal(window.classify.weights_failed, timeout=TIMEOUT_MS) as failed:
            drop(window.diagram.viewport(), [bad])
        message = failed.args[0]
        assert bad.name in message and "\n" not in message
        assert window.network() == ("resnet18", 10) and window.windowTitle().startswith("ResNet-18")
        assert len(window.diagram.block_names()) == 10
        assert "Still using" in window.classify.message_label.text()
    assert window.model_menus.recent.paths == [str(models["tuned"])]  # a refused file is not recent


def test_recent_models_persist_and_a_vanished_file_is_dropped_with_a_notice(qtbot, window, models, settings, tmp_path):
    assert not window.model_menus.recent_menu.isEnabled()
    copy = tmp_path / "copy-of-resnet18.pth"
    copy.write_bytes(models["tuned"].read_bytes())
    for path in (models["tuned"], copy):
        with qtbot.waitSignal(window.classify.weights_loaded, timeout=TIMEOUT_MS):
            window.classify.load_weights(str(path))
    assert window.model_menus.recent.paths == [str(copy), str(models["tuned"])]
    entries = [a for a in window.model_menus.recent_menu.actions() if not a.isSeparator()]
    assert [a.text() for a in entries] == [copy.name, models["tuned"].name, "&Clear the list"]
    again = ModelMenus(settings, window)  # what the next session reads
    assert again.recent.paths == window.model_menus.recent.paths
    assert settings.value(RECENT_KEY) == [str(copy), str(models["tuned"])]

    with qtbot.waitSignal(window.classify.weights_loaded, timeout=TIMEOUT_MS):
        entries[1].trigger()  # reopen the older one
    assert window.classify.weights_menu.checked() == str(models["tuned"])
    copy.unlink()
    entries = [a for a in window.model_menus.recent_menu.actions() if not a.isSeparator()]
    with qtbot.assertNotEmitted(window.classify.weights_loaded, wait=200):
        entries[1].trigger()
    message = window.statusBar().currentMessage()
    assert copy.name in message and "removed from the recent models" in message
    assert window.model_menus.recent.paths == [str(models["tuned"])]
    [a for a in window.model_menus.recent_menu.actions() if a.text() == "&Clear the list"][0].trigger()
    assert window.model_menus.recent.paths == [] and not window.model_menus.recent_menu.isEnabled()


def test_the_network_menu_opens_resnet152_folded_and_back_to_resnet50(qtbot, window):
    menus = window.model_menus
    assert menus.network_menu.isEnabled()
    with qtbot.waitSignal(window.classify.weights_loaded, timeout=TIMEOUT_MS) as loaded:
        menus.network_actions[("resnet152", "random")].trigger()
    assert loaded.args[0]["info"]["arch"] == "resnet152" and not loaded.args[0]["info"]["trained"]
    assert window.network() == ("resnet152", 1000) and window.windowTitle().startswith("ResNet-152")
    qtbot.waitUntil(window.diagram.has_summary, timeout=TIMEOUT_MS)
    assert len(window.diagram.block_names()) == 52
    assert window.diagram.folded() == {"stage3", "stage4"}  # 8 and 36 blocks; 3 stay unfolded
    fold = window.diagram.item("layer3.fold")
    assert fold.isVisible() and fold.lines[0] == "×35" and not window.diagram.item("layer3.7").isVisible()
    # Weights named for another member are refused by the core, and the network stays.
    with qtbot.waitSignal(window.classify.weights_failed, timeout=TIMEOUT_MS) as failed:
        menus.network_actions[("resnet18", "resnet18-imagenet-v1")].trigger()
    assert "tests never download" in failed.args[0] and window.network() == ("resnet152", 1000)
    # Random from the Weights menu keeps the member in use.
    with qtbot.waitSignal(window.classify.weights_loaded, timeout=TIMEOUT_MS) as loaded:
        window.classify.weights_menu.source_actions["random"].trigger()
    assert loaded.args[0]["info"]["arch"] == "resnet152"
    with qtbot.waitSignal(window.classify.weights_loaded, timeout=TIMEOUT_MS):
        menus.network_actions[("resnet50", "random")].trigger()
    qtbot.waitUntil(window.diagram.has_summary, timeout=TIMEOUT_MS)
    assert window.network() == ("resnet50", 1000) and len(window.diagram.block_names()) == 18
    assert window.diagram.folded() == set() and window.gradient.settings.values.arch == "resnet50"
    settle(qtbot, window)


def test_a_model_file_on_the_command_line_opens_its_network(qtbot, settings, models, tmp_path):
    """What the .desktop file's ``Exec=resnet-explorer %F`` does with a checkpoint and a photo."""
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    photo = pattern_image(tmp_path / "cli.png", (64, 48), 3)
    with qtbot.waitSignal(w.parts_ready, timeout=TIMEOUT_MS):
        w.start([str(models["tuned"]), str(photo)], weights="random", device="cpu")
    qtbot.waitUntil(lambda: w.network() == ("resnet18", 10) and w.classify.pending() == 0, timeout=TIMEOUT_MS)
    assert len(w.classify.entry_texts()) == 1 and w.classify.predictions()[0].top[0].label in LABELS


def test_the_network_comes_back_at_the_next_start(qtbot, settings):
    first = MainWindow(settings)
    qtbot.addWidget(first)
    first.build_parts()
    with qtbot.waitSignal(first.classify.weights_loaded, timeout=TIMEOUT_MS):
        first.model_menus.network_actions[("resnet34", "random")].trigger()
    first.close()
    second = MainWindow(settings)
    qtbot.addWidget(second)
    second._pending_start = ([], None, None)  # what start() does, without its worker-side import
    with qtbot.waitSignal(second.parts_ready, timeout=TIMEOUT_MS):
        second.build_parts()
    qtbot.waitUntil(lambda: second.network()[0] == "resnet34", timeout=TIMEOUT_MS)
    assert second.windowTitle().startswith("ResNet-34")
    second.close()


def test_the_network_menu_opens_a_cifar_resnet_in_three_stages(qtbot, window):
    """He et al.'s ResNet-56 (random weights: none are published) in the diagram, the summary at its
    32x32 with 10 classes, and the gradient lab following it."""
    with qtbot.waitSignal(window.classify.weights_loaded, timeout=TIMEOUT_MS) as loaded:
        window.model_menus.network_actions[("resnet56", "random")].trigger()
    assert (loaded.args[0]["info"]["arch"], loaded.args[0]["info"]["num_classes"]) == ("resnet56", 10)
    assert window.network() == ("resnet56", 10) and window.windowTitle().startswith("ResNet-56")
    qtbot.waitUntil(window.diagram.has_summary, timeout=TIMEOUT_MS)
    assert len(window.diagram.block_names()) == 29 and window.diagram.folded() == {"stage2", "stage3", "stage4"}
    assert window.gradient.settings.values.arch == "resnet56" and window.gradient.config().num_classes == 10
    assert "32×32" in window.diagram.item("layer1.0").toolTip()
    with qtbot.waitSignal(window.classify.weights_loaded, timeout=TIMEOUT_MS):
        window.model_menus.network_actions[("resnet50", "random")].trigger()
    qtbot.waitUntil(lambda: window.diagram.has_summary() and len(window.diagram.block_names()) == 18, timeout=TIMEOUT_MS)
    settle(qtbot, window)
