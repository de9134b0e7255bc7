"""Every leaf layer of a family member, in network order, with its shapes, parameters, mult-adds,
geometry and receptive field, computed from the spec alone: what ``summarize()`` reports and what
memory estimates count, with no model built and no forward pass (ResNet-152's 521 layers in a few
milliseconds).

Core layer, pure Python. Conventions are torchinfo's (1.8), so the numbers equal torchinfo on
torchvision's models (tests compare every member layer by layer): a conv's mult-adds are its weight
elements times its output positions, a BatchNorm's its 2C parameters, the fc's its weights and bias;
ReLU and pooling count none. Receptive fields follow Araujo et al. 2019 ("Computing Receptive Fields
of CNNs"): a layer of kernel k and stride s widens the field by (k - 1) times the cumulative stride.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from explorer.core.network.blocks import HEAD, STEM, projections
from explorer.core.network.stages import ResNetSpec

FLOAT32_BYTES = 4


@dataclass(frozen=True)
class Layer:
    """One leaf layer (conv, BN, ReLU, pool, fc), as the summary, the inspector and the memory
    estimates see it. Shapes exclude the batch dimension."""

    name: str  # module path, e.g. "layer2.0.conv2"
    type: str  # "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "AdaptiveAvgPool2d", "Linear"
    block: str  # "stem", a block prefix such as "layer2.0", or "head"
    input_shape: list[int]
    output_shape: list[int]
    params: int
    mult_adds: int
    receptive_field: int  # side of the input window that can influence one output position
    stride: int  # cumulative stride (jump) relative to the input image
    kernel: int | None = None
    conv_stride: int | None = None  # this layer's own stride
    padding: int | None = None
    shortcut: bool = False  # True for the projection conv/BN on a convolutional block's shortcut
    activation_bytes: int = field(init=False)  # output size per image in float32

    def __post_init__(self) -> None:
        object.__setattr__(self, "activation_bytes", self.elements * FLOAT32_BYTES)

    @property
    def elements(self) -> int:
        """Output elements per image."""
        n = 1
        for d in self.output_shape:
            n *= d
        return n


class _Walk:
    """Appends layers while tracking the current shape and receptive field (rf, jump)."""

    def __init__(self, height: int, width: int) -> None:
        self.layers: list[Layer] = []
        self.shape: tuple[int, ...] = (3, height, width)
        self.rf, self.jump = 1, 1

    def conv(self, name: str, block: str, out_ch: int, kernel: int, stride: int = 1, groups: int = 1, shortcut: bool = False) -> None:
        params = out_ch * (self.shape[0] // groups) * kernel * kernel
        self.spatial(name, "Conv2d", block, out_ch, kernel, stride, kernel // 2, params, shortcut)
        layer = self.layers[-1]
        self.layers[-1] = replace(layer, mult_adds=params * layer.output_shape[1] * layer.output_shape[2])

    def spatial(self, name: str, kind: str, block: str, out_ch: int, kernel: int, stride: int, padding: int, params: int = 0,
                shortcut: bool = False) -> None:
        c, h, w = self.shape
        out = (out_ch, (h + 2 * padding - kernel) // stride + 1, (w + 2 * padding - kernel) // stride + 1)
        self.rf, self.jump = self.rf + (kernel - 1) * self.jump, self.jump * stride
        self.layers.append(Layer(name, kind, block, list(self.shape), list(out), params, 0, self.rf, self.jump, kernel, stride, padding, shortcut))
        self.shape = out

    def pointwise(self, name: str, kind: str, block: str, shortcut: bool = False) -> None:
        """BN or ReLU: shape and field unchanged; a BN has 2C parameters and as many mult-adds."""
        params = 2 * self.shape[0] if kind == "BatchNorm2d" else 0
        self.layers.append(Layer(name, kind, block, list(self.shape), list(self.shape), params, params, self.rf, self.jump, shortcut=shortcut))


def layer_table(spec: ResNetSpec, height: int = 224, width: int = 224, num_classes: int = 1000) -> list[Layer]:
    """Every leaf layer of ``spec`` at a ``height`` x ``width`` input with ``num_classes`` outputs,
    in registration (= call) order: the stem's conv1, bn1, relu, maxpool (none in the CIFAR networks);
    in each block its residual branch, then its projection (``downsample.0``/``.1``, ``shortcut=True``;
    none with option A's zero-padding, which has no layer), then the ReLU after the addition; the
    head's avgpool and fc."""
    walk = _Walk(height, width)
    if spec.stem == "imagenet":
        walk.conv("conv1", STEM, spec.stem_channels, 7, 2)
    else:  # CIFAR: a 3x3 conv at full resolution and no max-pool
        walk.conv("conv1", STEM, spec.stem_channels, 3, 1)
    walk.pointwise("bn1", "BatchNorm2d", STEM)
    walk.pointwise("relu", "ReLU", STEM)
    if spec.stem == "imagenet":
        walk.spatial("maxpool", "MaxPool2d", STEM, spec.stem_channels, 3, 2, 1)
    bottleneck = spec.block == "bottleneck"
    for stage, projected in zip(spec.stages, projections(spec.stages)):
        for index in range(stage.blocks):
            name, stride = f"{stage.module}.{index}", stage.stride if index == 0 else 1
            start = (walk.shape, walk.rf, walk.jump)
            if bottleneck:
                f1, f2, f3 = stage.filters
                walk.conv(f"{name}.conv1", name, f1, 1)
                walk.pointwise(f"{name}.bn1", "BatchNorm2d", name)
                walk.pointwise(f"{name}.act1", "ReLU", name)
                walk.conv(f"{name}.conv2", name, f2, 3, stride, stage.groups)  # V1.5: the stride on the 3x3
                walk.pointwise(f"{name}.bn2", "BatchNorm2d", name)
                walk.pointwise(f"{name}.act2", "ReLU", name)
                walk.conv(f"{name}.conv3", name, f3, 1)
                walk.pointwise(f"{name}.bn3", "BatchNorm2d", name)
            else:
                f1, f2 = stage.filters
                walk.conv(f"{name}.conv1", name, f1, 3, stride)
                walk.pointwise(f"{name}.bn1", "BatchNorm2d", name)
                walk.pointwise(f"{name}.act1", "ReLU", name)
                walk.conv(f"{name}.conv2", name, f2, 3)
                walk.pointwise(f"{name}.bn2", "BatchNorm2d", name)
            residual_rf = walk.rf
            if index == 0 and projected:
                end = walk.shape, walk.rf, walk.jump
                walk.shape, walk.rf, walk.jump = start
                walk.conv(f"{name}.downsample.0", name, stage.out_channels, 1, stride, shortcut=True)
                walk.pointwise(f"{name}.downsample.1", "BatchNorm2d", name, shortcut=True)
                walk.shape, walk.rf, walk.jump = end[0], max(end[1], walk.rf), end[2]
            else:
                # With symmetric padding both paths stay centred, so the sum sees the larger window
                # (a zero-padded shortcut, option A, takes single positions: it widens nothing).
                walk.rf = max(residual_rf, start[1])
            walk.pointwise(f"{name}.{'act3' if bottleneck else 'act2'}", "ReLU", name)
    channels = walk.shape[0]
    walk.layers.append(Layer("avgpool", "AdaptiveAvgPool2d", HEAD, list(walk.shape), [channels, 1, 1], 0, 0, walk.rf, walk.jump))
    fc_params = channels * num_classes + num_classes
    walk.layers.append(Layer("fc", "Linear", HEAD, [channels], [num_classes], fc_params, fc_params, walk.rf, walk.jump))
    return walk.layers


# PyTorch's BatchNorm2d counts its training batches in this scalar buffer; checkpoints saved before
# PyTorch 0.4.1 (torchvision's V1 files among them) have none.
BATCHNORM_COUNTER = "num_batches_tracked"


def state_shapes(spec: ResNetSpec, num_classes: int = 1000) -> dict[str, tuple[int, ...]]:
    """Every key of a member's state dict with its tensor's shape, in the model's order, from the
    layer table alone (no model built): what a checkpoint of ``spec`` must hold. Convolutions have
    no bias (as torchvision's); a BatchNorm holds weight, bias, running mean and variance, and the
    scalar :data:`BATCHNORM_COUNTER`."""
    shapes: dict[str, tuple[int, ...]] = {}
    for layer in layer_table(spec, 32, 32, num_classes):
        if layer.type == "Conv2d":
            assert layer.kernel is not None
            out, kernel = layer.output_shape[0], layer.kernel
            shapes[f"{layer.name}.weight"] = (out, layer.params // (out * kernel * kernel), kernel, kernel)
        elif layer.type == "BatchNorm2d":
            channels = (layer.output_shape[0],)
            for field in ("weight", "bias", "running_mean", "running_var"):
                shapes[f"{layer.name}.{field}"] = channels
            shapes[f"{layer.name}.{BATCHNORM_COUNTER}"] = ()
        elif layer.type == "Linear":
            shapes[f"{layer.name}.weight"] = (num_classes, layer.input_shape[0])
            shapes[f"{layer.name}.bias"] = (num_classes,)
    return shapes


def parameter_total(spec: ResNetSpec, num_classes: int = 1000) -> int:
    """Parameters of a member with ``num_classes`` outputs (independent of the input size; the
    table at the least input is walked). ResNet-50: 25,557,032."""
    return sum(layer.params for layer in layer_table(spec, 32, 32, num_classes))


def mult_adds_total(spec: ResNetSpec, height: int = 224, width: int = 224, num_classes: int = 1000) -> int:
    """Mult-adds of one image (ResNet-50 at 224x224: 4,089,238,376)."""
    return sum(layer.mult_adds for layer in layer_table(spec, height, width, num_classes))
