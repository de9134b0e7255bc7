"""The Weights menu and its dialogs follow the loaded network (issue 18): with ResNet-18 loaded they
offer and name ResNet-18's ImageNet weights, with ResNet-50 its own; the entry in use is checked,
under any of its names; the window's Network menu checks the network and weights in use.

Driven through the real panel, menu and window; nothing downloads (``download.fetch`` answers with a
checkpoint made in tmp_path)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from explorer.core.loading import download
from explorer.core.loading.sources import NAMED_WEIGHTS
from explorer.ui.classify.panel import ClassifyPanel
from explorer.ui.common import dialogs
from explorer.ui.main_window import MainWindow
from support import checkpoint, lively_model

TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("weights")
    return {arch: checkpoint(folder / f"{arch}.pth", lively_model(3, arch)) for arch in ("resnet18", "resnet50")}


def entries(menu) -> list[tuple[str, str]]:
    """The named entries as the menu shows them, in order: (source, text)."""
    return [(a.data(), a.text()) for a in menu.actions() if a in menu.source_actions.values()]


def test_the_weights_menu_and_its_dialogs_follow_the_loaded_network(qtbot, runner, files, monkeypatch):
    panel = ClassifyPanel(runner)
    qtbot.addWidget(panel)
    menu = panel.weights_menu
    assert [source for source, _ in entries(menu)] == ["imagenet-v2", "imagenet-v1", "random"]
    with qtbot.waitSignal(panel.weights_loaded, timeout=TIMEOUT_MS):
        panel.load_weights("random", "resnet18")
    assert entries(menu) == [
        ("resnet18-imagenet-v1", NAMED_WEIGHTS["resnet18-imagenet-v1"].label),
        ("random", "ResNet-18, random initialisation (untrained)"),
    ]
    assert entries(menu)[0][1].startswith("ResNet-18 ImageNet") and menu.checked() == "random"
    asked: list[str] = []
    monkeypatch.setattr(dialogs, "open_checkpoint", lambda parent, title: asked.append(title) or "")
    monkeypatch.setattr(dialogs, "ask_url", lambda parent, title, label: asked.append(f"{title} | {label}") or "")
    menu.file_action.trigger()
    menu.url_action.trigger()
    assert asked[0] == "Load ResNet-18 weights (a checkpoint of another member switches to it)"
    assert asked[1].startswith("Load ResNet-18 weights from a URL | ") and "resnet18-f37072fd.pth" in asked[1]

    monkeypatch.setattr(download, "fetch", lambda url, filename, *args, **kwargs: files["resnet18"])
    with qtbot.waitSignal(panel.weights_loaded, timeout=TIMEOUT_MS) as loaded:
        menu.source_actions["resnet18-imagenet-v1"].trigger()
    assert loaded.args[0]["info"]["arch"] == "resnet18" and menu.checked() == "resnet18-imagenet-v1"
    assert panel.message_label.text() == ""  # "Loading ResNet-18 ImageNet V1 …" was replaced by the result

    with qtbot.waitSignal(panel.weights_loaded, timeout=TIMEOUT_MS):  # a file decides its network
        panel.load_weights(str(files["resnet50"]))
    assert [source for source, _ in entries(menu)] == ["imagenet-v2", "imagenet-v1", "random"]
    assert entries(menu)[0][1] == NAMED_WEIGHTS["resnet50-imagenet-v2"].label and menu.checked() == str(files["resnet50"])
    assert menu.file_in_use.isVisible() and menu.file_in_use.text() == "resnet50.pth (in use)"
    menu.file_action.trigger()
    assert asked[-1].startswith("Load ResNet-50 weights")
    monkeypatch.setattr(download, "fetch", lambda url, filename, *args, **kwargs: files["resnet50"])
    with qtbot.waitSignal(panel.weights_loaded, timeout=TIMEOUT_MS):  # ResNet-50's under its long name
        panel.load_weights("resnet50-imagenet-v2")
    assert menu.checked() == "imagenet-v2" and not menu.file_in_use.isVisible()


def test_the_network_menu_checks_the_network_and_weights_in_use(qtbot, files, tmp_path, monkeypatch):
    window = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.build_parts()
    actions = window.model_menus.network_actions

    def checked() -> list[tuple[str, str]]:
        return [key for key, action in actions.items() if action.isChecked()]

    with qtbot.waitSignal(window.classify.weights_loaded, timeout=TIMEOUT_MS):
        actions[("resnet18", "random")].trigger()
    assert checked() == [("resnet18", "random")] and window.classify.weights_menu.checked() == "random"
    monkeypatch.setattr(download, "fetch", lambda url, filename, *args, **kwargs: files["resnet50"])
    with qtbot.waitSignal(window.classify.weights_loaded, timeout=TIMEOUT_MS):
        window.classify.weights_menu.source_actions["random"].trigger()  # random of the member in use
    assert checked() == [("resnet18", "random")]
    with qtbot.waitSignal(window.classify.weights_loaded, timeout=TIMEOUT_MS):
        window.classify.load_weights("imagenet-v1")
    assert checked() == [("resnet50", "resnet50-imagenet-v1")] and window.classify.weights_menu.checked() == "imagenet-v1"
    with qtbot.waitSignal(window.classify.weights_loaded, timeout=TIMEOUT_MS):
        window.classify.load_weights(str(files["resnet18"]))
    assert checked() == []  # a file is no entry of the Network menu
    qtbot.waitUntil(lambda: not window.runner.running(), timeout=TIMEOUT_MS)
