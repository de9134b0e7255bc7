"""Bench suite ``engines``: the classifier's prediction path with each engine this project keeps,
against what a user would otherwise pick (onnxruntime fp32 and OpenVINO on torch.onnx.export's
graph, PyTorch eager), in one process and round-robin, at batch 1 and 8 on the CPU; the floors a
matmul measured in the same run puts under any of them; and the time from loading weights to the
first prediction, export included and from the cache.

Beside the tuned contenders, onnxruntime and OpenVINO at their own defaults (no option set), and
what the default install runs (``--engine auto --precision auto``). Targets: the default install at
most 1.0x the fastest of the two at their defaults (issue 21), the project's path at most 1.0x
onnxruntime fp32 and OpenVINO bf16 (issue 14), at both batch sizes; the first prediction within 3 s
of loading. It prints the CPU features the choice depends on. Random weights: speed does not depend
on their values, and nothing is downloaded. A contender that is not installed, or a precision this
CPU does not run natively, is listed as not measured, with the reason.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from explorer.bench._timing import interleaved, median_min
from explorer.core.argtypes import bounded, positive_int
from explorer.core.choices import ENGINES
from explorer.core.network.memory import check_fits, inference_bytes
from explorer.core.network.stages import MIN_INPUT_SIZE

BATCHES = (1, 8)
ORT_DEFAULTS, OPENVINO_DEFAULTS = "onnxruntime defaults", "openvino defaults"
DEFAULT_RATIO = "default install / fastest peer"
# The features the engines' speed turns on: AVX2 everywhere, AVX-512, native bf16 (AVX512-BF16 or
# AMX), AMX's tiles, VNNI (int8).
CPU_FEATURES = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16", "avx512_vnni", "avx_vnni", "avx512_fp16")
FIRST_PREDICTION_TARGET_S = 3.0
_MATMUL_SIDE = 2048  # 17 GFLOP a call: long enough for a steady rate, short beside a batch of 8
_MODELS = 9  # ResNet-50 copies alive at once: the project's engines and the contenders


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("engines suite")
    group.add_argument("--engines-repeats", type=positive_int, default=15, metavar="N", help="timed rounds per batch size (default 15)")
    group.add_argument("--engines-warmup", type=positive_int, default=2, metavar="N", help="untimed rounds first (default 2)")
    group.add_argument("--engines-size", type=bounded(int, MIN_INPUT_SIZE, 1024), default=224, metavar="PX",
                       help=f"input side in pixels ({MIN_INPUT_SIZE}..1024, default 224)")


def check(args: argparse.Namespace) -> None:
    side, batch = args.engines_size, max(BATCHES)
    check_fits(f"--engines-size {side}", inference_bytes(batch, side, side, models=_MODELS))


def run(args: argparse.Namespace) -> dict[str, Any]:
    from explorer.core.inference.engines import cache

    with _cache_folder(cache.ENV_VAR):  # random weights: nothing worth keeping in the user's cache
        return _run(args)


def _run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from explorer.core.devices import supported_precisions
    from explorer.core.inference.quick import cpu_flags

    cpu = torch.device("cpu")
    native_bf16 = "bf16" in supported_precisions(cpu)
    side = args.engines_size
    load_start = os.getloadavg()[0]
    contenders, auto, not_measured = _contenders(side, native_bf16)
    result: dict[str, Any] = {
        "device": "cpu", "cpu": _cpu_name(), "cpu_features": sorted(cpu_flags() & set(CPU_FEATURES)),
        "threads": torch.get_num_threads(), "size": side,
        "model_gflop": round(_model_gflop(side), 3), "native_bf16": native_bf16, "auto": auto, "batches": {},
    }
    matmuls = {"fp32": _matmul(torch.float32), **({"bf16": _matmul(torch.bfloat16)} if native_bf16 else {})}
    rates: dict[str, list[float]] = {p: [] for p in matmuls}
    for batch in BATCHES:
        x = torch.randn(batch, 3, side, side, generator=torch.Generator().manual_seed(batch))
        timers = {label: (lambda fn=fn: fn(x)) for label, fn in contenders.items()}
        timers.update({f"matmul {p}": fn for p, fn in matmuls.items()})
        times = interleaved(timers, args.engines_warmup, args.engines_repeats)
        for p in matmuls:
            rates[p].append(2 * _MATMUL_SIDE**3 / (statistics.median(times[f"matmul {p}"]) / 1000) / 1e9)
        result["batches"][str(batch)] = {label: median_min(times[label]) for label in contenders}
    result["matmul_gflops"] = {p: round(statistics.median(r), 1) for p, r in rates.items()}
    for batch in BATCHES:
        row = result["batches"][str(batch)]
        floors = {p: round(result["model_gflop"] * batch / g * 1000, 2) for p, g in result["matmul_gflops"].items()}
        row_ratios = _ratios(row, auto)
        result["batches"][str(batch)] = {"floor_ms": floors, "contenders": row, "ratios": row_ratios}
    result["first_prediction_s"] = _first_predictions(side)
    result["load_average"] = {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)}
    result["not_measured"] = not_measured
    return result


# -- contenders ----------------------------------------------------------------------------------


def _contenders(side: int, native_bf16: bool) -> tuple[dict[str, Callable], dict[str, str | None], list[str]]:
    """The calls to time, labelled, what ``auto`` picks, and what could not be measured and why."""
    import torch

    from explorer.core.devices import default_precision
    from explorer.core.inference.classifier import Classifier
    from explorer.core.inference.engines import installed, resolve
    from explorer.core.network.model import ResNet50

    cpu = torch.device("cpu")
    auto = {"fp32": resolve("auto", cpu, "fp32"), "bf16": resolve("auto", cpu, "bf16") if native_bf16 else None,
            "default": f"{resolve('auto', cpu, default_precision(cpu))} {default_precision(cpu)}"}
    calls: dict[str, Callable] = {}
    missing: list[str] = []
    for name in ENGINES:
        if not installed(name):
            missing.append(f"project {name}: not installed")
            continue
        classifier = Classifier("cpu", "fp32", crop=side, resize=side, engine=name)
        classifier.load("random")
        if classifier.engine != name:
            missing.append(f"project {name}: {'; '.join(classifier.notices)}")
            continue
        calls[f"project {name} fp32"] = classifier.logits
    if native_bf16:
        reduced = Classifier("cpu", "bf16", crop=side, resize=side)
        reduced.load("random", check_precision=False)  # speed only: random weights fail the top-5 check
        calls[f"project {reduced.engine} bf16"] = reduced.logits
    else:
        missing.append("project bf16 and OpenVINO bf16: this CPU has no native bf16 (AMX, AVX512-BF16); "
                       "OpenVINO would run f32 under a bf16 hint")
    eager = ResNet50(seed=0).eval()
    calls["torch eager fp32"] = lambda x: _no_grad(eager, x)
    graph = _stock_onnx(eager, side, missing)
    if graph is not None:
        calls.update(_stock_runtimes(graph, native_bf16, missing))
    return calls, auto, missing


def _no_grad(model: Any, x: Any) -> Any:
    import torch

    with torch.inference_mode():
        return model(x)


def _stock_onnx(model: Any, side: int, missing: list[str]) -> bytes | None:
    """ResNet-50 as a user would export it: ``torch.onnx.export`` (TorchScript exporter), dynamic batch."""
    import torch

    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (torch.zeros(1, 3, side, side),), buffer, dynamo=False, input_names=["x"],
                              output_names=["y"], dynamic_axes={"x": {0: "batch"}})
    except Exception as exc:  # an exporter that needs a package this machine lacks (onnx)
        missing.append(f"onnxruntime/OpenVINO on torch.onnx.export's graph: the export failed ({type(exc).__name__}: {exc})")
        return None
    return buffer.getvalue()


def _stock_runtimes(graph: bytes, native_bf16: bool, missing: list[str]) -> dict[str, Callable]:
    import torch

    from explorer.core.inference.runtimes import import_openvino

    threads = torch.get_num_threads()
    calls: dict[str, Callable] = {}
    try:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        calls["onnxruntime fp32"] = lambda x: session.run(None, {"x": x.numpy()})[0]
        untuned = ort.InferenceSession(graph)  # no option at all: what a user's first try runs
        calls[ORT_DEFAULTS] = lambda x: untuned.run(None, {"x": x.numpy()})[0]
    except ImportError:
        missing.append("onnxruntime fp32: onnxruntime is not installed (pip install -e '.[bench]')")
    try:
        ov = import_openvino()
    except ImportError:
        missing.append("OpenVINO: not installed (pip install -e '.[bench]')")
        return calls
    core = ov.Core()
    compiled = core.compile_model(core.read_model(graph), "CPU")  # no option at all
    request, runs = compiled.create_infer_request(), compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
    calls[f"{OPENVINO_DEFAULTS} ({'fp32' if runs == 'f32' else runs})"] = lambda x, request=request: request.infer({0: x.numpy()})[0]
    for precision, hint in (("fp32", "f32"), ("bf16", "bf16")):
        if precision == "bf16" and not native_bf16:
            continue
        compiled = core.compile_model(core.read_model(graph), "CPU", {
            "INFERENCE_PRECISION_HINT": hint, "PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads})
        actual = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
        if actual != hint:
            missing.append(f"OpenVINO {precision}: it runs {actual} on this CPU")
            continue
        request = compiled.create_infer_request()
        calls[f"openvino {precision}"] = lambda x, request=request: request.infer({0: x.numpy()})[0]
    return calls


def _ratios(row: dict[str, dict[str, float]], auto: dict[str, str | None]) -> dict[str, float]:
    """default install / fastest peer at its defaults, project/onnxruntime fp32 and
    project/OpenVINO bf16, where both sides were measured."""
    ratios = {}
    default, peers = f"project {auto['default']}", [t["median"] for p, t in row.items() if p.startswith((ORT_DEFAULTS, OPENVINO_DEFAULTS))]
    if default in row and peers:
        ratios[DEFAULT_RATIO] = round(row[default]["median"] / min(peers), 3)
    for precision, reference in (("fp32", "onnxruntime fp32"), ("bf16", "openvino bf16")):
        project = f"project {auto[precision]} {precision}"
        if auto[precision] and project in row and reference in row:
            ratios[f"project/{reference}"] = round(row[project]["median"] / row[reference]["median"], 3)
    return ratios


# -- floors and first predictions ----------------------------------------------------------------


def _matmul(dtype: Any) -> Callable[[], Any]:
    import torch

    a, b = (torch.randn(_MATMUL_SIDE, _MATMUL_SIDE).to(dtype) for _ in range(2))
    return lambda: torch.mm(a, b)


def _model_gflop(side: int) -> float:
    """Floating-point operations of one forward pass (2 per mult-add, torchinfo's conventions, from
    the layer table), in GFLOP."""
    from explorer.core.network.counts import mult_adds_total
    from explorer.core.network.stages import resnet_spec

    return 2 * mult_adds_total(resnet_spec("resnet50"), side, side) / 1e9


def _first_predictions(side: int) -> dict[str, dict[str, float]]:
    """Seconds from ``Classifier.load`` to the end of the first prediction, per engine: with the
    model exported during the load (an empty cache), then read back from the cache."""
    from explorer.core.inference.classifier import Classifier
    from explorer.core.inference.engines import cache, installed
    from explorer.core.samples import sample_images

    image_path = sample_images()[0]
    out: dict[str, dict[str, float]] = {}
    with _cache_folder(cache.ENV_VAR):
        for name in ENGINES:
            if not installed(name):
                continue
            timings = {}
            for state in ("exported", "cached"):
                classifier = Classifier("cpu", "fp32", crop=side, resize=side, engine=name)
                image = classifier.decode(image_path)
                start = time.perf_counter()
                classifier.load("random")
                classifier.classify(image)
                timings[state] = round(time.perf_counter() - start, 3)
            out[name] = timings if name != "torch" else {"load": timings["exported"]}
    return out


@contextlib.contextmanager
def _cache_folder(variable: str) -> Iterator[None]:
    """An empty engine cache for the duration (nested: another empty one), the user's left untouched."""
    previous = os.environ.get(variable)
    with tempfile.TemporaryDirectory(prefix="engine-cache-") as folder:
        os.environ[variable] = folder
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = previous


def _cpu_name() -> str | None:
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), None)
    except OSError:
        return None


def describe(result: dict[str, Any]) -> str:
    load = result["load_average"]
    gflops = result["matmul_gflops"]
    lines = [
        f"engines on {result['cpu'] or 'cpu'} ({result['threads']} threads), ResNet-50 at {result['size']}x{result['size']} "
        f"({result['model_gflop']:.1f} GFLOP), random weights; load average {load['start']} -> {load['end']}",
        f"  matmul fp32 {gflops['fp32']:.0f} GFLOP/s" + (f", bf16 {gflops['bf16']:.0f} GFLOP/s" if "bf16" in gflops else ", bf16 not native"),
        f"  CPU features: {', '.join(result['cpu_features']) or 'none of ' + ', '.join(CPU_FEATURES)}",
        f"  auto picks {result['auto']['fp32']} for fp32" + (f", {result['auto']['bf16']} for bf16" if result["auto"]["bf16"] else "")
        + f"; the default install (precision auto) runs {result['auto']['default']}",
    ]
    for batch, row in result["batches"].items():
        floors = ", ".join(f"{p} {ms:.1f} ms" for p, ms in row["floor_ms"].items())
        lines.append(f"  batch {batch} (floor: {floors})")
        for label, t in row["contenders"].items():
            ratio = t["median"] / row["floor_ms"]["fp32"]
            lines.append(f"    {label:<26} median {t['median']:8.1f} ms   min {t['min']:8.1f} ms   {ratio:5.2f}x fp32 floor")
        for name, ratio in row["ratios"].items():
            lines.append(f"    {name:<26} {ratio:.2f} (target <= 1.0: {'met' if ratio <= 1.0 else 'missed'})")
    for name, t in result["first_prediction_s"].items():
        times = ", ".join(f"{state} {s:.2f} s" for state, s in t.items())
        worst = max(t.values())
        lines.append(f"  first prediction after load, {name}: {times} (target <= {FIRST_PREDICTION_TARGET_S:.0f} s: "
                     f"{'met' if worst <= FIRST_PREDICTION_TARGET_S else 'missed'})")
    lines += [f"  not measured: {reason}" for reason in result["not_measured"]]
    return "\n".join(lines)
