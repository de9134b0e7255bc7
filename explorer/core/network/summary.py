"""Exact architecture summary of any ResNet of the family: per stage, per block and per layer shapes,
parameters, mult-adds, activation memory, receptive field and cumulative stride.

Core layer, pure Python: the numbers come from the layer table of ``explorer.core.network.counts``, computed
from the spec with torchinfo's conventions, so no model is built and nothing runs (ResNet-152 in
milliseconds, where one forward of torchinfo's took seconds); tests check every layer of every
member against torchinfo on torchvision's model, and receptive fields against gradients.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from explorer.core.network.blocks import HEAD, STEM, STEM_STAGE, block_kinds, residual_blocks
from explorer.core.network.counts import Layer, layer_table
from explorer.core.network.stages import DEFAULT_ARCH, ResNetSpec, input_size_problem, resnet_spec


@dataclass(frozen=True)
class BlockSummary:
    name: str  # state-dict prefix ("layer2.0"), or "stem"
    kind: str  # "stem" | "conv" | "identity"
    stage: str  # "stage1".."stage5"
    input_shape: list[int]
    output_shape: list[int]
    params: int
    mult_adds: int
    activation_bytes: int
    receptive_field: int
    stride: int
    layers: list[Layer] = field(default_factory=list)


@dataclass(frozen=True)
class StageSummary:
    name: str  # "stage1".."stage5"
    module: str  # "stem" or the state-dict prefix "layer1".."layer4"
    output_shape: list[int]
    params: int
    mult_adds: int
    activation_bytes: int
    blocks: list[BlockSummary]


@dataclass(frozen=True)
class HeadSummary:
    name: str  # "head": global average pool + fully connected classifier
    input_shape: list[int]
    output_shape: list[int]
    params: int
    mult_adds: int
    activation_bytes: int
    layers: list[Layer]


@dataclass(frozen=True)
class ModelSummary:
    input_size: list[int]  # [H, W]
    num_classes: int
    total_params: int
    trainable_params: int
    mult_adds: int
    activation_bytes: int
    stages: list[StageSummary]
    head: HeadSummary
    arch: str = DEFAULT_ARCH  # the member's name, e.g. "resnet18"
    title: str = "ResNet-50"
    block_type: str = "bottleneck"  # "basic" | "bottleneck"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def blocks(self) -> dict[str, BlockSummary]:
        """Every block (the stem and the residual blocks) by name, in network order."""
        return {b.name: b for s in self.stages for b in s.blocks}

    def layers(self) -> dict[str, Layer]:
        """Every leaf layer by module path, in network order."""
        out = {layer.name: layer for b in self.blocks().values() for layer in b.layers}
        out.update({layer.name: layer for layer in self.head.layers})
        return out


def count_parameters(module: Any) -> int:
    """Parameters of a torch module, each tensor once even when submodules are shared (parameters()
    deduplicates; torchinfo's per-row sums would count a shared module twice)."""
    return sum(p.numel() for p in module.parameters())


def _block(name: str, kind: str, stage: str, layers: list[Layer]) -> BlockSummary:
    return BlockSummary(
        name=name,
        kind=kind,
        stage=stage,
        input_shape=layers[0].input_shape,
        output_shape=layers[-1].output_shape,
        params=sum(layer.params for layer in layers),  # no layer is shared: each counted once
        mult_adds=sum(layer.mult_adds for layer in layers),
        activation_bytes=sum(layer.activation_bytes for layer in layers),
        receptive_field=layers[-1].receptive_field,
        stride=layers[-1].stride,
        layers=layers,
    )


def summarize(
    input_size: tuple[int, int] = (224, 224), num_classes: int = 1000, arch: str | ResNetSpec = DEFAULT_ARCH
) -> ModelSummary:
    """Summarise a member of the family (default ResNet-50) for one ``(H, W)`` input and
    ``num_classes`` outputs.

    Raises:
        ValueError: for an input too small to survive the five stride-2 stages, or no classes.
    """
    height, width = (int(v) for v in input_size)
    problem = input_size_problem(height, width)
    if problem:
        raise ValueError(problem)
    spec = resnet_spec(arch)
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    by_block: dict[str, list[Layer]] = {}
    for layer in layer_table(spec, height, width, num_classes):
        by_block.setdefault(layer.block, []).append(layer)
    stem = _block(STEM, STEM, STEM_STAGE, by_block[STEM])
    stages = [StageSummary(STEM_STAGE, STEM, stem.output_shape, stem.params, stem.mult_adds, stem.activation_bytes, [stem])]
    kinds = block_kinds(spec.stages)
    for stage in spec.stages:
        blocks = [_block(name, kinds[name], stage.name, by_block[name]) for name in residual_blocks([stage])]
        stages.append(
            StageSummary(
                name=stage.name,
                module=stage.module,
                output_shape=blocks[-1].output_shape,
                params=sum(b.params for b in blocks),
                mult_adds=sum(b.mult_adds for b in blocks),
                activation_bytes=sum(b.activation_bytes for b in blocks),
                blocks=blocks,
            )
        )
    head_layers = by_block[HEAD]
    head = HeadSummary(
        name=HEAD,
        input_shape=head_layers[0].input_shape,
        output_shape=head_layers[-1].output_shape,
        params=sum(layer.params for layer in head_layers),
        mult_adds=sum(layer.mult_adds for layer in head_layers),
        activation_bytes=sum(layer.activation_bytes for layer in head_layers),
        layers=head_layers,
    )
    total = sum(s.params for s in stages) + head.params
    return ModelSummary(
        input_size=[height, width],
        num_classes=num_classes,
        total_params=total,
        trainable_params=total,  # a built model trains every parameter
        mult_adds=sum(s.mult_adds for s in stages) + head.mult_adds,
        activation_bytes=sum(s.activation_bytes for s in stages) + head.activation_bytes,
        stages=stages,
        head=head,
        arch=spec.name,
        title=spec.title,
        block_type=spec.block,
    )
