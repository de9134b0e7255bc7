"""The two ONNX runtimes an engine can run on: onnxruntime (CPU execution provider, graph
optimisation ALL) and OpenVINO (CPU plugin, latency hint), each made from the bytes of an ONNX model.

Core layer, pure PyTorch; each runtime is imported only when one of its engines is made. Both use
as many threads as torch does (``torch.get_num_threads()``), so ``--inference-threads`` and the
app's thread budget apply to them too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from explorer.core.inference.engines.onnx_graph import INPUT


class EngineUnavailable(Exception):
    """The engine cannot run here (not installed, wrong device or precision, a model it cannot
    take); the message says why in a few words."""


def _array(batch: torch.Tensor) -> Any:
    return batch.detach().to("cpu", torch.float32).contiguous().numpy()


class OnnxRuntimeEngine:
    name = "onnxruntime"

    def __init__(self, graph: bytes, precision: str) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = torch.get_num_threads()
        options.inter_op_num_threads = 1
        # No busy-waiting between calls: faster here under load (the 2-core machine is shared) and
        # it leaves the cores to the gradient lab between two predictions in the app.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # errors only: its warnings would reach the user's terminal
        self.precision = precision
        self._session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self._session.run(None, {INPUT: _array(batch)})[0])


class OpenVinoEngine:
    name = "openvino"
    _HINTS = {"fp32": "f32", "bf16": "bf16"}

    def __init__(self, graph: bytes, precision: str) -> None:
        import openvino as ov

        core = ov.Core()
        compiled = core.compile_model(core.read_model(graph), "CPU", {
            "INFERENCE_PRECISION_HINT": self._HINTS[precision],
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": torch.get_num_threads(),
        })
        # Without native bf16 OpenVINO silently runs f32: say so rather than label f32 as bf16.
        actual = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()  # "f32", "bf16"
        if actual != self._HINTS[precision]:
            raise EngineUnavailable(f"OpenVINO runs {actual} on this CPU, not {precision}")
        self.precision = precision
        self._request = compiled.create_infer_request()

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        # The request reuses its output buffer on the next call: copy the logits out.
        return torch.from_numpy(self._request.infer({0: _array(batch)})[0].copy())


@dataclass(frozen=True)
class Runtime:
    module: str  # what must be importable
    precisions: tuple[str, ...]  # what it runs on a CPU
    make: Callable[[bytes, str], Any]


RUNTIMES: dict[str, Runtime] = {
    "onnxruntime": Runtime("onnxruntime", ("fp32",), OnnxRuntimeEngine),
    "openvino": Runtime("openvino", ("fp32", "bf16"), OpenVinoEngine),
}
