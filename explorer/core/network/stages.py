"""The ResNet family as plain data: one :class:`ResNetSpec` per member (block kind, blocks per stage,
width, groups, expansion, stem, shortcut) as torchvision builds the ImageNet members (He et al. 2015,
Table 1; Xie et al. 2017 for ResNeXt; Zagoruyko & Komodakis 2016 for Wide ResNet) and as He et al.
built their CIFAR-10 networks (Sec. 4.2, ResNet-20 ... ResNet-110), the stage table each spec
derives, and the smallest input they take: the architecture's facts with no torch, so that parsers,
menus and memory estimates need none.

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
# He et al. 2015, Sec. 4.2, for 32x32 CIFAR images: a 3x3 conv of 16 filters (stride 1, no max-pool),
# then three stages of basic blocks with 16, 32 and 64 filters, the last two opening at stride 2.
CIFAR_PLANES = (16, 32, 64)
CIFAR_STRIDES = (1, 2, 2)
# The stem: "imagenet" is a 7x7/2 conv of 64 filters, BN, ReLU and a 3x3/2 max-pool (Table 1);
# "cifar" a 3x3/1 conv of the first stage's width, BN and ReLU (Sec. 4.2).
STEMS = ("imagenet", "cifar")
# Where a block changes the shape: "projection" is a 1x1 conv + BN on the shortcut (option B, the
# ImageNet members); "zero_pad" keeps the identity, taking every stride-th position and padding the new
# channels with zeros (option A, parameter-free: "we use identity shortcuts in all cases", Sec. 4.2).
SHORTCUTS = ("projection", "zero_pad")


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
    shortcut: str = "projection"  # how its first block meets a change of shape: see SHORTCUTS

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

    name: str  # torchvision's builder name, e.g. "resnet50"; "resnet20" ... "resnet110" for CIFAR
    title: str  # e.g. "ResNet-50"
    block: str
    layers: tuple[int, ...]  # blocks per stage: four for ImageNet, three for CIFAR
    groups: int = 1
    width_per_group: int = 64
    expansion: int = 4
    stem: str = "imagenet"  # see STEMS
    shortcut: str = "projection"  # see SHORTCUTS

    def __post_init__(self) -> None:
        if self.block not in BLOCK_KINDS:
            raise ValueError(f"block must be one of {', '.join(BLOCK_KINDS)}, got {self.block!r}")
        if self.stem not in STEMS or self.shortcut not in SHORTCUTS:
            raise ValueError(f"stem must be one of {', '.join(STEMS)} and shortcut one of {', '.join(SHORTCUTS)}")
        if self.block == "basic" and (self.groups, self.width_per_group, self.expansion) != (1, 64, 1):
            raise ValueError("a basic block has one group, width 64 per group and expansion 1 (as torchvision)")
        stages = len(self.planes)
        if len(self.layers) != stages or min(self.layers) < 1:
            raise ValueError(f"a ResNet with this stem has {stages} stages of at least one block, got {self.layers}")
        if min(self.groups, self.width_per_group, self.expansion) < 1:
            raise ValueError(
                f"groups, width per group and expansion must each be at least 1, got {self.groups}, "
                f"{self.width_per_group} and {self.expansion}"
            )

    @property
    def planes(self) -> tuple[int, ...]:
        """The paper's width of each stage (before bottleneck expansion, groups and widening)."""
        return STAGE_PLANES if self.stem == "imagenet" else CIFAR_PLANES

    @property
    def strides(self) -> tuple[int, ...]:
        """Each stage's stride, on its first block."""
        return STAGE_STRIDES if self.stem == "imagenet" else CIFAR_STRIDES

    @property
    def stem_channels(self) -> int:
        """The stem conv's output channels: 64, or the first stage's 16 in the CIFAR networks."""
        return STEM_CHANNELS if self.stem == "imagenet" else CIFAR_PLANES[0]

    @property
    def total_stride(self) -> int:
        """How much the network shrinks its input before the global pooling: 32 (the stem's 4 times
        three strided stages), or 4 for the CIFAR networks (a 32x32 image ends as 8x8 maps)."""
        product = 4 if self.stem == "imagenet" else 1
        for stride in self.strides:
            product *= stride
        return product

    @property
    def image_size(self) -> int:
        """The side of the images it was designed for: ImageNet's 224, CIFAR's 32."""
        return 224 if self.stem == "imagenet" else 32

    @property
    def default_classes(self) -> int:
        """The head's outputs unless told otherwise: ImageNet's 1000, CIFAR-10's 10."""
        return 1000 if self.stem == "imagenet" else 10

    @property
    def stages(self) -> tuple[StageSpec, ...]:
        """The stage table (name, module, blocks, filters, stride, groups) of stages 2-5 (2-4 for CIFAR)."""
        out = []
        for i, (blocks, planes, stride) in enumerate(zip(self.layers, self.planes, self.strides)):
            if self.block == "basic":
                filters: tuple[int, ...] = (planes, planes)
            else:
                width = planes * self.width_per_group // 64 * self.groups
                filters = (width, width, planes * self.expansion)
            out.append(StageSpec(f"stage{i + 2}", f"layer{i + 1}", blocks, filters, stride, self.groups, self.shortcut))
        return tuple(out)

    @property
    def blocks(self) -> int:
        """Residual blocks in all (16 in ResNet-50, 3n in the CIFAR ResNet-(6n+2))."""
        return sum(self.layers)

    @property
    def depth(self) -> int:
        """Weighted layers on the main path: the stem conv, every block's convolutions, the fc (the
        number in the name: 18 for ResNet-18, 50 for ResNet-50, 152 for ResNet-152, 6n+2 for CIFAR)."""
        return 2 + self.blocks * (2 if self.block == "basic" else 3)

    @property
    def kind_text(self) -> str:
        """How the documentation and the window name the block kind, in the seed's words."""
        if self.stem == "cifar":
            return "basic blocks (two 3x3 convolutions), CIFAR-10 design: three stages, zero-padded identity shortcuts"
        if self.block == "basic":
            return "basic blocks (two 3x3 convolutions)"
        grouped = f", grouped 3x3 ({self.groups} groups of {self.width_per_group})" if self.groups > 1 else ""
        wide = f", {self.width_per_group // 64}x wider 3x3" if self.groups == 1 and self.width_per_group > 64 else ""
        return f"bottleneck blocks (1x1, 3x3, 1x1){grouped}{wide}"


def _basic(name: str, title: str, layers: tuple[int, int, int, int]) -> ResNetSpec:
    return ResNetSpec(name, title, "basic", layers, expansion=1)


def _cifar(n: int) -> ResNetSpec:
    """He et al.'s CIFAR-10 ResNet with ``n`` basic blocks per stage: 6n+2 weighted layers."""
    return ResNetSpec(f"resnet{6 * n + 2}", f"ResNet-{6 * n + 2}", "basic", (n, n, n), expansion=1, stem="cifar", shortcut="zero_pad")


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
# He et al. 2015, Sec. 4.2 and Table 6: n = 3, 5, 7, 9, 18 (0.27M to 1.7M parameters).
CIFAR_RESNETS: dict[str, ResNetSpec] = {s.name: s for s in map(_cifar, (3, 5, 7, 9, 18))}
# Every member by name, the ImageNet ones first: what --arch, the menus and the race offer.
MEMBERS: dict[str, ResNetSpec] = {**RESNETS, **CIFAR_RESNETS}
DEFAULT_ARCH = "resnet50"
RESNET50 = RESNETS[DEFAULT_ARCH]
RESNET50_STAGES: tuple[StageSpec, ...] = RESNET50.stages


def resnet_spec(arch: str | ResNetSpec) -> ResNetSpec:
    """The spec of a member by name (a spec passes through). Raises ValueError naming the members."""
    if isinstance(arch, ResNetSpec):
        return arch
    spec = MEMBERS.get(arch)
    if spec is None:
        raise ValueError(f"unknown architecture {arch!r}; choose from {', '.join(MEMBERS)}")
    return spec


def arch_title(name: str) -> str:
    """A member's title by name (``"ResNet-18"``); a shape outside the table keeps its name."""
    spec = MEMBERS.get(name)
    return spec.title if spec is not None else name


# The stem (7x7/2 conv, 3x3/2 max-pool) and the three strided stages divide the input by 32 in every
# ImageNet member, so 32 px is the least that leaves stage 5 one position; smaller inputs still run
# (padding), but every stage after the first has seen mostly padding and batch statistics of one value
# are meaningless. The CIFAR networks divide by 4 and were built for 32x32: the same least serves all.
TOTAL_STRIDE = 32
MIN_INPUT_SIZE = TOTAL_STRIDE


def input_size_problem(height: int, width: int) -> str | None:
    """Why a ResNet cannot take a ``height`` x ``width`` input, in one line, or None."""
    if min(height, width) < MIN_INPUT_SIZE:
        return (
            f"input size {height}x{width} is too small: a ResNet needs at least {MIN_INPUT_SIZE}x{MIN_INPUT_SIZE} "
            f"(the ImageNet members' stages divide the input by {TOTAL_STRIDE})"
        )
    return None
