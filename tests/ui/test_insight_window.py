"""The Insight dock in the whole window: it explains the image selected in the classification panel
with the classifier's weights, follows the diagram's selection (and moves it), colours the diagram by
the chosen metric in the metric's order (activation norms equal to the core's), "none" restores the
stage colours, and lesions and a sweep leave the classifier's predictions exactly as they were.
Nothing downloads: a torch.save'd checkpoint; 224x224 as the app runs it."""

from __future__ import annotations

import pytest
import torch
from PIL import Image
from PySide6.QtCore import QSettings

from explorer.core.images import load_image, preprocess
from explorer.core.insight.activations import ActivationCache
from explorer.core.loading.pipeline import load_weights
from explorer.core.network.blocks import residual_blocks
from explorer.core.network.model import ResNet50
from explorer.ui.common.overlay import BlockOverlay
from explorer.ui.common.switches import BlockSwitches
from explorer.ui.diagram.block_item import BlockItem
from explorer.ui.diagram.painting import overlay_colour
from explorer.ui.diagram.view import BlockDiagram
from explorer.ui.main_window import MainWindow

TIMEOUT_MS = 60_000

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "resnet50-seed4.pth"
    torch.save(ResNet50(seed=4).state_dict(), path)
    return path


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    image = Image.new("RGB", (120, 90))
    image.putdata([((x * 3) % 256, (y * 9) % 256, (x + y) % 256) for y in range(90) for x in range(120)])
    path = tmp_path_factory.mktemp("img") / "gradient.png"
    image.save(path)
    return path


@pytest.fixture
def window(qtbot, tmp_path, checkpoint, photo):
    w = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.resize(1300, 850)
    w.show()
    w.build_parts()
    w.actions["view.insight"].trigger()  # Ctrl+I: the dock comes to the front (it computes only when shown)
    assert w.insight_dock.isVisible() and w.insight.isVisible()
    with qtbot.waitSignal(w.classify.weights_loaded, timeout=TIMEOUT_MS):
        w.classify.load_weights(str(checkpoint))
    w.add_paths([str(photo)])
    qtbot.waitUntil(lambda: w.classify.pending() == 0 and w.insight.is_ready(), timeout=TIMEOUT_MS)
    return w


def shown_predictions(window: MainWindow) -> list[tuple[str, str]]:
    """The classification panel's top-5 for the selected image, as the user reads it."""
    return [(label.text(), bar.format()) for label, bar in zip(window.classify.results.class_labels, window.classify.results.class_bars)]


def test_lesions_leave_the_classifiers_predictions_unchanged(qtbot, window, photo):
    before_texts, before_top5 = window.classify.entry_texts(), shown_predictions(window)
    assert before_top5[0][0] and before_top5[0][1].endswith("%")
    insight = window.insight
    insight.tabs.setCurrentIndex(2)
    for block, kind in (("layer1.0", "residual"), ("layer4.2", "shortcut")):
        window.diagram.select(block)
        insight.lesions.kind_box.setCurrentIndex(insight.lesions.kind_box.findData(kind))
        qtbot.waitUntil(lambda: insight.lesion_result() is not None and insight.lesion_result().block == block, timeout=TIMEOUT_MS)
        assert insight.lesion_result().after != insight.lesion_result().before  # the lesion did something
    insight.sweep()
    qtbot.waitUntil(lambda: insight.sweep_result() is not None, timeout=TIMEOUT_MS)
    assert shown_predictions(window) == before_top5
    # Classifying the same file again after the lesions gives the same answer.
    window.add_paths([str(photo)])
    qtbot.waitUntil(lambda: window.classify.pending() == 0, timeout=TIMEOUT_MS)
    texts = window.classify.entry_texts()
    assert texts[1] == before_texts[0]
    assert shown_predictions(window) == before_top5


def test_the_dock_follows_the_diagram_and_moves_it(qtbot, window):
    window.diagram.select("layer3.4")
    assert window.insight.block() == "layer3.4"
    window.insight.block_box.setCurrentIndex(window.insight.block_box.findData("layer2.0"))
    assert window.diagram.selected() == "layer2.0" and window.inspector.shown()["Name"] == "layer2.0"
    window.diagram.select("head")  # no activation map: the dock keeps its block
    assert window.insight.block() == "layer2.0"


def test_overlay_colours_follow_the_activation_norms_and_none_restores_the_stages(qtbot, window, checkpoint, photo):
    insight, diagram = window.insight, window.diagram
    insight.overlay_box.setCurrentIndex(insight.overlay_box.findData("activation"))
    qtbot.waitUntil(lambda: diagram.overlay() is not None, timeout=TIMEOUT_MS)
    overlay = diagram.overlay()
    model = ResNet50()
    info = load_weights(model, str(checkpoint))
    expected = ActivationCache(model.eval()).norms(preprocess(load_image(photo), info.resize, info.crop))
    assert overlay.values == pytest.approx(expected, rel=1e-4)
    assert "activation norm" in overlay.label
    fractions = overlay.fractions()
    by_value = sorted(overlay.values, key=overlay.values.get)
    assert sorted(fractions, key=fractions.get) == by_value  # colour positions in the metric's order
    assert fractions[by_value[0]] == 0 and fractions[by_value[-1]] == 1
    for name in overlay.values:
        assert diagram.item(name).overlay.name() == overlay_colour(fractions[name]).name()
    assert diagram.item("head").overlay is None  # no activation map: its stage colour stays
    assert diagram.colour_bar.isVisible() and diagram.colour_bar.label == overlay.label
    insight.overlay_box.setCurrentIndex(insight.overlay_box.findData("none"))
    assert diagram.overlay() is None and not diagram.colour_bar.isVisible()
    assert all(diagram.item(name).overlay is None for name in diagram.block_names())


def test_an_overlay_equal_to_the_one_shown_repaints_nothing(qtbot, monkeypatch):
    # Insight clears its overlay for every new image; with none shown, that repainted every block.
    diagram = BlockDiagram(BlockSwitches(residual_blocks()))
    qtbot.addWidget(diagram)
    repainted: list[str] = []
    monkeypatch.setattr(BlockItem, "update", lambda self, *args: repainted.append(self.name))
    diagram.set_overlay(None)
    assert repainted == [] and not diagram.colour_bar.isVisible()
    diagram.set_overlay(BlockOverlay({"stem": 1.0, "head": 2.0}, "norm"))
    assert sorted(set(repainted)) == sorted(diagram.block_names())
    repainted.clear()
    diagram.set_overlay(BlockOverlay({"stem": 1.0, "head": 2.0}, "norm"))  # equal, another object
    assert repainted == [] and diagram.colour_bar.isVisible()
    diagram.set_overlay(None)
    assert sorted(set(repainted)) == sorted(diagram.block_names()) and not diagram.colour_bar.isVisible()


def test_a_log_scale_overlay_spans_decades_and_leaves_out_what_it_cannot_place(qtbot):
    diagram = BlockDiagram(BlockSwitches(residual_blocks()))
    qtbot.addWidget(diagram)
    overlay = BlockOverlay({"stem": 1e-20, "layer1.0": 1e-3, "layer4.2": 10.0, "head": 0.0}, "gradient norm", log_scale=True)
    diagram.set_overlay(overlay)
    fractions = overlay.fractions()
    assert fractions == pytest.approx({"stem": 0.0, "layer1.0": 17 / 21, "layer4.2": 1.0})  # log10: -20, -3, 1
    assert diagram.item("head").overlay is None and diagram.item("layer2.0").overlay is None
    assert diagram.item("layer1.0").overlay.name() == overlay_colour(17 / 21).name()
    assert (diagram.colour_bar.low, diagram.colour_bar.high) == (1e-20, 10.0) and diagram.colour_bar.log_scale
    diagram.set_overlay(None)
    assert diagram.item("layer4.2").overlay is None and not diagram.colour_bar.isVisible()
