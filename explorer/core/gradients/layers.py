"""Which layers the gradient lab reports, derived from the model itself: the weighted main-path layers
in network order (as many as the depth in the name: 18 for ResNet-18, 50 for ResNet-50), each
convolutional block's projection conv right after that block's last conv,
each paired with the module whose output is measured. Pure PyTorch; part of explorer.core.gradients.
"""

from __future__ import annotations

from torch import nn

from explorer.core.network.blocks import STEM_STAGE
from explorer.core.network.model import ResNet


def gradient_layers(model: ResNet) -> list[tuple[str, nn.Module, nn.Module, bool]]:
    """All reported layers in result order (54 for ResNet-50: 50 main-path layers and 4 projections)
    as ``(name, weighted module, output module, is_projection)``.

    The output module is the BatchNorm registered right after each conv (its output is the quantity of
    He et al., Fig. 7), or the fc itself. Derived from the model's own module order, not a fixed list.
    """
    leaves = [(n, m) for n, m in model.named_modules() if not list(m.children())]
    rows: list[tuple[str, nn.Module, nn.Module, bool]] = []
    for i, (name, module) in enumerate(leaves):
        if isinstance(module, nn.Conv2d):
            norm_name, norm = leaves[i + 1]
            if not isinstance(norm, nn.BatchNorm2d):
                raise TypeError(f"{name} is not followed by a BatchNorm2d but by {norm_name}")
            rows.append((name, module, norm, ".downsample." in name))
        elif isinstance(module, nn.Linear):
            rows.append((name, module, module, False))
    # Registration order puts each block's projection after its main path (conv3, bn3, act3,
    # downsample), which is exactly the documented result order.
    return rows


def main_path_layers(model: ResNet) -> list[str]:
    """The weighted main-path layers in network order: conv1, layer1.0.conv1, ..., fc (``spec.depth`` of them)."""
    return [name for name, _, _, projection in gradient_layers(model) if not projection]


def stage_modules(model: ResNet) -> list[tuple[str, nn.Module]]:
    """Each stage with the module whose output ends it, in forward order."""
    return [(STEM_STAGE, model.stem_output)] + [(s.name, m) for s, m in model.stage_modules()] + [("head", model.fc)]
