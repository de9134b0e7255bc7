"""The ResNet family in the paper's vocabulary (He et al. 2015): a stem, then four stages of residual
blocks, each opening with a convolutional block (projection shortcut) where the shape changes,
followed by identity blocks. One model class, :class:`ResNet`, built from a spec
(``explorer.core.network.stages``): basic blocks for ResNet-18/34, bottlenecks for ResNet-50/101/152, grouped
bottlenecks for ResNeXt (Xie et al. 2017), wider ones for Wide ResNet (Zagoruyko & Komodakis 2016),
and the CIFAR-10 networks ResNet-20 ... ResNet-110 (Sec. 4.2: a 3x3 stem, three stages, zero-padded
identity shortcuts).

Pure PyTorch. State-dict keys equal torchvision's (``conv1``, ``bn1``, ``layer1.0.conv1``,
``layer1.0.downsample.0``, ``fc``) so its checkpoints, and timm's plain ``resnet*``, load with
``strict=True``. Every block carries switches (shortcut, residual branch) and every BatchNorm a
normalisation mode; flipping them changes behaviour only, never the parameters or their names.
"""

from __future__ import annotations

import math
from typing import Iterable, Iterator, Literal

import torch
import torch.nn.functional as F
from torch import nn

from explorer.core.network.blocks import projections
from explorer.core.network.stages import (  # noqa: F401 (the tables live there, torch-free; re-exported)
    RESNET50,
    RESNET50_STAGES,
    RESNETS,
    ResNetSpec,
    StageSpec,
    resnet_spec,
)

Normalization = Literal["standard", "batch", "frozen", "none"]
NORMALIZATIONS: tuple[str, ...] = ("standard", "batch", "frozen", "none")
Initialization = Literal["he", "pytorch", "zero-residual", "skipinit", "fixup"]
INITIALIZATIONS: tuple[str, ...] = ("he", "pytorch", "zero-residual", "skipinit", "fixup")


class SwitchableBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose statistics source can be switched without touching its parameters.

    Modes: ``standard`` (PyTorch's own: batch statistics in train mode, running statistics in eval
    mode), ``batch`` (always batch statistics, running buffers left untouched), ``frozen`` (always
    the running statistics), ``none`` (identity: the layer is skipped, its parameters unused).
    """

    def __init__(self, num_features: int) -> None:
        super().__init__(num_features)
        self.mode: Normalization = "standard"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "standard":
            return super().forward(x)
        if self.mode == "none":
            return x
        use_batch_stats = self.mode == "batch"
        return F.batch_norm(
            x,
            None if use_batch_stats else self.running_mean,
            None if use_batch_stats else self.running_var,
            self.weight,
            self.bias,
            training=use_batch_stats,
            momentum=0.0,
            eps=self.eps,
        )


def _conv(in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """A bias-free convolution whose weight is left undrawn: :meth:`ResNet.initialize`, which every
    build ends with, draws every convolution's weight. nn.Conv2d's constructor draws one of its own
    (``reset_parameters``): drawing ResNet-152's 60 million weights twice took 0.27 s of each build.
    An instance attribute of that name wins over the class's method while the constructor runs;
    not the "meta" device (see :class:`ResNet`)."""
    conv = nn.Conv2d.__new__(nn.Conv2d)
    object.__setattr__(conv, "reset_parameters", lambda: None)
    nn.Conv2d.__init__(conv, in_ch, out_ch, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False)
    del conv.__dict__["reset_parameters"]
    return conv


class ResidualBlock(nn.Module):
    """What every residual block shares: the shortcut (identity, or a 1x1 conv + BN *projection*,
    needed when the shape changes: a *convolutional block*; otherwise an *identity block*), the two
    switches, and the addition followed by the block's last ReLU (``out_act``). Subclasses define
    the residual branch F(x).

    An identity shortcut where the shape changes (``pad_channels`` > 0 or ``shortcut_stride`` > 1, the
    CIFAR networks' option A) takes every ``shortcut_stride``-th position and appends ``pad_channels``
    channels of zeros, as fb.resnet.torch's shortcut type A: no parameters, so still an identity block."""

    out_act: nn.ReLU
    downsample: nn.Sequential | None
    shortcut_stride: int = 1
    pad_channels: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.shortcut_enabled = True
        self.residual_enabled = True
        # SkipInit's learnable scalar on the branch (De & Smith 2020), only after initialize("skipinit"):
        # None is no parameter at all, so the state dict keeps torchvision's keys.
        self.register_parameter("skip_gain", None)

    @property
    def kind(self) -> str:
        return "conv" if self.downsample is not None else "identity"

    def branch_layers(self) -> list[tuple[nn.Conv2d, nn.BatchNorm2d]]:
        """The residual branch's (conv, BN) pairs in order; the shortcut's projection is not among them."""
        convs = [m for m in self.children() if isinstance(m, nn.Conv2d)]
        norms = [m for m in self.children() if isinstance(m, nn.BatchNorm2d)]
        return list(zip(convs, norms))

    def _gained(self, out: torch.Tensor) -> torch.Tensor:
        return out if self.skip_gain is None else out * self.skip_gain

    def residual(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.downsample is not None:
            return self.downsample(x)
        if self.shortcut_stride > 1:
            x = x[:, :, ::self.shortcut_stride, ::self.shortcut_stride]  # (B, C, H/s, W/s)
        return F.pad(x, (0, 0, 0, 0, 0, self.pad_channels)) if self.pad_channels else x  # (B, C + pad, H/s, W/s)

    def join(self, residual: torch.Tensor, shortcut: torch.Tensor, residual_on: bool, shortcut_on: bool) -> torch.Tensor:
        """The block's output from its two paths, each counted only when on."""
        if residual_on and shortcut_on:
            return self.out_act(residual + shortcut)  # the skip connection: ReLU(F(x) + x)
        return self.out_act(residual if residual_on else shortcut)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.shortcut_enabled or self.residual_enabled):
            raise RuntimeError("block has both its shortcut and its residual branch switched off")
        if not self.residual_enabled:  # lesion (Veit et al. 2016): only the shortcut passes
            return self.out_act(self.shortcut(x))
        if not self.shortcut_enabled:  # plain block: no skip connection at all
            return self.out_act(self.residual(x))
        return self.out_act(self.residual(x) + self.shortcut(x))


def _projection(in_ch: int, out_ch: int, stride: int, projection: bool) -> nn.Sequential | None:
    return nn.Sequential(_conv(in_ch, out_ch, 1, stride), SwitchableBatchNorm2d(out_ch)) if projection else None


def _zero_padding(block: ResidualBlock, in_ch: int, out_ch: int, stride: int) -> None:
    """Without a projection, what the identity shortcut must do to match the residual branch's shape."""
    if block.downsample is None:
        block.shortcut_stride, block.pad_channels = stride, out_ch - in_ch


class BasicBlock(ResidualBlock):
    """A basic block (ResNet-18/34): two 3x3 convolutions, each with BN; ReLU after the addition.

    In the seed's words an identity block of two 3x3 convolutions; the first block of a stage is a
    convolutional block when it has a projection (``projection=True``: its stride or width changes).
    The stage's stride sits on the first 3x3 conv, as in the paper and torchvision.
    """

    def __init__(self, in_ch: int, filters: tuple[int, ...], stride: int, projection: bool, groups: int = 1) -> None:
        super().__init__()
        f1, f2 = filters
        self.conv1 = _conv(in_ch, f1, 3, stride)
        self.bn1 = SwitchableBatchNorm2d(f1)
        self.act1 = nn.ReLU(inplace=False)
        self.conv2 = _conv(f1, f2, 3)
        self.bn2 = SwitchableBatchNorm2d(f2)
        self.act2 = nn.ReLU(inplace=False)
        self.downsample = _projection(in_ch, f2, stride, projection)
        _zero_padding(self, in_ch, f2, stride)

    @property
    def out_act(self) -> nn.ReLU:  # type: ignore[override]
        return self.act2

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """F(x): the two convolutions of the residual branch (times SkipInit's scalar), before the addition."""
        out = self.act1(self.bn1(self.conv1(x)))  # (B, F, H/s, W/s)
        return self._gained(self.bn2(self.conv2(out)))  # (B, F, H/s, W/s)


class Bottleneck(ResidualBlock):
    """A bottleneck block: 1x1 reduce, 3x3, 1x1 expand, each with BN; ReLU after the addition.

    ``groups`` splits the 3x3 conv into groups (ResNeXt, Xie et al. 2017); a Wide ResNet only has
    wider filters. ``projection=True`` makes it a *convolutional block* (1x1 conv + BN on the
    shortcut, needed when the shape changes); otherwise it is an *identity block* (plain shortcut).
    """

    def __init__(self, in_ch: int, filters: tuple[int, ...], stride: int, projection: bool, groups: int = 1) -> None:
        super().__init__()
        f1, f2, f3 = filters
        self.conv1 = _conv(in_ch, f1, 1)
        self.bn1 = SwitchableBatchNorm2d(f1)
        self.act1 = nn.ReLU(inplace=False)
        # ResNet V1.5 (torchvision, NVIDIA): the stride sits on the 3x3 conv, not on the first 1x1 as
        # in the original paper (V1). Same parameters, +0.5% top-1, slightly more mult-adds.
        self.conv2 = _conv(f1, f2, 3, stride, groups)
        self.bn2 = SwitchableBatchNorm2d(f2)
        self.act2 = nn.ReLU(inplace=False)
        self.conv3 = _conv(f2, f3, 1)
        self.bn3 = SwitchableBatchNorm2d(f3)
        self.act3 = nn.ReLU(inplace=False)
        self.downsample = _projection(in_ch, f3, stride, projection)
        _zero_padding(self, in_ch, f3, stride)

    @property
    def out_act(self) -> nn.ReLU:  # type: ignore[override]
        return self.act3

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """F(x): the three convolutions of the residual branch (times SkipInit's scalar), before the addition."""
        out = self.act1(self.bn1(self.conv1(x)))  # (B, F1, H, W)
        out = self.act2(self.bn2(self.conv2(out)))  # (B, F2, H/s, W/s)
        return self._gained(self.bn3(self.conv3(out)))  # (B, F3, H/s, W/s)


BLOCK_CLASSES: dict[str, type[ResidualBlock]] = {"basic": BasicBlock, "bottleneck": Bottleneck}


def _pytorch_default_init(layer: nn.Conv2d | nn.Linear, generator: torch.Generator | None) -> None:
    """``reset_parameters`` of Conv2d/Linear, drawing from ``generator`` (which it cannot take)."""
    nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
    if layer.bias is not None:
        fan_in, _ = nn.init._calculate_fan_in_and_fan_out(layer.weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        nn.init.uniform_(layer.bias, -bound, bound, generator=generator)


class ResNet(nn.Module):
    """Any member of the ResNet family, built from its :class:`~explorer.core.network.stages.ResNetSpec`,
    with torchvision's state-dict layout and per-block switches.

    Build it plainly, even when weights will overwrite it at once, never on the "meta" device: the
    meta device's first use in a process imports torch._dynamo while holding the GIL, which stalled
    the GUI thread 130-180 ms (``bench --suite ui``); a plain build costs about 0.2 s off the GIL.

    Args:
        spec: the member, or its name (``"resnet18"`` ... ``"wide_resnet101_2"``, ``"resnet20"`` ...
            ``"resnet110"``).
        num_classes: the head's outputs; None for the member's own (1000, or 10 for CIFAR).
    """

    def __init__(
        self, spec: ResNetSpec | str = RESNET50, num_classes: int | None = None, init: Initialization = "he",
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.spec = resnet_spec(spec)
        num_classes = self.spec.default_classes if num_classes is None else num_classes
        if num_classes < 1:
            raise ValueError(f"num_classes must be at least 1, got {num_classes}")
        self.num_classes = num_classes
        # Stage 1, the stem. Flat attributes keep torchvision's keys (conv1, bn1).
        # Registration order is call order (conv1, bn1, relu, maxpool): layer walks rely on it.
        in_ch, imagenet = self.spec.stem_channels, self.spec.stem == "imagenet"
        if imagenet:
            self.conv1 = _conv(3, in_ch, 7, stride=2)
        else:  # CIFAR: a 3x3 conv at full resolution and no max-pool (He et al. 2015, Sec. 4.2)
            self.conv1 = _conv(3, in_ch, 3)
        self.bn1 = SwitchableBatchNorm2d(in_ch)
        self.relu = nn.ReLU(inplace=False)
        self.maxpool: nn.MaxPool2d | None = nn.MaxPool2d(3, stride=2, padding=1) if imagenet else None
        block = BLOCK_CLASSES[self.spec.block]
        for stage, projected in zip(self.stages, projections(self.stages)):
            out_ch = stage.out_channels
            blocks = [block(in_ch, stage.filters, stage.stride, projected, stage.groups)]
            blocks += [block(out_ch, stage.filters, 1, False, stage.groups) for _ in range(stage.blocks - 1)]
            setattr(self, stage.module, nn.Sequential(*blocks))
            in_ch = out_ch
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_ch, num_classes)
        self.initialize(init, seed)

    @property
    def stages(self) -> tuple[StageSpec, ...]:
        """The stage table this model was built from (its spec's)."""
        return self.spec.stages

    @property
    def stem_output(self) -> nn.Module:
        """The module whose output ends the stem (stage 1): the max-pool, or the ReLU in the CIFAR
        networks, which have none (where activation maps, Grad-CAM and gradients read the stem)."""
        return self.maxpool if self.maxpool is not None else self.relu

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        """Stage 1: (B, 3, H, W) -> (B, 64, H/4, W/4), or (B, 16, H, W) in the CIFAR networks."""
        x = self.relu(self.bn1(self.conv1(x)))  # (B, 64, H/2, W/2); CIFAR (B, 16, H, W)
        return x if self.maxpool is None else self.maxpool(x)  # (B, 64, H/4, W/4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # ImageNet members: C = 64 for basic blocks, 256 for ResNet-50's bottlenecks (the stage's out_channels).
        x = self.stem(x)
        for _, stage in self.stage_modules():
            x = stage(x)  # layer1 (B, C1, H/4, W/4) ... layer4 (B, C4, H/32, W/32); CIFAR layer3 (B, 64, H/4, W/4)
        x = torch.flatten(self.avgpool(x), 1)  # (B, C_last)
        return self.fc(x)  # (B, num_classes)

    # -- initialisation -------------------------------------------------------------------------

    def initialize(
        self, init: Initialization = "he", seed: int | None = None, blocks: Iterable[str] | None = None
    ) -> None:
        """Re-initialise the parameters and BN buffers of the named parts (``"stem"`` or block
        prefixes such as ``"layer2.0"``), or of the whole model when ``blocks`` is None.

        ``he``: Kaiming normal, fan_out, ReLU gain for convs, BN weight 1 and bias 0, as torchvision
        does; ``pytorch``: what each layer's ``reset_parameters`` does (Kaiming uniform with
        a=sqrt(5), bias uniform in +-1/sqrt(fan_in)). The fc keeps PyTorch's default under both.
        Built on ``he``, each residual branch starting at zero:

        - ``zero-residual``: the branch's last BN weight at 0 (torchvision's ``zero_init_residual``,
          Goyal et al. 2017);
        - ``skipinit``: a learnable scalar ``skip_gain`` at 0 on the branch (De & Smith 2020), a
          parameter the other initialisations remove again;
        - ``fixup`` (Zhang et al. 2019), meant for a network without normalisation
          (``set_normalization("none")``): the branch's convolutions scaled by L^(-1/(2m-2)) (L
          residual branches in the model, m convolutions in each), its last convolution and the
          fc (weight and bias) at 0. Fixup's scalar multipliers (1) and biases (0) would change
          nothing at initialisation and are left out.

        ``seed`` draws from a private generator, so the result is the same whatever other threads do
        with the global RNG (the GUI loads weights and runs the gradient lab concurrently; seeding the
        global generator there gave different "seed 0" weights from run to run).
        """
        if init not in INITIALIZATIONS:
            raise ValueError(f"unknown initialisation {init!r}; choose from {', '.join(INITIALIZATIONS)}")
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        with torch.no_grad():
            for m in self._modules_of(blocks):
                if isinstance(m, nn.BatchNorm2d):
                    m.reset_parameters()  # ones, zeros and fresh running statistics: no randomness
                elif isinstance(m, (nn.Conv2d, nn.Linear)):
                    if init != "pytorch" and isinstance(m, nn.Conv2d):
                        nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu", generator=generator)
                    else:
                        _pytorch_default_init(m, generator)
            for block in self._select(blocks, allow_stem=True):
                if isinstance(block, ResidualBlock):
                    self._start_branch(block, init)
            if init == "fixup" and blocks is None:
                self.fc.weight.zero_()
                self.fc.bias.zero_()

    def _start_branch(self, block: ResidualBlock, init: str) -> None:
        """The residual branch's part of ``initialize`` (under no_grad, after the layers' own init)."""
        layers = block.branch_layers()
        block.skip_gain = nn.Parameter(torch.zeros((), device=layers[-1][0].weight.device)) if init == "skipinit" else None
        if init == "zero-residual":
            layers[-1][1].weight.zero_()
        elif init == "fixup":
            scale = len(self.blocks()) ** (-1 / (2 * len(layers) - 2))
            for conv, _ in layers[:-1]:
                conv.weight.mul_(scale)
            layers[-1][0].weight.zero_()

    # -- structure ------------------------------------------------------------------------------

    def blocks(self) -> dict[str, ResidualBlock]:
        """All residual blocks by state-dict prefix (``"layer1.0"`` ... ``"layer4.2"``), in order."""
        return {name: m for name, m in self.named_modules() if isinstance(m, ResidualBlock)}

    def stage_modules(self) -> Iterator[tuple[StageSpec, nn.Sequential]]:
        for spec in self.stages:
            yield spec, getattr(self, spec.module)

    # -- switches -------------------------------------------------------------------------------

    def _select(self, blocks: Iterable[str] | None, allow_stem: bool = False) -> list[nn.Module]:
        table: dict[str, nn.Module] = dict(self.blocks())
        if allow_stem:
            table = {"stem": nn.ModuleList([self.conv1, self.bn1]), **table}
        if blocks is None:
            return list(table.values())
        chosen = list(blocks)
        unknown = [b for b in chosen if b not in table]
        if unknown:
            raise KeyError(f"unknown block(s) {', '.join(unknown)}; valid names are {', '.join(table)}")
        return [table[b] for b in chosen]

    def _modules_of(self, blocks: Iterable[str] | None) -> Iterator[nn.Module]:
        if blocks is None:
            yield from self.modules()
            return
        for part in self._select(blocks, allow_stem=True):
            yield from part.modules()

    def set_shortcuts(self, enabled: bool, blocks: Iterable[str] | None = None) -> None:
        """Switch the skip connection of the named blocks (all when ``None``) on or off."""
        for block in self._select(blocks):
            block.shortcut_enabled = enabled

    def set_residual(self, enabled: bool, blocks: Iterable[str] | None = None) -> None:
        """Switch the residual branch F(x) of the named blocks on or off (off: a lesion)."""
        for block in self._select(blocks):
            block.residual_enabled = enabled

    def set_normalization(self, mode: Normalization, blocks: Iterable[str] | None = None) -> None:
        """Set how the BatchNorm layers of the named parts (``"stem"``, block prefixes; all when
        ``None``) normalise: see :class:`SwitchableBatchNorm2d`."""
        if mode not in NORMALIZATIONS:
            raise ValueError(f"unknown normalisation {mode!r}; choose from {', '.join(NORMALIZATIONS)}")
        for m in self._modules_of(blocks):
            if isinstance(m, SwitchableBatchNorm2d):
                m.mode = mode

    def switches(self) -> dict[str, dict[str, bool]]:
        """The current shortcut/residual switch of every block, as plain data."""
        return {
            name: {"shortcut": b.shortcut_enabled, "residual": b.residual_enabled} for name, b in self.blocks().items()
        }


class ResNet50(ResNet):
    """ResNet-50, the seed's network and the default: ``ResNet(RESNET50, ...)`` under its old name,
    with the same signature, for every caller that means ResNet-50."""

    def __init__(self, num_classes: int = 1000, init: Initialization = "he", seed: int | None = None) -> None:
        super().__init__(RESNET50, num_classes, init, seed)
