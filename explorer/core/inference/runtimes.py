"""The two ONNX runtimes an engine can run on, onnxruntime and OpenVINO (CPU), each made from the bytes
of an ONNX model or its file: numpy in, numpy out, so that the app's first prediction need not wait
for torch.

Core layer, torch-free (numpy only); each runtime is imported only when one of its engines is made.
The settings are the runtimes' own defaults except where a measurement said otherwise; the numbers
behind each are in docs/benchmarks.md (``bench --suite engines``), measured on 2 cores of an AMD
EPYC (Zen 4, AVX512-BF16) quiet and under load.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

INPUT = "input"  # the input's name in the graphs onnx_graph writes
Graph = bytes | Path  # an ONNX model's bytes, or its file (checked by the caller: a regular file)


def _model(graph: Graph) -> bytes | str:
    return graph if isinstance(graph, bytes) else str(graph)


class EngineUnavailable(Exception):
    """The engine cannot run here (not installed, wrong device or precision, a model it cannot
    take); the message says why in a few words."""


class OnnxRuntimeEngine:
    """onnxruntime's CPU execution provider at its defaults (graph optimisation ALL, one intra-op
    thread per physical core) except two settings. No spinning: its threads busy-wait between
    operators by default, which on a loaded 2-core machine (load average 12) made a batch-1 forward
    1.6-2.5x slower (520 ms against 300 ms; 750-1100 ms in the app beside the start-up's threads),
    and which takes the cores from the app's other jobs between predictions; a quiet AMX Xeon paid
    about 40% for it (issue 21), the reason ``auto`` takes OpenVINO first. And errors-only logging."""

    name = "onnxruntime"

    def __init__(self, graph: Graph, precision: str) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # errors only: its warnings would reach the user's terminal
        self.precision = precision
        self._session = ort.InferenceSession(_model(graph), options, providers=["CPUExecutionProvider"])

    def run(self, batch: np.ndarray) -> np.ndarray:
        """float32 ``(B, 3, H, W)`` in, float32 logits out."""
        return self._session.run(None, {INPUT: batch})[0]


class OpenVinoEngine:
    """OpenVINO's CPU plugin at its defaults (latency hint, one stream, a thread per physical core)
    with only the precision set: adding the latency hint and the thread count by hand made it up to
    1.7x slower under load (it then pins its threads), and its default precision is bf16 wherever
    the CPU runs bf16 natively, f32 elsewhere."""

    name = "openvino"
    _HINTS = {"fp32": "f32", "bf16": "bf16"}

    def __init__(self, graph: Graph, precision: str) -> None:
        core = import_openvino().Core()
        # From a file it reads the model in about 0.17 s, from bytes in 0.34 s (ResNet-50, quiet EPYC).
        compiled = core.compile_model(core.read_model(_model(graph)), "CPU", {"INFERENCE_PRECISION_HINT": self._HINTS[precision]})
        # Without native bf16 OpenVINO silently runs f32: say so rather than label f32 as bf16.
        actual = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()  # "f32", "bf16"
        if actual != self._HINTS[precision]:
            raise EngineUnavailable(f"OpenVINO runs {actual} on this CPU, not {precision}")
        self.precision = precision
        self._request = compiled.create_infer_request()

    def run(self, batch: np.ndarray) -> np.ndarray:
        """float32 ``(B, 3, H, W)`` in, float32 logits out. The input is read in place (no copy);
        the request reuses its output buffer on the next call, so the logits are copied out."""
        return self._request.infer({0: batch}, share_inputs=True)[0].copy()


def import_openvino() -> ModuleType:
    """The ``openvino`` package, imported with its telemetry package blocked. ``import openvino``
    imports its model-conversion tools, which send an "import" event to Google Analytics from a
    forked process unless a consent file says no (openvino-telemetry consents when there is none)
    or ``CI=true``: seen with an audit hook on OpenVINO 2026.4. Blocked, the tools take their no-op
    stub; the runtime itself opens no socket (tests/core/test_engines_offline.py)."""
    sys.modules.setdefault("openvino_telemetry", None)  # None: `import openvino_telemetry` raises ImportError
    import openvino

    return openvino


@dataclass(frozen=True)
class Runtime:
    module: str  # what must be importable
    precisions: tuple[str, ...]  # what it runs on a CPU
    make: Callable[[Graph, str], Any]


RUNTIMES: dict[str, Runtime] = {
    "onnxruntime": Runtime("onnxruntime", ("fp32",), OnnxRuntimeEngine),
    "openvino": Runtime("openvino", ("fp32", "bf16"), OpenVinoEngine),
}
