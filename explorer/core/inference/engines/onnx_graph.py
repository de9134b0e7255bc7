"""An ONNX graph of a convolutional network, translated from its torch.fx trace: the handful of
operations a ResNet is made of (convolutions, ReLU, the residual addition, max/average pooling,
flatten, the linear head, eval-mode BatchNorm), and nothing else.

Core layer, pure PyTorch; the bytes are written by :mod:`onnx_proto`. Why not ``torch.onnx.export``: on the 2-core development machine
it took 2.2-3.3 s for ResNet-50 (TorchScript tracing; the dynamo exporter 8.6 s), the trace here
takes 0.06 s, so a first prediction after loading weights stays within 3 s even when the engine has
to be built. Anything outside the supported set raises :class:`UnsupportedModel` (the caller then
keeps PyTorch); the engine that runs the graph is checked against PyTorch on every load anyway.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from explorer.core.inference.engines import onnx_proto
from explorer.core.inference.runtimes import INPUT

# ONNX operator set 17: every operator used here exists in it, onnxruntime and OpenVINO read it.
OPSET = 17
OUTPUT = "logits"
# Bumped whenever the translation changes, so that cached graphs made by an older one are not reused.
EXPORTER_VERSION = 1
_PROTOBUF_LIMIT = 2**31 - 1  # one protobuf message, weights included (ResNet-152: 240 MB)


class UnsupportedModel(Exception):
    """The model cannot be translated (an operation outside the supported set, data-dependent
    control flow); the message names the first such operation."""


class _Tracer(fx.Tracer):
    """torch.fx's tracer, with every BatchNorm kept whole (their forward checks the input's rank,
    which a symbolic trace cannot follow): the translation then sees one layer per BatchNorm.

    While it traces, torch.fx patches ``nn.Module.__call__`` and ``__getattr__`` for the whole
    process; a model another thread runs meanwhile (the window's race or gradient lab beside a
    weights load) would be traced too and fail with "module is not installed as a submodule". Calls
    from any other thread than the tracing one pass straight through.
    """

    def __init__(self) -> None:
        super().__init__()
        self._thread = threading.get_ident()

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, nn.modules.batchnorm._BatchNorm) or super().is_leaf_module(m, qualname)

    def call_module(self, m: nn.Module, forward: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        if threading.get_ident() != self._thread:
            return forward(*args, **kwargs)
        return super().call_module(m, forward, args, kwargs)

    def getattr(self, attr: str, attr_val: Any, parameter_proxy_cache: dict) -> Any:
        if threading.get_ident() != self._thread:
            return attr_val
        return super().getattr(attr, attr_val, parameter_proxy_cache)


def trace(model: nn.Module) -> fx.GraphModule:
    """The model's torch.fx graph (raises :class:`UnsupportedModel` when it cannot be traced)."""
    try:
        return fx.GraphModule(model, _Tracer().trace(model))
    except Exception as exc:  # fx raises TraceError, TypeError, NotImplementedError... for untraceable code
        raise UnsupportedModel(f"cannot be traced by torch.fx ({type(exc).__name__}: {exc})") from None


def onnx_model(model: nn.Module) -> onnx_proto.Pieces:
    """The ONNX model of ``model`` as :data:`~onnx_proto.Pieces` to write in order (float32, in eval mode): input ``(batch, 3, height,
    width)`` with every dimension symbolic, output the logits.

    Raises:
        UnsupportedModel: an operation outside the supported set, or a model over 2 GB.
    """
    graph = trace(model.eval())
    builder = _Builder(graph)
    for node in graph.graph.nodes:
        builder.add(node)
    if sum(len(p) for t in builder.initializers for p in t) > _PROTOBUF_LIMIT:
        raise UnsupportedModel("the model is over 2 GB, more than one ONNX file can hold")
    return onnx_proto.model(
        type(model).__name__, builder.nodes, builder.initializers,
        [onnx_proto.value_info(INPUT, ["batch", 3, "height", "width"])], [onnx_proto.value_info(OUTPUT, ["batch", "classes"])],
        OPSET, "resnet-explorer",
    )


def _pair(value: int | tuple[int, ...]) -> list[int]:
    return list(value) if isinstance(value, (tuple, list)) else [value, value]


class _Builder:
    """Turns fx nodes into ONNX nodes, one at a time, in graph order."""

    def __init__(self, graph: fx.GraphModule) -> None:
        self.graph = graph
        self.nodes: list[onnx_proto.Pieces] = []
        self.initializers: list[onnx_proto.Pieces] = []
        self.names: dict[fx.Node, str] = {}  # the ONNX value each fx node produced
        self.output_seen = False
        self._modules: dict[type, Callable[[nn.Module, str, list[str]], str]] = {
            nn.Conv2d: self._conv, nn.Linear: self._linear, nn.BatchNorm2d: self._batchnorm,
            nn.ReLU: self._unary("Relu"), nn.MaxPool2d: self._maxpool, nn.AvgPool2d: self._avgpool,
            nn.AdaptiveAvgPool2d: self._adaptive_avgpool, nn.Flatten: self._flatten_module,
            nn.Identity: self._alias, nn.Dropout: self._alias,
        }

    def add(self, node: fx.Node) -> None:
        if node.op == "placeholder":
            if self.names:
                raise UnsupportedModel(f"more than one input ({node.name})")
            self.names[node] = INPUT
        elif node.op == "output":
            result = node.args[0]
            if not isinstance(result, fx.Node):
                raise UnsupportedModel("the output is not a single tensor")
            self._emit("Identity", [self._value(result)], OUTPUT)
        elif node.op == "call_module":
            module = self.graph.get_submodule(str(node.target))
            handler = self._modules.get(type(module))
            if handler is None:
                raise UnsupportedModel(f"unsupported layer {type(module).__name__} ({node.target})")
            self.names[node] = handler(module, node.name, [self._value(a) for a in node.args])
        elif node.op in ("call_function", "call_method"):
            self.names[node] = self._function(node)
        else:
            raise UnsupportedModel(f"unsupported graph node {node.op} {node.target}")

    # -- helpers -------------------------------------------------------------------------------

    def _value(self, arg: Any) -> str:
        if not isinstance(arg, fx.Node) or arg not in self.names:
            raise UnsupportedModel(f"an argument that is not a tensor computed earlier: {arg!r}")
        return self.names[arg]

    def _emit(self, op: str, inputs: list[str], output: str, **attributes: Any) -> str:
        self.nodes.append(onnx_proto.node(op, inputs, [output], output, **attributes))
        return output

    def _constant(self, name: str, tensor: torch.Tensor) -> str:
        self.initializers.append(onnx_proto.tensor(name, tensor.detach().to("cpu", torch.float32).numpy()))
        return name

    # -- layers --------------------------------------------------------------------------------

    def _conv(self, conv: nn.Module, name: str, args: list[str]) -> str:
        assert isinstance(conv, nn.Conv2d)
        if conv.padding_mode != "zeros" or isinstance(conv.padding, str) and conv.padding != "valid":
            raise UnsupportedModel(f"{name}: convolution padding {conv.padding!r}/{conv.padding_mode} is not supported")
        ph, pw = (0, 0) if isinstance(conv.padding, str) else _pair(conv.padding)
        inputs = [args[0], self._constant(f"{name}.weight", conv.weight)]
        if conv.bias is not None:
            inputs.append(self._constant(f"{name}.bias", conv.bias))
        return self._emit("Conv", inputs, name, kernel_shape=_pair(conv.kernel_size), strides=_pair(conv.stride),
                          pads=[ph, pw, ph, pw], dilations=_pair(conv.dilation), group=conv.groups)

    def _linear(self, linear: nn.Module, name: str, args: list[str]) -> str:
        assert isinstance(linear, nn.Linear)
        # Gemm takes a matrix: the head of a ResNet always follows a flatten to (B, features).
        inputs = [args[0], self._constant(f"{name}.weight", linear.weight)]
        if linear.bias is not None:
            inputs.append(self._constant(f"{name}.bias", linear.bias))
        return self._emit("Gemm", inputs, name, transB=1)

    def _batchnorm(self, bn: nn.Module, name: str, args: list[str]) -> str:
        assert isinstance(bn, nn.BatchNorm2d)
        if bn.training or bn.running_mean is None or bn.running_var is None:
            raise UnsupportedModel(f"{name}: BatchNorm with batch statistics cannot be exported")
        ones = torch.ones_like(bn.running_mean)
        scale = bn.weight if bn.weight is not None else ones
        shift = bn.bias if bn.bias is not None else torch.zeros_like(ones)
        inputs = [args[0], self._constant(f"{name}.weight", scale), self._constant(f"{name}.bias", shift),
                  self._constant(f"{name}.running_mean", bn.running_mean), self._constant(f"{name}.running_var", bn.running_var)]
        return self._emit("BatchNormalization", inputs, name, epsilon=float(bn.eps))

    def _unary(self, op: str) -> Callable[[nn.Module, str, list[str]], str]:
        return lambda _module, name, args: self._emit(op, args[:1], name)

    def _alias(self, _module: nn.Module, _name: str, args: list[str]) -> str:
        return args[0]  # Identity, and Dropout in eval mode: the same value

    def _maxpool(self, pool: nn.Module, name: str, args: list[str]) -> str:
        assert isinstance(pool, nn.MaxPool2d)
        if pool.return_indices:
            raise UnsupportedModel(f"{name}: max-pooling that returns indices")
        kernel = _pair(pool.kernel_size)
        ph, pw = _pair(pool.padding)
        return self._emit("MaxPool", args[:1], name, kernel_shape=kernel, strides=_pair(pool.stride or pool.kernel_size),
                          pads=[ph, pw, ph, pw], dilations=_pair(pool.dilation), ceil_mode=int(pool.ceil_mode))

    def _avgpool(self, pool: nn.Module, name: str, args: list[str]) -> str:
        assert isinstance(pool, nn.AvgPool2d)
        if pool.divisor_override is not None:
            raise UnsupportedModel(f"{name}: average pooling with a divisor override")
        ph, pw = _pair(pool.padding)
        return self._emit("AveragePool", args[:1], name, kernel_shape=_pair(pool.kernel_size),
                          strides=_pair(pool.stride or pool.kernel_size), pads=[ph, pw, ph, pw],
                          ceil_mode=int(pool.ceil_mode), count_include_pad=int(pool.count_include_pad))

    def _adaptive_avgpool(self, pool: nn.Module, name: str, args: list[str]) -> str:
        assert isinstance(pool, nn.AdaptiveAvgPool2d)
        if _pair(pool.output_size) != [1, 1]:
            raise UnsupportedModel(f"{name}: adaptive average pooling to {pool.output_size} (only to 1x1)")
        return self._emit("GlobalAveragePool", args[:1], name)

    def _flatten_module(self, flatten: nn.Module, name: str, args: list[str]) -> str:
        assert isinstance(flatten, nn.Flatten)
        return self._flatten(name, args[0], flatten.start_dim, flatten.end_dim)

    def _flatten(self, name: str, value: str, start: int, end: int) -> str:
        # ONNX Flatten always gives a matrix; torch's flatten(x, 1) of a (B, C, 1, 1) tensor is one.
        if start != 1 or end != -1:
            raise UnsupportedModel(f"{name}: flatten from dimension {start} to {end} (only from 1 to the end)")
        return self._emit("Flatten", [value], name, axis=1)

    # -- functions and methods -----------------------------------------------------------------

    def _function(self, node: fx.Node) -> str:
        target, args, kwargs = node.target, node.args, dict(node.kwargs)
        if target in (operator.add, torch.add, "add") and len(args) == 2 and not kwargs:
            return self._emit("Add", [self._value(args[0]), self._value(args[1])], node.name)
        if target in (F.relu, torch.relu, "relu") and len(args) == 1 and set(kwargs) <= {"inplace"}:
            return self._emit("Relu", [self._value(args[0])], node.name)
        if target in (torch.flatten, "flatten") and set(kwargs) <= {"start_dim", "end_dim"}:
            start = args[1] if len(args) > 1 else kwargs.get("start_dim", 0)
            end = args[2] if len(args) > 2 else kwargs.get("end_dim", -1)
            return self._flatten(node.name, self._value(args[0]), start, end)
        raise UnsupportedModel(f"unsupported operation {getattr(target, '__name__', target)} ({node.name})")
