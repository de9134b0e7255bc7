"""The inspector shows exactly the numbers of `resnet-explorer summary --json`, for blocks clicked in
the diagram and for single layers; weight statistics appear once weights are loaded."""

from __future__ import annotations

import json

import pytest
import torch
from PySide6.QtCore import QPointF, Qt

from explorer.cli import main as cli_main
from explorer.core.network.blocks import residual_blocks
from explorer.core.network.model import ResNet50
from explorer.core.network.summary import summarize
from explorer.ui.common.switches import BlockSwitches
from explorer.ui.diagram.view import BlockDiagram
from explorer.ui.inspector.panel import Inspector


@pytest.fixture(scope="module")
def cli_summary() -> dict:
    """The summary as the command line prints it (a separate run from the one the views get)."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli_main(["summary", "--json"]) == 0
    return json.loads(out.getvalue())


@pytest.fixture(scope="module")
def summary():
    return summarize()


def _cli_items(cli: dict) -> dict[str, dict]:
    items = {}
    for stage in cli["stages"]:
        for block in stage["blocks"]:
            items[block["name"]] = block
            for layer in block["layers"]:
                items[layer["name"]] = layer
    items["head"] = cli["head"]
    items.update({layer["name"]: layer for layer in cli["head"]["layers"]})
    return items


def _shape(shape: list[int]) -> str:
    return "×".join(map(str, shape))


@pytest.fixture
def inspector(qtbot, summary):
    widget = Inspector()
    qtbot.addWidget(widget)
    widget.set_summary(summary)
    return widget


def test_clicking_a_block_fills_the_inspector_with_the_summary_numbers(qtbot, summary, cli_summary):
    diagram, inspector = BlockDiagram(BlockSwitches(residual_blocks())), Inspector()
    qtbot.addWidget(diagram)
    qtbot.addWidget(inspector)
    diagram.resize(1200, 700)
    diagram.set_summary(summary)
    inspector.set_summary(summary)
    diagram.block_selected.connect(inspector.show_item)
    diagram.show()
    qtbot.waitExposed(diagram)
    cli = _cli_items(cli_summary)
    for name in ("stem", "layer2.0", "layer3.4", "layer4.2"):
        pos = diagram.mapFromScene(diagram.item(name).mapToScene(QPointF(20, 16)))
        with qtbot.waitSignal(diagram.block_selected):
            qtbot.mouseClick(diagram.viewport(), Qt.MouseButton.LeftButton, pos=pos)
        shown, expected = inspector.shown(), cli[name]
        total = cli_summary["total_params"]
        assert shown["Name"] == name
        assert shown["Parameters"] == f"{expected['params']:,} ({expected['params'] / total:.2%} of {total:,})"
        assert shown["Mult-adds"] == f"{expected['mult_adds']:,}"
        assert shown["Input shape"] == _shape(expected["input_shape"])
        assert shown["Output shape"] == _shape(expected["output_shape"])
        assert shown["Activation memory"].startswith(f"{expected['activation_bytes']:,} bytes")
        assert shown["Receptive field"] == f"{expected['receptive_field']} px"
        assert shown["Cumulative stride"] == str(expected["stride"])
    assert "Kernel" not in inspector.shown()  # a block has no single kernel


@pytest.mark.parametrize("name", ["conv1", "maxpool", "layer2.0.conv2", "layer2.0.downsample.0", "layer4.2.bn3", "fc"])
def test_a_layer_shows_kernel_stride_padding_from_the_summary(inspector, cli_summary, name):
    inspector.show_item(name)
    shown, expected = inspector.shown(), _cli_items(cli_summary)[name]
    assert shown["Mult-adds"] == f"{expected['mult_adds']:,}"
    assert shown["Parameters"].startswith(f"{expected['params']:,} (")
    assert shown["Output shape"] == _shape(expected["output_shape"])
    if expected["kernel"] is None:
        assert "Kernel" not in shown
    else:
        assert shown["Kernel"] == f"{expected['kernel']}×{expected['kernel']}"
        assert shown["Stride"] == str(expected["conv_stride"])
        assert shown["Padding"] == str(expected["padding"])


def test_weight_statistics_appear_once_weights_are_loaded(inspector):
    inspector.show_item("layer2.0.conv2")
    assert inspector.shown()["Weights"] == "load weights to see mean and std"
    weight = ResNet50(seed=3).state_dict()["layer2.0.conv2.weight"]
    inspector.set_weight_stats({"layer2.0.conv2": (weight.mean().item(), weight.std().item())})
    mean, std = torch.std_mean(weight)[1].item(), torch.std_mean(weight)[0].item()
    assert inspector.shown()["Weights"] == f"mean {mean:+.4g}, std {std:.4g}"
    inspector.show_item("layer2.0.act2")  # no parameters, no statistics
    assert "Weights" not in inspector.shown()


def test_addition_node_head_and_unknown_names(inspector, summary):
    inspector.show_item("layer3.0.add")
    assert inspector.shown()["Output shape"] == "1024×14×14"
    inspector.show_item("head")
    assert inspector.shown()["Output shape"] == "1000"
    assert inspector.shown()["Parameters"].startswith(f"{summary.head.params:,}")
    with pytest.raises(KeyError):
        inspector.show_item("layer7.0")


def test_before_the_summary_arrives_it_says_so_then_fills_in(qtbot, summary):
    inspector = Inspector()
    qtbot.addWidget(inspector)
    inspector.show_item("layer1.0")
    assert inspector.shown() == {"Name": "layer1.0"}
    inspector.set_summary(summary)
    assert inspector.shown()["Parameters"].startswith(f"{summary.blocks()['layer1.0'].params:,}")
