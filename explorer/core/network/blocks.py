"""Names, kinds and titles of the network's parts, derived from the stage table the model is built
from: the stem, the residual blocks of each stage (state-dict prefixes ``layer1.0`` ...), the head.

Core layer, pure Python over the stage table (explorer.core.network.stages, no torch). Every view and
command takes its block names and stage titles from here, so one fact has one definition:

- ``residual_blocks()``: the blocks that have a shortcut and a residual branch (16 in ResNet-50,
  8 in ResNet-18, 50 in ResNet-152);
- ``feature_blocks()``: ``"stem"`` and the residual blocks, the parts with an activation map (17);
- ``diagram_blocks()``: those and ``"head"``, every box of the diagram (18);
- ``block_kinds()``: ``conv`` (projection shortcut) or ``identity`` per residual block (the CIFAR
  networks' zero-padded shortcuts are identities, He et al.'s option A).

Every function takes the stage table (default ResNet-50's); ``stages_of(x)`` gives it for a member's
name, a :class:`~explorer.core.network.stages.ResNetSpec`, or anything with a ``spec`` (a built model).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from explorer.core.network.stages import RESNET50_STAGES, STEM_CHANNELS, ResNetSpec, StageSpec, resnet_spec

STEM = "stem"
HEAD = "head"
STEM_STAGE = "stage1"  # the paper's name for the stem (conv1, BN, ReLU, max-pool)


def stages_of(network: Any) -> tuple[StageSpec, ...]:
    """The stage table of a member's name (``"resnet18"``), a spec, or a model with a ``spec``."""
    spec = getattr(network, "spec", network)
    return resnet_spec(spec).stages if isinstance(spec, (str, ResNetSpec)) else tuple(spec)


def residual_blocks(stages: Sequence[StageSpec] = RESNET50_STAGES) -> tuple[str, ...]:
    """Every residual block by state-dict prefix, in network order: ``layer1.0`` ... ``layer4.2``."""
    return tuple(f"{spec.module}.{i}" for spec in stages for i in range(spec.blocks))


def feature_blocks(stages: Sequence[StageSpec] = RESNET50_STAGES) -> tuple[str, ...]:
    """``"stem"`` and the residual blocks: the outputs that activation maps and Grad-CAM read."""
    return (STEM, *residual_blocks(stages))


def diagram_blocks(stages: Sequence[StageSpec] = RESNET50_STAGES) -> tuple[str, ...]:
    """``"stem"``, the residual blocks and ``"head"``: every box of the block diagram."""
    return (*feature_blocks(stages), HEAD)


def stage_of(name: str, stages: Sequence[StageSpec] = RESNET50_STAGES) -> str:
    """The paper's stage of a block or layer name: ``"stage1"`` (the stem and its layers, e.g.
    ``conv1``) .. ``"stage5"``, or ``"head"`` (``fc``, ``avgpool``)."""
    if name in (HEAD, "fc", "avgpool"):
        return HEAD
    for spec in stages:
        if name == spec.module or name.startswith(spec.module + "."):
            return spec.name
    return STEM_STAGE


def block_of(name: str, stages: Sequence[StageSpec] = RESNET50_STAGES) -> str | None:
    """The block a block or layer name belongs to (``layer3.2.conv2`` -> ``layer3.2``, ``conv1`` ->
    ``stem``, ``fc`` -> ``head``), or None for a name that is none of them."""
    if name in (HEAD, "fc", "avgpool"):
        return HEAD
    if name in (STEM, "conv1", "bn1", "relu", "maxpool"):
        return STEM
    for block in residual_blocks(stages):
        if name == block or name.startswith(block + "."):
            return block
    return None


def projections(stages: Sequence[StageSpec] = RESNET50_STAGES) -> tuple[bool, ...]:
    """Per stage, whether its first block needs a projection shortcut: its stride is not 1 or its
    output channels differ from its input's (torchvision's rule). ResNet-18's and -34's first stage
    keeps 64 channels at stride 1, so its first block is an identity block; every later block of a
    stage is one too. A zero-padding stage (option A, the CIFAR networks) never has one: its first
    block keeps an identity shortcut that subsamples and pads."""
    out, channels = [], STEM_CHANNELS
    for spec in stages:
        out.append(spec.shortcut == "projection" and (spec.stride != 1 or channels != spec.out_channels))
        channels = spec.out_channels
    return tuple(out)


def block_kinds(stages: Sequence[StageSpec] = RESNET50_STAGES) -> dict[str, str]:
    """Every residual block's kind by name: ``"conv"`` (a convolutional block, projection shortcut)
    or ``"identity"``, in network order."""
    return {
        f"{spec.module}.{i}": "conv" if i == 0 and projected else "identity"
        for spec, projected in zip(stages, projections(stages))
        for i in range(spec.blocks)
    }


def stage_title(spec: StageSpec) -> str:
    """The diagram's heading of a stage: name, module, filters, groups and where its stride sits
    (the first 3x3 conv: a basic block's conv1, a bottleneck's conv2, ResNet V1.5)."""
    title = f"{spec.name} ({spec.module}) · filters {', '.join(map(str, spec.filters))}"
    if spec.groups > 1:
        title += f" · 3×3 in {spec.groups} groups"
    if spec.stride > 1:
        title += f" · stride {spec.stride} on the {'first ' if spec.block_type == 'basic' else ''}3×3 conv"
    return title


def stage_outputs(stages: Sequence[StageSpec] = RESNET50_STAGES) -> dict[int, str]:
    """Grad-CAM's stages by number, with the module whose output each one is: ``{1: "stem", 2:
    "layer1", ...}`` (the stem is stage 1, as in the paper)."""
    return {1: STEM, **{i + 2: spec.module for i, spec in enumerate(stages)}}
