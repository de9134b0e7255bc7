"""What the subcommands share: exit codes, the one-line error, strict JSON, the model arguments of the
one-image commands (cam, lesion, activations) and loading their inputs, checks on output paths, and
atomic writes.

Torch-free at import (the parser is built without torch); what needs torch is imported inside the
function that needs it.

Exit codes, the same in every command:

- ``EXIT_OK`` (0): everything was done;
- ``EXIT_FAILED`` (1): an input, the weights, the device (a valid name this machine lacks), an output
  file or the machine's memory failed; one line on stderr names it;
- ``EXIT_USAGE`` (2): a malformed command line (argparse's usage error), unknown device names included;
- ``EXIT_INTERRUPTED`` (130): Ctrl+C.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable

from explorer.core.argtypes import (  # noqa: F401 (re-exported: the commands' argument types)
    bounded,
    device_name,
    non_negative_int,
    positive_int,
)
from explorer.core.files import file_problem, folder_problem
from explorer.core.labels import IMAGENET_CLASS_COUNT, imagenet_classes
from explorer.core.sources import DEFAULT_SOURCE, WEIGHT_SOURCES, source_problem
from explorer.core.text import first_line, one_line, shown

if TYPE_CHECKING:
    import torch

    from explorer.core.model import ResNet50
    from explorer.core.weights import WeightsInfo

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

PROG = "resnet-explorer"
UNTRAINED_NOTE = "  [untrained: predictions are meaningless]"


def error(command: str, message: str) -> None:
    """Print one error line to stderr, prefixed with the command, never a traceback; control
    characters in ``message`` are escaped and line breaks folded."""
    print(f"{PROG} {command}: error: {one_line(message)}", file=sys.stderr, flush=True)


def note(command: str, message: str) -> None:
    """Print one note line to stderr (a fallback the user should know about, not an error)."""
    print(f"{PROG} {command}: note: {one_line(message)}", file=sys.stderr, flush=True)


def json_text(report: Any) -> str:
    """Strict JSON (RFC 8259): a float that is not finite becomes null, never ``NaN``/``Infinity``."""
    return json.dumps(_finite(report), indent=2, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def class_index(text: str) -> int:
    """argparse type: an ImageNet class index 0..999."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a class index") from None
    if not 0 <= value < IMAGENET_CLASS_COUNT:
        raise argparse.ArgumentTypeError(f"class index must be 0..{IMAGENET_CLASS_COUNT - 1}, got {value}")
    return value


def weights_help() -> str:
    return f"{', '.join(WEIGHT_SOURCES)}, a checkpoint file or an http(s):// URL (default {DEFAULT_SOURCE})"


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """--weights, --device and --json of the one-image commands (cam, lesion, activations)."""
    p.add_argument("--weights", default=DEFAULT_SOURCE, metavar="SOURCE", help=weights_help())
    p.add_argument("--device", type=device_name, default="auto", metavar="D", help="cpu, cuda, cuda:1, mps or auto (default: cuda > mps > cpu)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


@dataclass
class Loaded:
    """What a one-image command needs: the model on its device, the preprocessed image, the weights."""

    model: ResNet50
    image: torch.Tensor  # (3, crop, crop), preprocessed
    weights: WeightsInfo
    device: torch.device


def input_problem(args: argparse.Namespace) -> str | None:
    """The first problem with a one-image command's image and weights that shows without building
    anything (missing or unreadable files, an unsupported URL), one line naming the file."""
    problem = file_problem(args.image)
    if problem:
        return f"{shown(args.image)}: {problem}"
    return source_problem(args.weights)


def load_inputs(command: str, args: argparse.Namespace) -> Loaded | None:
    """Device, image and weights from the common arguments, cheapest check first; None after
    printing one error line."""
    problem = input_problem(args)
    if problem:
        error(command, problem)
        return None
    from explorer.core.images import load_image, preprocess
    from explorer.core.inference import select_device
    from explorer.core.model import ResNet50
    from explorer.core.weights import load_weights

    try:
        device = select_device(args.device)
        picture = load_image(args.image)
        model = ResNet50()
        info = load_weights(model, args.weights, progress=download_progress(command, args.weights))
    except ValueError as exc:  # an unavailable device, an ImageError or a WeightsError (all ValueErrors)
        error(command, str(exc))
        return None
    return Loaded(model.to(device).eval(), preprocess(picture, info.resize, info.crop), info, device)


def weights_json(info: WeightsInfo) -> dict:
    return {"source": info.source, "label": info.label, "trained": info.trained}


def class_json(index: int, prob: float) -> dict:
    return {"index": index, "label": imagenet_classes()[index], "prob": prob}


def report_title(report: dict) -> str:
    """The first line of a one-image command's text output: file, weights, device."""
    untrained = "" if report["weights"]["trained"] else UNTRAINED_NOTE
    return f"{shown(report['file'])}  (weights: {report['weights']['label']}, {report['device']}){untrained}"


def output_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be written (its folder is missing or read-only, it is a folder), one
    line naming it, or None; checked before any work is done."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    reason = folder_problem(folder)
    if reason:
        return f"{shown(path)}: cannot write (folder {shown(folder)}: {reason})"
    if os.path.isdir(path):
        return f"{shown(path)}: cannot write (it is a folder)"
    return None


def write_atomically(path: Path, write: Callable[[IO], None], text: bool = False) -> None:
    """Call ``write`` on a temporary file beside ``path`` and move it into place, so a reader never
    sees a half-written file and a failure leaves any earlier file intact."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w" if text else "wb", **({"newline": ""} if text else {})) as f:
            write(f)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def runtime_failure(command: str, name: object, exc: BaseException) -> int:
    """A failure while computing (out of memory on the device, a refusal from torch): one line."""
    error(command, f"{shown(name)}: {first_line(exc)}")
    return EXIT_FAILED


def download_progress(command: str, source: str) -> Callable[[int, int], None]:
    """Progress of a weights download on stderr: a live percentage on a terminal, one line otherwise."""
    started = False
    live = sys.stderr.isatty()

    def show(done: int, total: int) -> None:
        nonlocal started
        if not started:
            started = True
            size = f" ({total / 2**20:.0f} MiB)" if total else ""
            print(f"{PROG} {command}: downloading {shown(source)}{size}...", file=sys.stderr, end="" if live else "\n", flush=True)
        if live and total:
            end = "\n" if done >= total else ""
            print(f"\r\033[K{PROG} {command}: downloading {shown(source)}: {done * 100 // total:3d}% of {total / 2**20:.0f} MiB",
                  file=sys.stderr, end=end, flush=True)

    return show
