"""What the diagram draws for a member of the family, from its stage table: the stem, each stage's
residual blocks (convolutional or identity, by torchvision's projection rule; the CIFAR networks'
zero-padded shortcuts are identities) and the head, each with the text of its box, which identity
blocks a long stage folds into one "×35" item (ResNet-152's stage 4 has 36 blocks: unfolded, no name
would be legible at the window's size), and the note under the diagram.

UI layer, pure Python over explorer.core.network.blocks (no Qt, no torch), so it is tested without a scene.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from explorer.core.network.blocks import HEAD, STEM, STEM_STAGE, block_kinds, stage_title
from explorer.core.network.stages import RESNET50_STAGES, StageSpec
from explorer.ui.common.text import BLOCK_KIND_TEXT

# A stage of more blocks than this folds its identity blocks into one item; ResNet-50's longest
# stage (6) stays as it is, ResNet-101's 23 and ResNet-152's 8 and 36 fold.
FOLD_ABOVE = 6
HOW_TO = (
    "Double-click or Enter expands a block; right-click switches its shortcut or residual branch "
    "off for the gradient lab (never the classifier). A \"×N\" box holds N identity blocks: click it to unfold."
)
NOTE = (
    "ResNet V1.5 (as torchvision): each stage's stride sits on the first 3×3 conv of its convolutional "
    "block, and on its 1×1 projection shortcut, not on the first 1×1 conv as in the paper (V1). " + HOW_TO
)
CIFAR_NOTE = (
    "He et al.'s CIFAR-10 design (2015, Sec. 4.2): a 3×3 stem without max-pool and three stages of basic "
    "blocks (16, 32, 64 filters). Every shortcut is an identity: where a stage halves the map and doubles "
    "the width, it takes every second position and pads the new channels with zeros (option A). " + HOW_TO
)
STEM_LINES = {"imagenet": "conv, pool", "cifar": "3×3 conv"}  # the stem box's second line, by the spec's stem


@dataclass(frozen=True)
class Fold:
    """Identity blocks of one stage shown as one item until unfolded."""

    name: str  # "layer3.fold": no module has this name
    stage: str
    blocks: tuple[str, ...]
    lines: tuple[str, ...]
    entry: str  # the stage's first block, which stays drawn


# What a residual block holds on its residual branch, by block type, in the seed's words.
BRANCH_TEXT = {"basic": "two 3×3 convolutions", "bottleneck": "a bottleneck of 1×1, 3×3 and 1×1 convolutions"}
BRANCH_LINE = {"basic": "3×3, 3×3", "bottleneck": "1×1, 3×3, 1×1"}  # the box's short form

Block = tuple[str, str, tuple[str, ...], str]  # name, kind, box lines, description (tooltip)


def note(stages: Sequence[StageSpec] = RESNET50_STAGES) -> str:
    """The text under the diagram: where the stride sits (ImageNet members) or option A (CIFAR)."""
    return CIFAR_NOTE if any(spec.shortcut == "zero_pad" for spec in stages) else NOTE


def stage_groups(stages: Sequence[StageSpec] = RESNET50_STAGES, stem: str = "imagenet") -> list[tuple[str, str, list[Block]]]:
    """(stage name, title, [(block name, kind, box lines, description)]) for the stem (``stem``: the
    spec's, "imagenet" or "cifar"), each stage and the head; e.g. ResNet-18's ``layer1.0`` is an
    "identity block of two 3×3 convolutions"."""
    kinds = block_kinds(stages)
    groups = [(STEM_STAGE, f"{STEM_STAGE} · stem", [(STEM, "stem", (STEM, STEM_LINES[stem]), BLOCK_KIND_TEXT["stem"])])]
    for spec in stages:
        blocks = []
        for index in range(spec.blocks):
            name = f"{spec.module}.{index}"
            kind = kinds[name]
            strided = index == 0 and spec.stride > 1  # a convolutional block, or a zero-padded identity (option A)
            lines = (name, "conv block" if kind == "conv" else "identity block")
            lines += (f"3×3 conv /{spec.stride}",) if strided else (BRANCH_LINE[spec.block_type],)
            description = f"{BLOCK_KIND_TEXT[kind]} of {BRANCH_TEXT[spec.block_type]}"
            if strided and kind == "identity":
                description += f"; its shortcut subsamples by {spec.stride} and pads zero channels (option A)"
            blocks.append((name, kind, lines, description))
        groups.append((spec.name, stage_title(spec), blocks))
    groups.append((HEAD, HEAD, [(HEAD, "head", (HEAD, "avg-pool, fc"), BLOCK_KIND_TEXT["head"])]))
    return groups


def folds(stages: Sequence[StageSpec] = RESNET50_STAGES) -> dict[str, Fold]:
    """The fold of every stage longer than :data:`FOLD_ABOVE`, by stage name: its identity blocks
    after the first block (which stays, as the stage's entry)."""
    kinds = block_kinds(stages)
    out = {}
    for spec in stages:
        if spec.blocks <= FOLD_ABOVE:
            continue
        names = tuple(f"{spec.module}.{i}" for i in range(1, spec.blocks) if kinds[f"{spec.module}.{i}"] == "identity")
        first, last = names[0].rsplit(".", 1)[1], names[-1].rsplit(".", 1)[1]
        lines = (f"×{len(names)}", f"{spec.module}.{first}–{last}", "identity blocks")
        out[spec.name] = Fold(f"{spec.module}.fold", spec.name, names, lines, f"{spec.module}.0")
    return out
