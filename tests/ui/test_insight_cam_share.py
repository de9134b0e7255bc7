"""The "Grad-CAM share" diagram overlay: choosing it colours the diagram's 17 blocks in the order of
the core's shares (cam_mass_shares on the same checkpoint and image), the colour bar names the metric
and the class, filling the Grad-CAM tab's class box with the top-1 computes nothing again, choosing
another class there recolours by that class, and without an image nothing is coloured.

The checkpoint is a torch.save'd random ResNet-50 with non-trivial BatchNorm statistics and a
sharpened head; images are 64x64 crops of a small Pillow picture."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from explorer.core.images import load_image, preprocess
from explorer.core.insight.gradcam import cam_mass_shares
from explorer.core.loading.labels import imagenet_classes
from explorer.core.loading.pipeline import load_weights
from explorer.core.network.blocks import residual_blocks
from explorer.core.network.model import ResNet50
from explorer.ui.common.switches import BlockSwitches
from explorer.ui.diagram.painting import overlay_colour
from explorer.ui.diagram.view import BlockDiagram
from explorer.ui.insight.panel import CAM_SHARE, InsightPanel
from support import lively_model

TIMEOUT_MS = 60_000
CROP = 64
RESIZE = round(CROP * 256 / 224)  # the checkpoint's transform (256/224), scaled to the crop

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "resnet50-lively3.pth"
    torch.save(lively_model(seed=3).state_dict(), path)
    return path


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    image = Image.new("RGB", (80, 72))
    image.putdata([((x * 11) % 256, (y * 3 + 2 * x) % 256, (x ^ y) % 256) for y in range(72) for x in range(80)])
    path = tmp_path_factory.mktemp("img") / "stripes.png"
    image.save(path)
    return path


@pytest.fixture(scope="module")
def reference(checkpoint, photo):
    model = ResNet50()
    load_weights(model, str(checkpoint))
    return model.eval(), preprocess(load_image(photo), RESIZE, CROP)


@pytest.fixture
def panel_and_diagram(qtbot, runner, checkpoint):
    panel = InsightPanel(runner, crop=CROP)
    diagram = BlockDiagram(BlockSwitches(residual_blocks()))
    qtbot.addWidget(panel)
    qtbot.addWidget(diagram)
    panel.overlay_changed.connect(diagram.set_overlay)  # as the main window wires them
    panel.resize(1000, 600)
    panel.show()
    panel.set_weights(str(checkpoint), "cpu")
    qtbot.waitUntil(panel.has_weights, timeout=TIMEOUT_MS)
    return panel, diagram


def assert_coloured_by(diagram: BlockDiagram, shares: dict[str, float]) -> None:
    """The diagram's overlay holds ``shares`` and each block's colour sits at its share's rank."""
    overlay = diagram.overlay()
    assert overlay.values == pytest.approx(shares, rel=1e-3, abs=1e-6)
    fractions = overlay.fractions()
    assert sorted(fractions, key=fractions.get) == sorted(shares, key=shares.get)
    for name in shares:
        assert diagram.item(name).overlay.name() == overlay_colour(fractions[name]).name()
    assert diagram.item("head").overlay is None  # no block output of its own: its stage colour stays
    assert diagram.colour_bar.isVisible() and diagram.colour_bar.label == overlay.label


def test_the_share_overlay_colours_blocks_in_the_order_of_the_cores_shares(qtbot, runner, panel_and_diagram, reference, photo):
    panel, diagram = panel_and_diagram
    model, x = reference
    names = imagenet_classes()
    panel.overlay_box.setCurrentIndex(panel.overlay_box.findData("cam-share"))
    assert diagram.overlay() is None  # no image yet: nothing to colour by
    panel.set_image("photo", photo.name, photo)
    qtbot.waitUntil(lambda: diagram.overlay() is not None, timeout=TIMEOUT_MS)
    expected = cam_mass_shares(model, x)
    assert len(set(expected.shares.values())) == 17 and sum(expected.shares.values()) == pytest.approx(1.0)
    assert_coloured_by(diagram, expected.shares)
    label = diagram.overlay().label
    assert "Grad-CAM share" in label and f"“{names[expected.class_index]}”" in label and photo.name in label

    # The Grad-CAM tab fills its class box with the top-1: the shares are already that class's.
    panel.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: panel.cam_result() is not None, timeout=TIMEOUT_MS)
    assert panel.cam.class_box.currentData() == expected.class_index
    panel.tabs.setCurrentIndex(0)  # any refresh now
    assert not panel.busy(CAM_SHARE)
    panel.tabs.setCurrentIndex(1)

    # Another class chosen there recolours the diagram by that class's shares.
    chosen = panel.cam_result().cam.top[3][0]
    panel.cam.class_box.setCurrentIndex(3)
    panel.cam.class_box.activated.emit(3)
    qtbot.waitUntil(lambda: panel.cam_shares_result().class_index == chosen, timeout=TIMEOUT_MS)
    other = cam_mass_shares(model, x, chosen)
    assert other.shares != pytest.approx(expected.shares, rel=1e-3)  # the class matters
    assert_coloured_by(diagram, other.shares)
    assert f"“{names[chosen]}”" in diagram.overlay().label

    panel.set_image(None)
    assert diagram.overlay() is None and not diagram.colour_bar.isVisible()
