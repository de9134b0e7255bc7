"""Prediction engines: what runs the Classifier's forward pass, chosen per device and precision.

``torch``: PyTorch eager on the BN-folded, channels_last inference copy (any device, any precision
the device runs natively). ``onnxruntime`` and ``openvino``: the inference copy translated to ONNX
(:mod:`onnx_graph`) once per set of weights and architecture, cached on disk (:mod:`cache`), run by
that runtime on the CPU. Every exported engine is checked against PyTorch eager before it is used;
one that is not installed, cannot take the model or disagrees falls back to ``torch`` with a note.
Hooks, Grad-CAM, lesions and the gradient lab never see an engine: they use the PyTorch model.

Core layer, pure PyTorch; a runtime is imported only when an engine of its own is built.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any, Protocol

import torch
from torch import nn

from explorer.core.choices import ENGINES
from explorer.core.files import sha256_of
from explorer.core.inference import quick
from explorer.core.inference.engines import cache
from explorer.core.inference.engines.onnx_graph import UnsupportedModel, onnx_model, trace
from explorer.core.inference.engines.torch_engine import TorchEngine
from explorer.core.inference.runtimes import RUNTIMES, EngineUnavailable, Graph
from explorer.core.loading import download
from explorer.core.loading.pipeline import WeightsInfo
from explorer.core.loading.sources import locate
from explorer.core.overlap import overlapped
from explorer.core.text import shown

__all__ = ["AUTO", "Engine", "EngineUnavailable", "ExportedEngine", "TorchEngine", "build", "installed", "remember", "resolve", "runs"]

# What ``auto`` takes, fastest first, per (device type, precision); the first one installed wins,
# and anything not listed runs on torch. Both runtimes are dependencies, so the default install runs
# OpenVINO on a CPU, configured as OpenVINO configures itself (runtimes.py): whatever the CPU, the
# default install then runs as OpenVINO at its defaults does (bf16 where native, else f32), one of
# the two runtimes a user would otherwise pick, and no setting tried beat that. Measured with ``resnet-explorer bench --suite engines`` (docs/benchmarks.md),
# ResNet-50 at 224x224, medians of round-robin rounds, 2 cores of an AMD EPYC (Zen 4, AVX512-BF16):
# - cpu bf16: OpenVINO about 1.9x faster than its own fp32 and 10x torch's fp32 path; on issue 14's
#   AMX Xeon 19.9 ms (batch 1) and 98 ms (batch 8) against torch bf16's 42.7 and 161 ms.
# - cpu fp32: OpenVINO and onnxruntime (no spinning) within 10% of each other, either ahead
#   depending on the load (four runs at load averages 4-15); onnxruntime's tuned session is 1.5-2x
#   faster than its defaults under load but ~40% slower on a quiet AMX Xeon (issue 21), where
#   OpenVINO's defaults do not suffer.
AUTO: dict[tuple[str, str], tuple[str, ...]] = {
    ("cpu", "fp32"): ("openvino", "onnxruntime", "torch"),
    ("cpu", "bf16"): ("openvino", "torch"),
}

# A fp32 engine must give PyTorch's logits to this fraction of their largest magnitude (at least
# 1): summation order differs between runtimes, about 1e-6 was measured; 1e-4 catches a wrong graph.
_AGREEMENT = 1e-4
# The check input: two images (a mix-up between them shows), 40 px so that the last stage still has
# 2x2 positions (every tap of its 3x3 convolutions is used) while PyTorch's reference pass stays
# around 0.05 s.
_CHECK_SHAPE = (2, 3, 40, 40)


class Engine(Protocol):
    """A forward pass: a preprocessed float32 ``(B, 3, H, W)`` batch in, raw float32 logits on the
    CPU out. Called under ``torch.inference_mode`` by one thread at a time."""

    name: str
    precision: str

    def __call__(self, batch: torch.Tensor) -> torch.Tensor: ...


class ExportedEngine:
    """A runtime's engine (:mod:`explorer.core.inference.runtimes`, numpy in and out) behind the
    :class:`Engine` protocol; ``key`` names its graph in the cache."""

    def __init__(self, runtime_engine: Any, key: str) -> None:
        self.name, self.precision = runtime_engine.name, runtime_engine.precision
        self.runtime, self.key = runtime_engine, key

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.runtime.run(batch.detach().to("cpu", torch.float32).contiguous().numpy()))


def installed(name: str) -> bool:
    """Whether the runtime behind engine ``name`` can be imported (found without importing it)."""
    return name == "torch" or importlib.util.find_spec(RUNTIMES[name].module) is not None


def runs(name: str, precision: str) -> bool:
    """Whether engine ``name`` can run ``precision`` at all (torch: whatever the device offers)."""
    return name == "torch" or precision in RUNTIMES[name].precisions


def resolve(choice: str, device: torch.device, precision: str) -> str:
    """The engine ``choice`` means on ``device`` at ``precision``: ``auto`` becomes the first
    installed engine of :data:`AUTO`, any other name stays itself.

    Raises:
        ValueError: an unknown engine name.
    """
    if choice == "auto":
        return next(name for name in (*AUTO.get((device.type, precision), ()), "torch") if installed(name))
    if choice not in ENGINES:
        raise ValueError(f"unknown engine {choice!r}; choose from auto, {', '.join(ENGINES)}")
    return choice


def build(
    name: str,
    model: nn.Module,
    inference_copy: Callable[[], nn.Module],
    device: torch.device,
    precision: str,
    notes: list[str],
    fallbacks: list[str] | None = None,
) -> Engine:
    """Engine ``name`` for ``model`` (the true model, on the CPU, in eval mode: it keys the cache and
    is the reference of the check) running ``inference_copy()`` (its BN-folded copy, made only when
    needed). Falls back to torch, appending one line to ``fallbacks`` (default ``notes``), when
    ``name`` cannot be had; what the disk cache has to say goes to ``notes``."""
    if name != "torch":
        try:
            return _exported(name, model, inference_copy, device, precision, notes)
        except EngineUnavailable as exc:
            (notes if fallbacks is None else fallbacks).append(f"{name} engine unavailable ({exc}); using torch")
    return TorchEngine(inference_copy(), device, precision)


def remember(asked: quick.Request, info: WeightsInfo, engine: Engine) -> None:
    """Record in the quick-start index (:mod:`explorer.core.inference.quick`) that ``asked`` was
    served by ``engine`` with the weights ``info`` describes, when the engine runs a cached graph."""
    if not isinstance(engine, ExportedEngine):
        return
    store = cache.Store([])
    folder, graph = store.folder, store.path(engine.key)
    previous = quick.served(asked, folder)
    try:
        same = previous is not None and previous.graph == graph.name
        graph_sha256 = previous.graph_sha256 if same else sha256_of(graph)
        graph_bytes = graph.stat().st_size
    except OSError:  # not written (an unwritable folder): nothing to serve from
        return
    origin = locate(asked.source)  # where the loaded file is: the download cache's name, or the path
    if info.sha256 is None:
        file = None
    elif origin.cache_name is not None:
        file = str(download.cache_dir() / origin.cache_name)
    else:
        file = asked.source
    quick.remember(asked, quick.Served(file, info.sha256, info.arch, info.num_classes, info.resize, info.crop, info.trained,
                                       engine.name, engine.precision, asked.device, graph.name, graph_sha256, graph_bytes), folder)


def _exported(
    name: str, model: nn.Module, inference_copy: Callable[[], nn.Module], device: torch.device, precision: str, notes: list[str]
) -> Engine:
    runtime = RUNTIMES[name]
    if device.type != "cpu":
        raise EngineUnavailable(f"it runs on the CPU, not on {device}")
    if precision not in runtime.precisions:
        raise EngineUnavailable(f"it runs {', '.join(runtime.precisions)} here, not {precision}")
    if not installed(name):
        raise EngineUnavailable(f"{runtime.module} is not installed")
    try:
        key = cache.model_key(model, trace(model).code)
        store = cache.Store(notes)
        cached = store.find(key, cache.size_limit(model))
        if cached is not None:
            engine = _checked(runtime.make, cached, key, model, precision)
            if engine is not None:
                return engine
            store.discard(key)  # unreadable or wrong: made again below
            notes.append(f"the cached engine file {shown(store.path(key))} was damaged; it was made again")
        graph = b"".join(onnx_model(inference_copy()))
    except UnsupportedModel as exc:
        raise EngineUnavailable(f"the model cannot be exported: {exc}") from None
    # The file is written while the runtime reads and compiles the bytes (both let go of the GIL):
    # 0.37 s of writing ResNet-50's 100 MB were added to the load before.
    _, engine = overlapped(lambda: store.write(key, graph), lambda: _checked(runtime.make, graph, key, model, precision))
    if engine is None:
        raise EngineUnavailable("its output differs from PyTorch's")
    return engine


def _checked(make: Callable[[Graph, str], Any], graph: Graph, key: str, model: nn.Module, precision: str) -> Engine | None:
    """The engine made from ``graph`` (its bytes or its file, cached under ``key``), or None when the runtime refuses the file (a damaged cache
    entry) or, in fp32, its logits differ from PyTorch eager's on a seeded input. That eager answer is
    computed on a helper thread while the runtime compiles (which lets go of the GIL): 75 ms of
    ResNet-152's fp32 load were spent after the compile."""
    x = torch.randn(_CHECK_SHAPE, generator=torch.Generator().manual_seed(0))

    def eager() -> torch.Tensor:
        with torch.inference_mode():
            return model(x).float()

    try:
        if precision == "fp32":
            expected, runtime_engine = overlapped(eager, lambda: make(graph, precision))
        else:  # reduced precision is judged on the sample photos by the Classifier
            expected, runtime_engine = None, make(graph, precision)
        engine = ExportedEngine(runtime_engine, key)
    except EngineUnavailable:
        raise
    except ImportError as exc:  # found but broken (a missing shared library, a mismatched build)
        raise EngineUnavailable(f"it cannot be imported ({exc})") from None
    except Exception:  # each runtime raises its own types for a malformed model
        return None
    if expected is None:
        return engine
    with torch.inference_mode():
        got = engine(x)
    if got.shape != expected.shape:
        return None
    if not (got - expected).abs().max() <= _AGREEMENT * max(1.0, float(expected.abs().max())):
        return None
    return engine
    x = torch.randn(_CHECK_SHAPE, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        expected, got = model(x).float(), engine(x)
    if got.shape != expected.shape:
        return None
    if not (got - expected).abs().max() <= _AGREEMENT * max(1.0, float(expected.abs().max())):
        return None
    return engine
