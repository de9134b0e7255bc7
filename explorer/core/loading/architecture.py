"""The architecture of a checkpoint, read from its state dict alone: block type from the presence of
``conv3``, blocks per stage from the ``layerN.i`` keys, width and groups from the weight shapes,
classes from ``fc``; and a human guess at what a file that is none of the family is.

Core layer, pure Python over the tensors' ``shape`` (no torch import: any mapping of names to
objects with a ``shape`` works), so a caller can read the architecture before building a model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from explorer.core.network.stages import RESNETS, STAGE_PLANES, STEM_CHANNELS, ResNetSpec


class ArchitectureError(ValueError):
    """A state dict that is no member of the family; ``str(e)`` is one line with a guess."""


@dataclass(frozen=True)
class Architecture:
    """What a state dict holds: the member (one of ``RESNETS`` where it matches, else a spec named
    after its shape) and the classes of its head."""

    spec: ResNetSpec
    num_classes: int

    @property
    def known(self) -> bool:
        return RESNETS.get(self.spec.name) == self.spec


def _shape(state: Mapping[str, Any], key: str) -> tuple[int, ...] | None:
    value = state.get(key)
    return None if value is None else tuple(int(d) for d in value.shape)


def stage_depths(state: Mapping[str, Any]) -> tuple[int, ...]:
    """Blocks per stage from the ``layerN.i.`` keys (0 for a stage without any)."""
    depths = []
    for stage in range(1, 5):
        indices = {int(m.group(1)) for k in state if (m := re.match(rf"layer{stage}\.(\d+)\.", k))}
        depths.append(max(indices) + 1 if indices else 0)
    return tuple(depths)


def infer_architecture(state: Mapping[str, Any]) -> Architecture:
    """The family member a (prefix-free) state dict holds, from its keys and shapes.

    The spec is only the shape of the network; the loader then checks every key and shape against
    the model it builds, so a file that matches here but differs elsewhere is still refused.

    Raises:
        ArchitectureError: not a torchvision-style ResNet (deep stem, other key names, missing
            stages or head, unusual widths), with the guess of :func:`guess_architecture`.
    """

    def refuse(why: str) -> ArchitectureError:
        guess = guess_architecture(state)
        return ArchitectureError(f"{why}{f'; looks like {guess}' if guess else ''}")

    depths = stage_depths(state)
    stem, fc = _shape(state, "conv1.weight"), _shape(state, "fc.weight")
    if stem != (STEM_CHANNELS, 3, 7, 7) or not all(depths) or fc is None or len(fc) != 2:
        raise refuse("not a torchvision-style ResNet (a 7x7 conv1 of 64 channels, layer1..layer4 and an fc)")
    bottleneck = "layer1.0.conv3.weight" in state
    conv1, conv2 = _shape(state, "layer1.0.conv1.weight"), _shape(state, "layer1.0.conv2.weight")
    last = _shape(state, f"layer4.{depths[3] - 1}.{'conv3' if bottleneck else 'conv2'}.weight")
    if conv1 is None or conv2 is None or last is None or len(conv2) != 4 or conv2[1] < 1:
        raise refuse("its first block has no conv1/conv2 weights")
    planes = STAGE_PLANES[0]
    if bottleneck:
        width, groups = conv1[0], conv1[0] // conv2[1]
        per_group, expansion = width // max(groups, 1), last[0] // STAGE_PLANES[3]
        kind = "bottleneck"
    else:
        width, groups, per_group, expansion, kind = conv1[0], 1, planes, 1, "basic"
        if width != planes:
            raise refuse(f"its basic blocks are {width} wide, not torchvision's {planes}")
    try:
        shape = ResNetSpec("custom", "", kind, depths, groups, per_group, expansion)  # type: ignore[arg-type]
    except ValueError as exc:
        raise refuse(str(exc)) from None
    if groups * per_group != width or shape.stages[0].filters[0] != width:
        raise refuse(f"its first 3x3 convolution ({width} channels in {groups} groups) is not a ResNet's")
    known = next((s for s in RESNETS.values() if (s.block, s.layers, s.groups, s.width_per_group, s.expansion) ==
                  (shape.block, shape.layers, shape.groups, shape.width_per_group, shape.expansion)), None)
    return Architecture(known or custom_spec(shape), fc[0])


def custom_spec(shape: ResNetSpec) -> ResNetSpec:
    """A spec for a shape outside the table (e.g. timm's resnet26, bottlenecks 2-2-2-2), named by it."""
    blocks = "-".join(map(str, shape.layers))
    width = f"-{shape.groups}x{shape.width_per_group}d" if (shape.groups, shape.width_per_group) != (1, 64) else ""
    return ResNetSpec(
        f"resnet-{shape.block}-{blocks}{width}", f"ResNet ({shape.block} blocks {blocks}{width})", shape.block, shape.layers,
        shape.groups, shape.width_per_group, shape.expansion,
    )


_NAMED_DEPTHS = {
    (False, (2, 2, 2, 2)): "ResNet-18",
    (False, (3, 4, 6, 3)): "ResNet-34",
    (True, (3, 4, 6, 3)): "ResNet-50",
    (True, (3, 4, 23, 3)): "ResNet-101",
    (True, (3, 8, 36, 3)): "ResNet-152",
}


def guess_architecture(state: Mapping[str, Any], num_classes: int = 1000) -> str | None:
    """A human guess at what a checkpoint is, from its keys and shapes, or None: said when a file
    does not fit the model it is loaded into, or is no member of the family at all."""
    if any(k.startswith(("resnet.embedder", "embedder.")) for k in state):
        return "a Hugging Face transformers ResNet (different key names; convert it to torchvision's)"
    if "conv1.0.weight" in state:
        return "a ResNet with a deep 3-conv stem (timm's ResNet-C/D variants)"
    if any(".se." in k or ".attn." in k for k in state):
        return "a ResNet with squeeze-and-excitation or attention modules (timm's seresnet/ecaresnet), not a plain one"
    depths = stage_depths(state)
    if not any(depths):
        return "not a ResNet (no layer1..layer4 keys)"
    bottleneck = any(k.endswith(".conv3.weight") for k in state)
    name = _NAMED_DEPTHS.get((bottleneck, depths))
    conv2 = _shape(state, "layer1.0.conv2.weight")
    conv1 = _shape(state, "layer1.0.conv1.weight")
    if name and bottleneck and conv1 and conv2 and len(conv2) == 4 and conv2[1] != conv1[0]:
        name = name.replace("ResNet", "ResNeXt") + " (grouped 3x3 convolutions)"
    elif name and bottleneck and conv1 and conv1[0] != STAGE_PLANES[0]:
        name = "Wide " + name + " (wider bottlenecks)"
    fc = _shape(state, "fc.weight")
    if name and fc is not None and len(fc) == 2 and fc[0] != num_classes:
        return f"a {name} fine-tuned for {fc[0]} classes (this model has {num_classes})"
    if name:
        return f"a {name} checkpoint"
    kind = "bottleneck" if bottleneck else "basic-block"
    return f"a {kind} ResNet with {'-'.join(map(str, depths))} blocks per stage"
