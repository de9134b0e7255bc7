"""ResNet-50's stage table (He et al. 2015, Table 1) and the smallest input it can take: the
architecture's facts as plain data, so that parsers, menus and memory estimates need no torch.

Core layer, pure Python. ``explorer.core.model`` builds the network from this table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StageSpec:
    """One stage of bottleneck blocks: ``blocks`` in total, the first a convolutional block."""

    name: str  # "stage2".."stage5"
    module: str  # state_dict prefix: "layer1".."layer4"
    blocks: int
    filters: tuple[int, int, int]  # bottleneck filters [F1, F2, F3] as in the paper's table
    stride: int


RESNET50_STAGES: tuple[StageSpec, ...] = (
    StageSpec("stage2", "layer1", 3, (64, 64, 256), 1),
    StageSpec("stage3", "layer2", 4, (128, 128, 512), 2),
    StageSpec("stage4", "layer3", 6, (256, 256, 1024), 2),
    StageSpec("stage5", "layer4", 3, (512, 512, 2048), 2),
)
STEM_CHANNELS = 64
# The stem (7x7/2 conv, 3x3/2 max-pool) and the three strided stages divide the input by 32, so 32
# px is the least that leaves stage 5 one position; smaller inputs still run (padding), but every
# stage after the first has seen mostly padding and batch statistics of one value are meaningless.
TOTAL_STRIDE = 32
MIN_INPUT_SIZE = TOTAL_STRIDE


def input_size_problem(height: int, width: int) -> str | None:
    """Why ResNet-50 cannot take a ``height`` x ``width`` input, in one line, or None."""
    if min(height, width) < MIN_INPUT_SIZE:
        return (
            f"input size {height}x{width} is too small: ResNet-50 needs at least {MIN_INPUT_SIZE}x{MIN_INPUT_SIZE} "
            f"(its stages divide the input by {TOTAL_STRIDE})"
        )
    return None
