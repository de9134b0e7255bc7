"""``resnet-explorer classify IMAGE...``: top-k classes (ImageNet's, or a fine-tuned head's own) for
images and folders of images with any ResNet of the family, as short tables or one JSON object.
Every readable image is classified even when others fail.

Inputs are checked before any model is built: the images (missing, unreadable, empty folders), the
weights source, the size the transform needs in memory, then the device. Exit status 0 when all
were classified, 1 when any input, the weights, the device or the memory limit failed (one line each
on stderr naming it), 2 for usage errors.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from explorer.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    add_network_arguments,
    device_name,
    download_progress,
    error,
    print_json,
    network_problem,
    note,
    positive_int,
)
from explorer.core.choices import ENGINE_CHOICES, PRECISION_CHOICES
from explorer.core.files import file_problem
from explorer.core.loading.sources import DEFAULT_CROP, DEFAULT_RESIZE, source_arch, source_problem
from explorer.core.network.memory import check_fits, classify_bytes
from explorer.core.network.stages import DEFAULT_ARCH, arch_title, input_size_problem
from explorer.core.text import shown

if TYPE_CHECKING:
    from explorer.core.images import ImageError
    from explorer.core.inference.classifier import Classifier, Prediction
    from explorer.core.loading.pipeline import WeightsInfo

COMMAND = "classify"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(COMMAND, help="top-k classes of images (files or folders), with any ResNet")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders of images")
    add_network_arguments(p)  # named weights and URLs are downloaded once into torch.hub's cache
    p.add_argument("--topk", type=positive_int, default=5, metavar="K", help="classes shown per image (default 5)")
    p.add_argument("--device", type=device_name, default="auto", help="auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps (default auto)")
    p.add_argument(
        "--precision", choices=PRECISION_CHOICES, default="auto",
        help="auto (default: bf16 on a CPU that runs it natively, else fp32), fp32, or bf16/fp16 where the hardware runs them "
        "natively; a reduced precision that changes the sample photos' top classes falls back to fp32 (with a note if named)",
    )
    p.add_argument(
        "--engine", choices=ENGINE_CHOICES, default="auto",
        help="what runs the network: auto (default: the fastest installed for the device and precision), torch, onnxruntime "
        "or openvino (CPU); one that cannot run here falls back to torch with a note",
    )
    p.add_argument("--resize", type=positive_int, metavar="N", help="shorter side after resizing (default: the weights' own, 232 or 256)")
    p.add_argument("--crop", type=positive_int, metavar="N", help="centre crop side (default 224)")
    p.add_argument(
        "--fast-decode",
        action="store_true",
        help="decode JPEGs at reduced size (faster; pixels differ slightly from torchvision's pipeline; the documentation's Benchmarks page gives the gain)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    parser: argparse.ArgumentParser = args._parser
    if args.resize is not None and args.crop is not None and args.crop > args.resize:
        parser.error(f"--crop ({args.crop}) must not exceed --resize ({args.resize})")
    contradiction = network_problem(args)
    if contradiction:
        parser.error(contradiction)
    from explorer.core.images import ImageError, expand_inputs

    items = expand_inputs(args.images)
    problem = _request_problem(args)
    if problem is not None or all(isinstance(item, ImageError) for item in items):
        # Nothing to classify, or nothing could be: say so before building a model.
        if problem is not None:
            error(COMMAND, problem)
        results = [_failure(item) for item in items if isinstance(item, ImageError)] if problem is None else []
        if args.json:
            weights = {"source": args.weights, "error": problem} if problem else {"source": args.weights, "loaded": False}
            print_json({"weights": weights, "results": results})
        return EXIT_FAILED
    from explorer.core.inference.classifier import Classifier
    from explorer.core.loading.errors import ArchitectureMismatch, WeightsError

    try:
        classifier = Classifier(args.device, args.precision, args.resize, args.crop, fast_decode=args.fast_decode, engine=args.engine)
        info = classifier.load(args.weights, progress=download_progress(COMMAND, args.weights), arch=args.arch, labels=args.labels)
    except ArchitectureMismatch as exc:
        parser.error(str(exc))
    except ValueError as exc:  # an unavailable device or precision, a WeightsError
        error(COMMAND, str(exc))
        if args.json and isinstance(exc, WeightsError):
            print_json({"weights": {"source": args.weights, "error": str(exc)}, "results": []})
        return EXIT_FAILED
    resize, crop = classifier.transform
    if crop > resize:
        parser.error(f"crop ({crop}) must not exceed resize ({resize})")
    _print_notices(classifier)
    if not args.json:
        print(_weights_line(info, classifier))
    results: list[dict[str, Any]] = []
    for item in items:
        results.append(_failure(item) if isinstance(item, ImageError) else _classified(classifier, item, args))
        _print_notices(classifier)
    if args.json:
        print_json({"weights": _weights_json(info, classifier), "results": results})
    return EXIT_FAILED if any("error" in r for r in results) else EXIT_OK


def _request_problem(args: argparse.Namespace) -> str | None:
    """What makes the whole request fail, found without torch: the crop, the memory (for the
    network asked for or named by the weights; ResNet-50 for a file), the weights, the labels file."""
    crop = args.crop or DEFAULT_CROP
    problem = input_size_problem(crop, crop)
    if problem:
        return f"--crop {crop}: {problem}"
    arch = args.arch or source_arch(args.weights) or DEFAULT_ARCH
    try:
        check_fits(f"--resize {args.resize or DEFAULT_RESIZE} --crop {crop}", classify_bytes(args.resize or DEFAULT_RESIZE, crop, arch))
    except ValueError as exc:
        return str(exc)
    if args.labels is not None and file_problem(args.labels):
        return f"labels file {shown(args.labels)}: {file_problem(args.labels)}"
    return source_problem(args.weights)


def _failure(item: ImageError) -> dict[str, Any]:
    error(COMMAND, str(item))
    return {"file": item.path, "error": item.reason}


def _classified(classifier: Classifier, path: Path, args: argparse.Namespace) -> dict[str, Any]:
    from explorer.core.images import ImageError

    try:
        prediction = classifier.classify_path(path, args.topk)
    except ImageError as exc:
        return _failure(exc)
    except RuntimeError as exc:  # e.g. out of memory: one bad file must not stop the rest
        return _failure(ImageError(path, f"{type(exc).__name__}: {exc}"))
    if not all(math.isfinite(t.prob) for t in prediction.top):
        return _failure(ImageError(path, "the network's output for this image is not finite"))
    if not args.json:
        print(_table(prediction), flush=True)
    return _result(prediction)


def _result(p: Prediction) -> dict[str, Any]:
    return {
        "file": p.file,
        "top": [{"index": t.index, "label": t.label, "prob": t.prob} for t in p.top],
        "device": p.device,
        "precision": p.precision,
        "engine": p.engine,
        "latency_ms": round(p.latency_ms, 3),
    }


def _weights_json(info: WeightsInfo, classifier: Classifier) -> dict[str, Any]:
    resize, crop = classifier.transform
    return {
        "source": info.source,
        "label": info.label,
        "arch": info.arch,
        "num_classes": info.num_classes,
        "trained": info.trained,
        "sha256": info.sha256,
        "resize": resize,
        "crop": crop,
        "device": str(classifier.device),
        "precision": classifier.precision,
        "engine": classifier.engine,
    }


def _weights_line(info: WeightsInfo, classifier: Classifier) -> str:
    resize, crop = classifier.transform
    warning = "  UNTRAINED: the predictions are meaningless" if not info.trained else ""
    return (f"{arch_title(info.arch)}, weights: {shown(info.label)}; resize {resize}, crop {crop}; {classifier.device} "
            f"{classifier.precision}, engine {classifier.engine}{warning}")


def _table(p: Prediction) -> str:
    state = "" if p.trained else ", untrained"
    lines = [f"\n{shown(p.file)}  ({p.device} {p.precision} {p.engine}, {p.latency_ms:.0f} ms{state})"]
    labels = [shown(t.label) for t in p.top]  # a labels file may hold control characters
    width = max(map(len, labels))
    for rank, (t, label) in enumerate(zip(p.top, labels), 1):
        lines.append(f"  {rank:>2}  {label:<{width}}  {t.prob * 100:6.2f}%  (class {t.index})")
    return "\n".join(lines)


def _print_notices(classifier: Classifier) -> None:
    while classifier.notices:
        note(COMMAND, classifier.notices.pop(0))
    sys.stderr.flush()
