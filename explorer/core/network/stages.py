"""The ResNet family as plain data: one :class:`ResNetSpec` per member (block kind, blocks per stage,
width, groups, expansion) as torchvision builds them (He et al. 2015, Table 1; Xie et al. 2017 for
ResNeXt; Zagoruyko & Komodakis 2016 for Wide ResNet), the stage table each spec derives, and the
smallest input they take: the architecture's facts with no torch, so that parsers, menus and memory
estimates need none.

Core layer, pure Python. ``explorer.core.network.model`` builds the network from a spec.
"""

from __future__ import annotations

from dataclasses import dataclass

# The paper's "planes" of stages 2-5 (the 3x3 width of ResNet-18/34/50 before groups and widening)
# and the stem's output channels: the same in every member.
STAGE_PLANES = (64, 128, 256, 512)
STAGE_STRIDES = (1, 2, 2, 2)
STEM_CHANNELS = 64
BLOCK_KINDS = ("basic", "bottleneck")


@dataclass(frozen=True)
class StageSpec:
    """One stage: ``blocks`` residual blocks; the first is a convolutional block when it needs a
    projection (see :func:`explorer.core.network.blocks.block_kinds`). ``filters`` are the output channels of
    the block's convolutions: two 3x3 for a basic block, [1x1, 3x3, 1x1] for a bottleneck, as in the
    paper's table. ``groups`` splits the 3x3 convolution (ResNeXt's cardinality)."""

    name: str  # "stage2".."stage5"
    module: str  # state_dict prefix: "layer1".."layer4"
    blocks: int
    filters: tuple[int, ...]  # basic (F, F); bottleneck (F1, F2, F3)
    stride: int
    groups: int = 1

    @property
    def block_type(self) -> str:
        return "basic" if len(self.filters) == 2 else "bottleneck"

    @property
    def out_channels(self) -> int:
        return self.filters[-1]


@dataclass(frozen=True)
class ResNetSpec:
    """One member of the family, from which the model, its stage table and its counts derive.

    ``block`` is ``"basic"`` (two 3x3 convolutions, expansion 1) or ``"bottleneck"`` (1x1, 3x3,
    1x1, expansion 4); a bottleneck's 3x3 width is ``planes * width_per_group / 64 * groups``
    (torchvision's formula: 64 and 1 give ResNet-50's, 4 and 32 ResNeXt-50 32x4d's, 128 and 1 Wide
    ResNet-50-2's).
    """

    name: str  # torchvision's builder name, e.g. "resnet50"
    title: str  # e.g. "ResNet-50"
    block: str
    layers: tuple[int, int, int, int]  # blocks per stage
    groups: int = 1
    width_per_group: int = 64
    expansion: int = 4

    def __post_init__(self) -> None:
        if self.block not in BLOCK_KINDS:
            raise ValueError(f"block must be one of {', '.join(BLOCK_KINDS)}, got {self.block!r}")
        if self.block == "basic" and (self.groups, self.width_per_group, self.expansion) != (1, 64, 1):
            raise ValueError("a basic block has one group, width 64 per group and expansion 1 (as torchvision)")
        if len(self.layers) != 4 or min(self.layers) < 1:
            raise ValueError(f"a ResNet has four stages of at least one block, got {self.layers}")
        if min(self.groups, self.width_per_group, self.expansion) < 1:
            raise ValueError(
                f"groups, width per group and expansion must each be at least 1, got {self.groups}, "
                f"{self.width_per_group} and {self.expansion}"
            )

    @property
    def stages(self) -> tuple[StageSpec, ...]:
        """The stage table (name, module, blocks, filters, stride, groups) of stages 2-5."""
        out = []
        for i, (blocks, planes, stride) in enumerate(zip(self.layers, STAGE_PLANES, STAGE_STRIDES)):
            if self.block == "basic":
                filters: tuple[int, ...] = (planes, planes)
            else:
                width = planes * self.width_per_group // 64 * self.groups
                filters = (width, width, planes * self.expansion)
            out.append(StageSpec(f"stage{i + 2}", f"layer{i + 1}", blocks, filters, stride, self.groups))
        return tuple(out)

    @property
    def blocks(self) -> int:
        """Residual blocks in all (16 in ResNet-50)."""
        return sum(self.layers)

    @property
    def depth(self) -> int:
        """Weighted layers on the main path: the stem conv, every block's convolutions, the fc (the
        number in the name: 18 for ResNet-18, 50 for ResNet-50, 152 for ResNet-152)."""
        return 2 + self.blocks * (2 if self.block == "basic" else 3)

    @property
    def kind_text(self) -> str:
        """How the README and the window name the block kind, in the seed's words."""
        if self.block == "basic":
            return "basic blocks (two 3x3 convolutions)"
        grouped = f", grouped 3x3 ({self.groups} groups of {self.width_per_group})" if self.groups > 1 else ""
        wide = f", {self.width_per_group // 64}x wider 3x3" if self.groups == 1 and self.width_per_group > 64 else ""
        return f"bottleneck blocks (1x1, 3x3, 1x1){grouped}{wide}"


def _basic(name: str, title: str, layers: tuple[int, int, int, int]) -> ResNetSpec:
    return ResNetSpec(name, title, "basic", layers, expansion=1)


# torchvision.models' builders, with their arguments (models/resnet.py).
RESNETS: dict[str, ResNetSpec] = {
    s.name: s
    for s in (
        _basic("resnet18", "ResNet-18", (2, 2, 2, 2)),
        _basic("resnet34", "ResNet-34", (3, 4, 6, 3)),
        ResNetSpec("resnet50", "ResNet-50", "bottleneck", (3, 4, 6, 3)),
        ResNetSpec("resnet101", "ResNet-101", "bottleneck", (3, 4, 23, 3)),
        ResNetSpec("resnet152", "ResNet-152", "bottleneck", (3, 8, 36, 3)),
        ResNetSpec("resnext50_32x4d", "ResNeXt-50 32x4d", "bottleneck", (3, 4, 6, 3), groups=32, width_per_group=4),
        ResNetSpec("resnext101_32x8d", "ResNeXt-101 32x8d", "bottleneck", (3, 4, 23, 3), groups=32, width_per_group=8),
        ResNetSpec("resnext101_64x4d", "ResNeXt-101 64x4d", "bottleneck", (3, 4, 23, 3), groups=64, width_per_group=4),
        ResNetSpec("wide_resnet50_2", "Wide ResNet-50-2", "bottleneck", (3, 4, 6, 3), width_per_group=128),
        ResNetSpec("wide_resnet101_2", "Wide ResNet-101-2", "bottleneck", (3, 4, 23, 3), width_per_group=128),
    )
}
DEFAULT_ARCH = "resnet50"
RESNET50 = RESNETS[DEFAULT_ARCH]
RESNET50_STAGES: tuple[StageSpec, ...] = RESNET50.stages


def resnet_spec(arch: str | ResNetSpec) -> ResNetSpec:
    """The spec of a member by name (a spec passes through). Raises ValueError naming the members."""
    if isinstance(arch, ResNetSpec):
        return arch
    spec = RESNETS.get(arch)
    if spec is None:
        raise ValueError(f"unknown architecture {arch!r}; choose from {', '.join(RESNETS)}")
    return spec


def arch_title(name: str) -> str:
    """A member's title by name (``"ResNet-18"``); a shape outside the table keeps its name."""
    spec = RESNETS.get(name)
    return spec.title if spec is not None else name


# The stem (7x7/2 conv, 3x3/2 max-pool) and the three strided stages divide the input by 32 in every
# member, so 32 px is the least that leaves stage 5 one position; smaller inputs still run (padding),
# but every stage after the first has seen mostly padding and batch statistics of one value are meaningless.
TOTAL_STRIDE = 32
MIN_INPUT_SIZE = TOTAL_STRIDE


def input_size_problem(height: int, width: int) -> str | None:
    """Why a ResNet cannot take a ``height`` x ``width`` input, in one line, or None."""
    if min(height, width) < MIN_INPUT_SIZE:
        return (
            f"input size {height}x{width} is too small: a ResNet needs at least {MIN_INPUT_SIZE}x{MIN_INPUT_SIZE} "
            f"(its stages divide the input by {TOTAL_STRIDE})"
        )
    return None
