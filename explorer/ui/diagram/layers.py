"""What an expanded block shows, from the architecture summary: each layer's box text and tooltip,
split into the main path, the shortcut path (a convolutional block's projection), the addition and
what follows it, and the label of the projection on a collapsed block's arc.

UI layer, pure Python over explorer.core.network.summary (no Qt), so it is tested without a scene.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from explorer.ui.common.text import shape_text
from explorer.ui.diagram.block_item import LayerView

if TYPE_CHECKING:
    from explorer.core.network.counts import Layer
    from explorer.core.network.summary import BlockSummary, HeadSummary

LAYER_WORDS = {"BatchNorm2d": "BN", "ReLU": "ReLU", "AdaptiveAvgPool2d": "global avg-pool"}


def add_node_name(block: str) -> str:
    """The selectable name of a residual block's addition node (not a module: the sum has no layer)."""
    return f"{block}.add"


def layer_text(layer: Layer) -> str:
    """A layer box's text, e.g. ``3×3 conv /2, 128``, ``3×3 max-pool /2``, ``fc, 1000``."""
    channels = layer.output_shape[0]
    stride = f" /{layer.conv_stride}" if layer.conv_stride and layer.conv_stride > 1 else ""
    if layer.type == "Conv2d":
        return f"{layer.kernel}×{layer.kernel} conv{stride}, {channels}"
    if layer.type == "MaxPool2d":
        return f"{layer.kernel}×{layer.kernel} max-pool{stride}"
    if layer.type == "Linear":
        return f"fc, {channels}"
    return LAYER_WORDS.get(layer.type, layer.type)


def layer_view(layer: Layer) -> LayerView:
    tooltip = f"{layer.name}\n{layer.type}\noutput {shape_text(layer.output_shape)}"
    return LayerView(layer.name, layer_text(layer), tooltip, layer.shortcut)


def block_layers(
    name: str, block: BlockSummary | HeadSummary, residual: bool
) -> tuple[list[LayerView], list[LayerView], list[LayerView], LayerView | None, str]:
    """(main path, shortcut path, after the addition, the addition node, projection label) of a
    block; a block without a shortcut (stem, head) has only a main path."""
    views = [layer_view(layer) for layer in block.layers]
    if not residual:
        return views, [], [], None, ""
    main = [v for v in views[:-1] if not v.shortcut]
    shortcut = [v for v in views if v.shortcut]
    add = LayerView(
        add_node_name(name), "+", f"{add_node_name(name)}\naddition F(x) + shortcut(x)\noutput {shape_text(block.output_shape)}"
    )
    projection = next((layer for layer in block.layers if layer.shortcut and layer.kernel), None)
    label = ""
    if projection is not None:
        stride = f" /{projection.conv_stride}" if projection.conv_stride > 1 else ""
        label = f"{projection.kernel}×{projection.kernel} conv{stride}"
    return main, shortcut, [views[-1]], add, label
