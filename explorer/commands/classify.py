"""``resnet-explorer classify IMAGE...``: top-k ImageNet classes for images and folders of images,
as short tables or one JSON object. Every readable image is classified even when others fail; exit
status 0 when all were classified, 1 when any input or the weights failed, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from explorer.commands.common import error, positive_int
from explorer.core.images import ImageError, expand_inputs
from explorer.core.inference import PRECISIONS, Classifier, Prediction
from explorer.core.weights import DEFAULT_SOURCE, WEIGHT_SOURCES, WeightsError, WeightsInfo

COMMAND = "classify"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(COMMAND, help="top-k ImageNet classes of images (files or folders)")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders of images")
    p.add_argument(
        "--weights",
        default=DEFAULT_SOURCE,
        metavar="NAME|FILE",
        help=f"{', '.join(WEIGHT_SOURCES)} or a .pth/.pt/.bin/.safetensors file (default {DEFAULT_SOURCE}; "
        "named weights are downloaded once into torch.hub's cache)",
    )
    p.add_argument("--topk", type=positive_int, default=5, metavar="K", help="classes shown per image (default 5)")
    p.add_argument("--device", default="auto", help="auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps (default auto)")
    p.add_argument(
        "--precision", choices=PRECISIONS, default="fp32", help="fp32 (default); bf16/fp16 where the hardware runs them natively"
    )
    p.add_argument("--resize", type=positive_int, metavar="N", help="shorter side after resizing (default: the weights' own, 232 or 256)")
    p.add_argument("--crop", type=positive_int, metavar="N", help="centre crop side (default 224)")
    p.add_argument(
        "--fast-decode",
        action="store_true",
        help="decode JPEGs at reduced size (about 4x faster decoding; pixels differ slightly from torchvision's pipeline)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run, _parser=p)


def run(args: argparse.Namespace) -> int:
    parser: argparse.ArgumentParser = args._parser
    if args.resize is not None and args.crop is not None and args.crop > args.resize:
        parser.error(f"--crop ({args.crop}) must not exceed --resize ({args.resize})")
    try:
        classifier = Classifier(args.device, args.precision, args.resize, args.crop, fast_decode=args.fast_decode)
    except ValueError as exc:  # unknown or unavailable device, precision the hardware lacks
        parser.error(str(exc))
    try:
        info = classifier.load(args.weights, progress=_DownloadProgress(args.weights))
    except WeightsError as exc:
        error(COMMAND, str(exc))
        if args.json:
            print(json.dumps({"weights": {"source": args.weights, "error": str(exc)}, "results": []}, indent=2))
        return 1
    resize, crop = classifier.transform
    if crop > resize:
        parser.error(f"crop ({crop}) must not exceed resize ({resize})")
    _print_notices(classifier)
    if not args.json:
        print(_weights_line(info, classifier))

    results: list[dict[str, Any]] = []
    failed = False
    for item in expand_inputs(args.images):
        try:
            if isinstance(item, ImageError):
                raise item
            prediction = classifier.classify_path(item, args.topk)
        except Exception as exc:  # one bad file must not stop the rest, nor print a traceback
            failed = True
            message = str(exc) if isinstance(exc, ImageError) else f"{item}: {type(exc).__name__}: {exc}"
            error(COMMAND, message)
            results.append({"file": str(getattr(exc, "path", item)), "error": getattr(exc, "reason", message)})
            continue
        _print_notices(classifier)
        results.append(_result(prediction))
        if not args.json:
            print(_table(prediction), flush=True)
    if args.json:
        print(json.dumps({"weights": _weights_json(info, classifier), "results": results}, indent=2))
    return 1 if failed else 0


def _result(p: Prediction) -> dict[str, Any]:
    return {
        "file": p.file,
        "top": [{"index": t.index, "label": t.label, "prob": t.prob} for t in p.top],
        "device": p.device,
        "latency_ms": round(p.latency_ms, 3),
    }


def _weights_json(info: WeightsInfo, classifier: Classifier) -> dict[str, Any]:
    resize, crop = classifier.transform
    return {
        "source": info.source,
        "label": info.label,
        "trained": info.trained,
        "sha256": info.sha256,
        "resize": resize,
        "crop": crop,
        "device": str(classifier.device),
        "precision": classifier.precision,
    }


def _weights_line(info: WeightsInfo, classifier: Classifier) -> str:
    resize, crop = classifier.transform
    warning = "  UNTRAINED: the predictions are meaningless" if not info.trained else ""
    return f"weights: {info.label}; resize {resize}, crop {crop}; {classifier.device} {classifier.precision}{warning}"


def _table(p: Prediction) -> str:
    state = "" if p.trained else ", untrained"
    precision = "" if p.precision == "fp32" else f" {p.precision}"
    lines = [f"\n{p.file}  ({p.device}{precision}, {p.latency_ms:.0f} ms{state})"]
    width = max(len(t.label) for t in p.top)
    for rank, t in enumerate(p.top, 1):
        lines.append(f"  {rank:>2}  {t.label:<{width}}  {t.prob * 100:6.2f}%  (class {t.index})")
    return "\n".join(lines)


def _print_notices(classifier: Classifier) -> None:
    while classifier.notices:
        print(f"resnet-explorer {COMMAND}: note: {classifier.notices.pop(0)}", file=sys.stderr)


class _DownloadProgress:
    """Download progress on stderr: a live percentage on a terminal, one line otherwise."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.started = False
        self.live = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        if not self.started:
            self.started = True
            size = f" ({total / 2**20:.0f} MiB)" if total else ""
            print(f"downloading {self.name} weights{size}...", file=sys.stderr, end="" if self.live else "\n", flush=True)
        if self.live and total:
            end = "\n" if done >= total else ""
            print(f"\rdownloading {self.name} weights: {done * 100 // total:3d}% of {total / 2**20:.0f} MiB", file=sys.stderr, end=end, flush=True)
