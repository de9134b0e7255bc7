"""The few ONNX protobuf messages a model file needs (model, graph, node, attribute, tensor, value
info), written directly in protobuf's wire format with the field numbers of ``onnx/onnx.proto``.

Core layer, pure Python + numpy. Why not the ``onnx`` package: importing it took 1.2 s on the
development machine (its ``ml_dtypes`` extension alone), and building a ResNet-50 through its
message classes another 1.0 s (ByteSize, SerializeToString and copies of 100 MB of weights); this
writes the same bytes in about 0.1 s. The tests read the result back with the ``onnx`` package
and its checker where it is installed.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

import numpy as np

IR_VERSION = 8  # the IR version that goes with operator set 17
_FLOAT = 1  # TensorProto.DataType.FLOAT
_ATTRIBUTE_FLOAT, _ATTRIBUTE_INT, _ATTRIBUTE_INTS = 1, 2, 7  # AttributeProto.AttributeType


# A message is kept as a list of pieces until it is written: the weights (100 MB for ResNet-50)
# are then copied once, into the file, rather than once per level of nesting.
Pieces = list  # of bytes, or memoryviews of float32 arrays


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # int64: negative numbers take ten bytes, as protobuf writes them
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _int(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _nested(field: int, pieces: Pieces) -> Pieces:
    return [_varint(field << 3 | 2) + _varint(sum(len(p) for p in pieces)), *pieces]


def _text(field: int, value: str) -> bytes:
    data = value.encode()
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def _attribute(name: str, value: int | float | Sequence[int]) -> bytes:
    parts = [_text(1, name)]
    if isinstance(value, float):
        parts += [_varint(2 << 3 | 5) + struct.pack("<f", value), _int(20, _ATTRIBUTE_FLOAT)]
    elif isinstance(value, int):
        parts += [_int(3, value), _int(20, _ATTRIBUTE_INT)]
    else:
        parts += [*(_int(8, v) for v in value), _int(20, _ATTRIBUTE_INTS)]
    return b"".join(parts)


def node(op: str, inputs: Iterable[str], outputs: Iterable[str], name: str, **attributes: int | float | Sequence[int]) -> Pieces:
    """A NodeProto: ``op`` (an operator of the default domain) with its attributes."""
    parts = [*(_text(1, i) for i in inputs), *(_text(2, o) for o in outputs), _text(3, name), _text(4, op)]
    for key, value in attributes.items():
        parts += _nested(5, [_attribute(key, value)])
    return parts


def tensor(name: str, array: np.ndarray) -> Pieces:
    """A float32 TensorProto holding ``array``'s values (little-endian raw data, not copied here)."""
    data = np.ascontiguousarray(array, dtype="<f4")
    header = b"".join([*(_int(1, d) for d in data.shape), _int(2, _FLOAT), _text(8, name)])
    return [header, *_nested(9, [memoryview(data).cast("B")])]


def value_info(name: str, shape: Sequence[int | str]) -> Pieces:
    """A float32 tensor's ValueInfoProto; a string in ``shape`` is a symbolic dimension."""
    dims: Pieces = []
    for d in shape:
        dims += _nested(1, [_int(1, d) if isinstance(d, int) else _text(2, d)])
    tensor_type = [_int(1, _FLOAT), *_nested(2, dims)]
    return [_text(1, name), *_nested(2, _nested(1, tensor_type))]


def model(name: str, nodes: Iterable[Pieces], initializers: Iterable[Pieces], inputs: Iterable[Pieces],
          outputs: Iterable[Pieces], opset: int, producer: str) -> Pieces:
    """A ModelProto of one graph in the default operator set ``opset``, as pieces to write in order
    (``b"".join`` them for the bytes)."""
    graph: Pieces = []
    for field, messages in ((1, nodes), (5, initializers), (11, inputs), (12, outputs)):
        for message in messages:
            graph += _nested(field, message)
    graph.append(_text(2, name))
    opset_id = _text(1, "") + _int(2, opset)
    return [_int(1, IR_VERSION), _text(2, producer), *_nested(7, graph), *_nested(8, [opset_id])]
