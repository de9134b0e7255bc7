"""Exact architecture summary of ResNet-50: per stage, per block and per layer shapes, parameters,
mult-adds, activation memory, receptive field and cumulative stride.

Pure PyTorch + torchinfo. Shapes and mult-adds come from torchinfo's hooks (one forward pass of a
batch-1 CPU tensor); parameter counts come from each module's unique parameters, so a module
shared by two parents is never counted twice; receptive fields are derived analytically from each
layer's kernel, stride and dilation (Araujo et al. 2019, "Computing Receptive Fields of CNNs").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torchinfo
from torch import nn

from explorer.core.model import Bottleneck, ResNet50
from explorer.core.stages import input_size_problem

FLOAT32_BYTES = 4


@dataclass(frozen=True)
class LayerSummary:
    """One leaf layer (conv, BN, ReLU, pool, fc). Shapes exclude the batch dimension."""

    name: str  # module path, e.g. "layer2.0.conv2"
    type: str  # "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "AdaptiveAvgPool2d", "Linear"
    input_shape: list[int]
    output_shape: list[int]
    params: int
    mult_adds: int
    activation_bytes: int  # output size per image in float32
    receptive_field: int  # side of the input window that can influence one output position
    stride: int  # cumulative stride (jump) relative to the input image
    kernel: int | None = None
    conv_stride: int | None = None  # this layer's own stride
    padding: int | None = None
    shortcut: bool = False  # True for the projection conv/BN on a convolutional block's shortcut


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
    layers: list[LayerSummary] = field(default_factory=list)


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
    layers: list[LayerSummary]


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def blocks(self) -> dict[str, BlockSummary]:
        """Every block (stem and the 16 bottlenecks) by name, in network order."""
        return {b.name: b for s in self.stages for b in s.blocks}

    def layers(self) -> dict[str, LayerSummary]:
        """Every leaf layer by module path, in network order."""
        out = {layer.name: layer for b in self.blocks().values() for layer in b.layers}
        out.update({layer.name: layer for layer in self.head.layers})
        return out


@dataclass
class _Field:
    """Receptive-field state: window side ``rf`` and cumulative stride ``jump`` (Araujo et al.)."""

    rf: int = 1
    jump: int = 1

    def through(self, module: nn.Module) -> "_Field":
        kernel, stride, dilation = _geometry(module)
        if kernel is None:
            return _Field(self.rf, self.jump)
        return _Field(self.rf + (kernel - 1) * dilation * self.jump, self.jump * stride)


def _first(value: Any) -> int:
    return int(value[0] if isinstance(value, (tuple, list)) else value)


def _geometry(module: nn.Module) -> tuple[int | None, int, int]:
    """(kernel, stride, dilation) of a spatial layer; kernel None for layers that keep the field."""
    if isinstance(module, (nn.Conv2d, nn.MaxPool2d)):
        return _first(module.kernel_size), _first(module.stride), _first(module.dilation)
    return None, 1, 1


def _padding(module: nn.Module) -> int | None:
    return _first(module.padding) if isinstance(module, (nn.Conv2d, nn.MaxPool2d)) else None


def count_parameters(module: nn.Module) -> int:
    """Parameters of a module, each tensor once even when submodules are shared (parameters()
    deduplicates; torchinfo's per-row sums would count a shared module twice)."""
    return sum(p.numel() for p in module.parameters())


class _Recorder:
    """Turns torchinfo's per-module records into LayerSummary objects with receptive fields."""

    def __init__(self, model: nn.Module, input_size: tuple[int, int]) -> None:
        stats = torchinfo.summary(model, input_size=(1, 3, *input_size), depth=64, verbose=0, device="cpu")
        self.stats = stats
        by_id = {info.layer_id: info for info in stats.summary_list}
        self.info = {name: by_id[id(m)] for name, m in model.named_modules() if id(m) in by_id}
        self.modules = dict(model.named_modules())

    def layer(self, name: str, field_in: _Field, shortcut: bool = False) -> tuple[LayerSummary, _Field]:
        module, info = self.modules[name], self.info[name]
        field_out = field_in.through(module)
        kernel, stride, _ = _geometry(module)
        summary = LayerSummary(
            name=name,
            type="BatchNorm2d" if isinstance(module, nn.BatchNorm2d) else type(module).__name__,
            input_shape=list(info.input_size[1:]),
            output_shape=list(info.output_size[1:]),
            params=count_parameters(module),
            mult_adds=int(info.macs),
            activation_bytes=_numel(info.output_size[1:]) * FLOAT32_BYTES,
            receptive_field=field_out.rf,
            stride=field_out.jump,
            kernel=kernel,
            conv_stride=stride if kernel is not None else None,
            padding=_padding(module),
            shortcut=shortcut,
        )
        return summary, field_out

    def chain(self, names: list[str], field_in: _Field, shortcut: bool = False) -> tuple[list[LayerSummary], _Field]:
        layers = []
        for name in names:
            layer, field_in = self.layer(name, field_in, shortcut)
            layers.append(layer)
        return layers, field_in


def _numel(shape: Any) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _block(
    name: str, kind: str, stage: str, layers: list[LayerSummary], module: nn.Module | None, field_out: _Field
) -> BlockSummary:
    return BlockSummary(
        name=name,
        kind=kind,
        stage=stage,
        input_shape=layers[0].input_shape,
        output_shape=layers[-1].output_shape,
        params=count_parameters(module) if module is not None else sum(layer.params for layer in layers),
        mult_adds=sum(layer.mult_adds for layer in layers),
        activation_bytes=sum(layer.activation_bytes for layer in layers),
        receptive_field=field_out.rf,
        stride=field_out.jump,
        layers=layers,
    )


def _bottleneck(rec: _Recorder, name: str, block: Bottleneck, stage: str, field_in: _Field) -> tuple[BlockSummary, _Field]:
    residual, f_res = rec.chain([f"{name}.{m}" for m in ("conv1", "bn1", "act1", "conv2", "bn2", "act2", "conv3", "bn3")], field_in)
    shortcut: list[LayerSummary] = []
    f_short = field_in
    if block.downsample is not None:
        names = [f"{name}.downsample.{i}" for i in range(len(block.downsample))]
        shortcut, f_short = rec.chain(names, field_in, shortcut=True)
    # With symmetric padding both paths stay centred, so the sum sees the larger window.
    f_sum = _Field(max(f_res.rf, f_short.rf), f_res.jump)
    add_relu, f_out = rec.layer(f"{name}.act3", f_sum)
    return _block(name, block.kind, stage, [*residual, *shortcut, add_relu], block, f_out), f_out


def summarize(input_size: tuple[int, int] = (224, 224), num_classes: int = 1000) -> ModelSummary:
    """Summarise ResNet-50 for one ``(H, W)`` input and ``num_classes`` outputs.

    Raises:
        ValueError: for an input too small to survive the five stride-2 stages, or no classes.
    """
    height, width = (int(v) for v in input_size)
    problem = input_size_problem(height, width)
    if problem:
        raise ValueError(problem)
    model = ResNet50(num_classes=num_classes).eval()
    rec = _Recorder(model, (height, width))

    stem_layers, field = rec.chain(["conv1", "bn1", "relu", "maxpool"], _Field())
    stem = _block("stem", "stem", "stage1", stem_layers, None, field)
    stages = [StageSummary("stage1", "stem", stem.output_shape, stem.params, stem.mult_adds, stem.activation_bytes, [stem])]
    for spec, seq in model.stage_modules():
        blocks = []
        for index, block in enumerate(seq):
            summary, field = _bottleneck(rec, f"{spec.module}.{index}", block, spec.name, field)
            blocks.append(summary)
        stages.append(
            StageSummary(
                name=spec.name,
                module=spec.module,
                output_shape=blocks[-1].output_shape,
                params=count_parameters(seq),
                mult_adds=sum(b.mult_adds for b in blocks),
                activation_bytes=sum(b.activation_bytes for b in blocks),
                blocks=blocks,
            )
        )
    head_layers, _ = rec.chain(["avgpool", "fc"], field)
    head = HeadSummary(
        name="head",
        input_shape=head_layers[0].input_shape,
        output_shape=head_layers[-1].output_shape,
        params=sum(layer.params for layer in head_layers),
        mult_adds=sum(layer.mult_adds for layer in head_layers),
        activation_bytes=sum(layer.activation_bytes for layer in head_layers),
        layers=head_layers,
    )
    all_params = list({id(p): p for p in model.parameters()}.values())
    return ModelSummary(
        input_size=[height, width],
        num_classes=num_classes,
        total_params=sum(p.numel() for p in all_params),
        trainable_params=sum(p.numel() for p in all_params if p.requires_grad),
        mult_adds=sum(s.mult_adds for s in stages) + head.mult_adds,
        activation_bytes=sum(s.activation_bytes for s in stages) + head.activation_bytes,
        stages=stages,
        head=head,
    )
