"""Insight panel on its own: what each view shows equals the core's answer for the same checkpoint and
image (activation ranking, Grad-CAM blend, single lesion, sweep), browsing blocks reuses the cached
forward pass, the opacity slider re-blends without recomputing, the gradient-norm overlay is the
core's numbers combined per block, and bad input (no image, unreadable image, broken weights, the
stem as a lesion) says what is wrong.

Images are 64x64 crops (``crop=64``) of small Pillow pictures; the checkpoint is a torch.save'd
random ResNet-50 with non-trivial BatchNorm statistics. The reference runs in the test thread, so
float sums may differ from the worker's in the last bits: values are compared with a tolerance."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QEvent, QObject, Qt

from explorer.core.gradients import GradResult, LayerGrad
from explorer.core.images import load_image, preprocess
from explorer.core.insight.activations import capture_activations, top_channels
from explorer.core.insight.gradcam import grad_cam, network_view, overlay
from explorer.core.insight.lesion import Lesioner
from explorer.core.loading.labels import imagenet_classes
from explorer.core.loading.pipeline import load_weights
from explorer.core.network.model import ResNet50
from explorer.ui.insight.host import gradient_block_norms
from explorer.ui.insight.panel import ACTIVATIONS, CAM, InsightPanel

TIMEOUT_MS = 60_000
CROP = 64
RESIZE = round(CROP * 256 / 224)  # the checkpoint's transform (256/224), scaled to the crop

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    model = ResNet50(seed=11)
    generator = torch.Generator().manual_seed(11)
    for name, buffer in model.named_buffers():
        if name.endswith("running_mean"):
            buffer.copy_(0.1 * torch.randn(buffer.shape, generator=generator))
        elif name.endswith("running_var"):
            buffer.copy_(0.5 + torch.rand(buffer.shape, generator=generator))
    path = tmp_path_factory.mktemp("ckpt") / "resnet50-seed11.pth"
    torch.save(model.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    image = Image.new("RGB", (90, 70))
    image.putdata([((x * 7) % 256, (y * 5 + x) % 256, (x * y) % 256) for y in range(70) for x in range(90)])
    path = tmp_path_factory.mktemp("img") / "pattern.png"
    image.save(path)
    return path


@pytest.fixture(scope="module")
def reference(checkpoint, photo):
    """The checkpoint in a plain model and the photo as the panel prepares it (3, 64, 64)."""
    model = ResNet50()
    load_weights(model, str(checkpoint))
    return model.eval(), preprocess(load_image(photo), RESIZE, CROP)


@pytest.fixture
def panel(qtbot, runner, checkpoint, photo):
    p = InsightPanel(runner, crop=CROP)
    qtbot.addWidget(p)
    p.resize(1000, 600)
    p.show()
    p.set_weights(str(checkpoint), "cpu")
    p.set_image("photo", photo.name, photo)
    qtbot.waitUntil(p.is_ready, timeout=TIMEOUT_MS)
    return p


def test_a_shown_panel_builds_its_model_once_it_has_painted(qtbot, runner, checkpoint, monkeypatch):
    # Building the model took the interpreter lock from the dock's first paint: the load waits for it.
    import time

    from explorer.ui.insight.host import InsightHost

    events: list[str] = []
    load = InsightHost.load
    monkeypatch.setattr(InsightHost, "load", lambda self, *a, **k: events.append("load") or load(self, *a, **k))
    p = InsightPanel(runner, crop=CROP)
    qtbot.addWidget(p)
    p.show()
    qtbot.waitExposed(p)
    qtbot.wait(50)  # its first paints done
    watcher = PaintWatcher(events)
    p.installEventFilter(watcher)
    p.set_weights(str(checkpoint), "cpu")  # asks for a repaint (the "Preparing" line) and the load
    time.sleep(0.2)  # the GUI thread busy: no paint yet, and so no load (at once, it would have started)
    assert events == []
    qtbot.waitUntil(lambda: "load" in events, timeout=TIMEOUT_MS)
    assert events[0] == "paint"


class PaintWatcher(QObject):
    def __init__(self, events: list[str]) -> None:
        super().__init__()
        self.events = events

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Paint:
            self.events.append("paint")
        return False


def test_activation_grid_shows_the_cores_most_active_channels_and_browsing_reuses_the_forward(qtbot, panel, reference):
    model, x = reference
    maps = capture_activations(model, x)
    panel.activations.channels_spin.setValue(12)
    for block in ("layer2.1", "layer4.2", "stem"):
        panel.set_block(f"{block}.conv2" if block != "stem" else block)  # a layer selects its block
        qtbot.waitUntil(lambda: panel.activations_result() is not None and panel.activations_result().block == block, timeout=TIMEOUT_MS)
        expected = top_channels(maps[block], 12)
        shown = panel.activations.grid.shown()
        assert [c for c, _ in shown] == [c.channel for c in expected]
        assert [m for _, m in shown] == pytest.approx([c.mean for c in expected], rel=1e-4)
        assert [m for _, m in shown] == sorted((m for _, m in shown), reverse=True)
        assert len(panel.activations.grid.tiles) == 12
    assert panel.activations_result().forwards == 1  # three blocks, one forward pass
    qtbot.mouseClick(panel.activations.grid.tiles[3], Qt.MouseButton.LeftButton)
    assert panel.activations.grid.enlarged_caption.text().startswith(f"Channel {shown[3][0]} ")
    assert panel.activations.grid.tiles[3].isChecked() and not panel.activations.grid.tiles[0].isChecked()


def test_cam_overlay_equals_the_cores_blend_and_the_slider_does_not_recompute(qtbot, panel, reference, runner):
    model, x = reference
    panel.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: panel.cam_result() is not None, timeout=TIMEOUT_MS)
    first = panel.cam_result().cam
    assert panel.cam.class_box.count() == 5 and panel.cam.class_box.currentData() == first.top[0][0]
    # The user picks the third class and stage 3.
    panel.cam.stage_box.setCurrentIndex(panel.cam.stage_box.findData(3))
    panel.cam.class_box.setCurrentIndex(2)
    panel.cam.class_box.activated.emit(2)
    chosen = first.top[2][0]
    qtbot.waitUntil(lambda: panel.cam_result().cam.stage == 3 and panel.cam_result().cam.class_index == chosen, timeout=TIMEOUT_MS)
    shown = panel.cam_result()
    panel.cam.colormap_box.setCurrentText("inferno")
    panel.cam.opacity_slider.setValue(30)
    assert not panel.busy(CAM) and panel.cam_result() is shown  # re-blended, not recomputed
    expected_cam = grad_cam(model, x, 3, chosen)
    np.testing.assert_allclose(shown.cam.heatmap, expected_cam.heatmap, atol=1e-4)
    expected = np.asarray(overlay(network_view(x), expected_cam.heatmap, 0.3, "inferno"), dtype=np.int16)
    got = np.asarray(panel.cam_image(), dtype=np.int16)
    assert got.shape == (CROP, CROP, 3)
    assert np.abs(got - expected).max() <= 1  # the same blend up to the last bit of the heat map
    assert not panel.cam.cam_picture.pixmap().isNull()


def test_a_single_lesion_shows_the_cores_top5_before_and_after(qtbot, panel, reference):
    model, x = reference
    panel.set_block("layer3.2")
    panel.lesions.kind_box.setCurrentIndex(panel.lesions.kind_box.findData("shortcut"))
    panel.tabs.setCurrentIndex(2)
    qtbot.waitUntil(lambda: panel.lesion_result() is not None and panel.lesion_result().kind == "shortcut", timeout=TIMEOUT_MS)
    expected = Lesioner(model).lesion(x, "layer3.2", "shortcut")
    got = panel.lesion_result()
    assert got.block == "layer3.2"
    assert [c for c, _ in got.before] == [c for c, _ in expected.before]
    assert [c for c, _ in got.after] == [c for c, _ in expected.after]
    assert [p for _, p in got.after] == pytest.approx([p for _, p in expected.after], abs=1e-5)
    names = imagenet_classes()
    assert panel.lesions.top_table.column(0) == [f"{names[c]}  {p:.1%}" for c, p in got.before]
    assert panel.lesions.top_table.column(1)[0] == f"{names[expected.after[0][0]]}  {expected.after[0][1]:.1%}"
    # The stem has no shortcut to keep: the view says so instead of failing.
    panel.set_block("stem")
    assert panel.lesion_result() is None and "stem" in panel.lesions.lesion_label.text()


def test_the_sweep_chart_has_16_bars_equal_to_the_cores_drops(qtbot, panel, reference):
    model, x = reference
    panel.tabs.setCurrentIndex(2)
    qtbot.mouseClick(panel.lesions.sweep_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.sweep_result() is not None, timeout=TIMEOUT_MS)
    expected = Lesioner(model).sweep(x, "residual")
    assert len(panel.lesions.chart.heights) == 16
    assert panel.lesions.chart.names == [row.block for row in expected.blocks]
    assert panel.lesions.chart.heights == pytest.approx([row.drop for row in expected.blocks], abs=1e-5)
    assert panel.lesions.sweep_progress.value() == 1000


def test_the_sweep_chart_clears_to_its_caption_and_draws_again(qtbot):
    from explorer.core.insight.lesion import BlockDrop, Sweep
    from explorer.ui.insight.views import SweepChart

    chart = SweepChart()
    qtbot.addWidget(chart)
    title = chart.getPlotItem().titleLabel
    assert title.isVisible() and title.text == "Press Sweep to lesion each block in turn"
    sweep = Sweep("residual", 1, 0.9, [(1, 0.9)], [BlockDrop("layer1.0", "conv", 0.5, 0.4, [(1, 0.5)]),
                                                    BlockDrop("layer1.1", "identity", None, None, [], "no shortcut")])
    for _ in range(2):  # a sweep, then cleared twice (a new image, then another): the caption, no bars
        chart.set_sweep(sweep)
        assert chart.names == ["layer1.0", "layer1.1"] and chart.heights == [0.4, 0.0] and chart._bars in chart.items()
        assert not title.isVisible()
        chart.set_sweep(None)
        chart.set_sweep(None)
        assert chart.names == [] and chart.heights == [] and chart._bars is None
        assert title.isVisible() and title.text == "Press Sweep to lesion each block in turn"


def test_gradient_overlay_is_the_labs_norms_combined_per_block(qtbot, panel):
    layers = [LayerGrad("conv1", "stage1", 2.0, 1.0, False), LayerGrad("fc", "head", 0.5, 1.0, False)]
    for block, norms in (("layer1.0", (3.0, 4.0, 12.0)), ("layer1.1", (1.0, 1.0, 1.0))):
        layers += [LayerGrad(f"{block}.conv{k}", "stage2", n, 1.0, False) for k, n in zip((1, 2, 3), norms)]
    layers.append(LayerGrad("layer1.0.downsample.0", "stage2", 100.0, 1.0, True))  # a projection: not counted
    plain = GradResult(False, {}, 1.0, "", tuple(replace_norm(layer, 1e-9) for layer in layers), "cpu")
    residual = GradResult(True, {}, 1.0, "", tuple(layers), "cpu")
    got = []
    panel.overlay_changed.connect(got.append)
    panel.set_gradient_results([plain, residual])
    panel.overlay_box.setCurrentIndex(panel.overlay_box.findData("gradient"))
    overlay_ = got[-1]
    assert overlay_.values == pytest.approx({"stem": 2.0, "head": 0.5, "layer1.0": 13.0, "layer1.1": math.sqrt(3)})
    assert overlay_.log_scale and "gradient" in overlay_.label and "conv1–3" in overlay_.label
    assert gradient_block_norms([plain]) == pytest.approx({k: 1e-9 * (math.sqrt(3) if k.startswith("layer") else 1) for k in overlay_.values})
    panel.overlay_box.setCurrentIndex(panel.overlay_box.findData("none"))
    assert got[-1] is None


def replace_norm(layer: LayerGrad, value: float) -> LayerGrad:
    return LayerGrad(layer.name, layer.stage, value, layer.activation_std, layer.shortcut)


def test_empty_states_and_bad_inputs_say_what_is_wrong(qtbot, runner, checkpoint, tmp_path):
    p = InsightPanel(runner, crop=CROP)
    qtbot.addWidget(p)
    assert p.banner.text().startswith("Drop an image first")
    assert not p.lesions.sweep_button.isEnabled()
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a JPEG at all")
    p.set_image("broken", broken.name, broken)
    assert p.banner.text().startswith("Waiting for the weights")
    bad_weights = tmp_path / "resnet18.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, bad_weights)
    p.set_weights(str(bad_weights), "cpu")
    qtbot.wait(300)
    assert not p.has_weights() and "failed" not in p.message_label.text()  # hidden: the dock loads nothing yet
    p.show()
    qtbot.waitUntil(lambda: "failed" in p.message_label.text(), timeout=TIMEOUT_MS)
    assert p.message_label.text().startswith("Loading the weights failed: ") and "resnet18.pth" in p.message_label.text()
    # Nothing is loading any more: the banner stops waiting and says why and what to do.
    assert p.banner.text().startswith("No weights: ") and "resnet18.pth" in p.banner.text() and "Weights menu" in p.banner.text()
    p.hide()
    p.set_weights("random", "cpu")
    qtbot.wait(300)
    assert not p.busy(ACTIVATIONS) and not p.has_weights()  # hidden: nothing is loaded or computed for it
    p.show()
    qtbot.waitUntil(p.is_ready, timeout=TIMEOUT_MS)
    assert p.banner.text().startswith("Random weights: load trained weights")
    qtbot.waitUntil(lambda: "broken.jpg" in p.message_label.text(), timeout=TIMEOUT_MS)
    assert "failed" in p.message_label.text() and p.activations_result() is None
    p.set_image(None)
    assert p.banner.text().startswith("Drop an image first") and p.activations.grid.shown() == []
    # A failed load keeps the weights the panel had.
    p.set_weights(str(bad_weights), "cpu")
    qtbot.waitUntil(lambda: "failed" in p.message_label.text(), timeout=TIMEOUT_MS)
    assert p.has_weights() and p.message_label.text().endswith("Still showing random (untrained, seed 0).")
