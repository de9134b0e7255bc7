"""What the subcommands share: exit codes, the one-line error, strict JSON, the network arguments
(``--arch``, ``--weights``, ``--labels``) and the model arguments of the one-image commands (cam,
lesion, activations) and loading their inputs, checks on output paths, and atomic writes.

Torch-free at import (the parser is built without torch); what needs torch is imported inside the
function that needs it.

The exit codes and the program's name are defined in :mod:`explorer.commands` (needed before this
module can be imported) and re-exported here.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, TextIO

from explorer.commands import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, PROG  # noqa: F401 (re-exported)
from explorer.core.argtypes import (  # noqa: F401 (re-exported: the commands' argument types)
    bounded,
    device_name,
    non_negative_int,
    positive_int,
)
from explorer.core.files import OutputError, file_problem, output_problem, write_atomically  # noqa: F401 (re-exported)
from explorer.core.loading.labels import IMAGENET_CLASS_COUNT
from explorer.core.loading.sources import (
    DEFAULT_SOURCE,
    SOURCES_TEXT,
    arch_problem,
    source_problem,
    weight_source,
)
from explorer.core.network.blocks import feature_blocks, stages_of
from explorer.core.network.stages import DEFAULT_ARCH, MEMBERS, RESNETS, arch_title, input_size_problem
from explorer.core.text import first_line, one_line, os_reason, shown

if TYPE_CHECKING:
    import torch

    from explorer.core.loading.pipeline import WeightsInfo
    from explorer.core.network.model import ResNet

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


# The real standard output while a --json command runs (see json_only_stdout); None otherwise.
_json_out: TextIO | None = None


def print_json(report: Any) -> None:
    """``report`` as strict JSON on standard output: the only thing a ``--json`` command prints there.

    Raises:
        OutputError: standard output cannot be written (a full disk behind ``> file``).
    """
    out = _json_out or sys.stdout
    write_stdout(lambda: print(json_text(report), file=out, flush=True))


def write_stdout(write: Callable[[], None]) -> None:
    """``write()``, which writes standard output (or flushes it). A closed pipe stays a BrokenPipeError
    (the reader left, which is no failure); any other failure (a full disk behind ``> file``) is an
    OutputError, said in one line rather than as an unexpected error or at exit."""
    try:
        write()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError("standard output", os_reason(exc)) from None


@contextmanager
def json_only_stdout() -> Iterator[None]:
    """While a ``--json`` command runs, whatever else would reach standard output goes to stderr:
    Python's ``print`` (onnxruntime prints its "EP Error" banner so) and C code writing to file
    descriptor 1; only :func:`print_json` reaches the real standard output."""
    global _json_out
    real = sys.stdout
    real.flush()
    saved = _redirected(1, to=2)
    # A real stream on descriptor 1 is reopened on the saved copy; a stand-in (a test's capture)
    # is written as it is.
    json_out = os.fdopen(saved, "w", encoding=real.encoding, errors=real.errors, closefd=False) if (
        saved is not None and _descriptor(real) == 1) else real
    _json_out, sys.stdout = json_out, sys.stderr
    try:
        yield
    finally:
        _json_out, sys.stdout = None, real
        try:
            json_out.flush() if json_out is real else json_out.close()  # the descriptor stays open
        except OSError:  # a closed pipe: the command's own write has met it already
            pass
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def _redirected(fd: int, to: int) -> int | None:
    """Point ``fd`` at what ``to`` is; returns a copy of the old ``fd`` to restore, None when either
    is not open (then there is nothing to redirect)."""
    try:
        saved = os.dup(fd)
    except OSError:
        return None
    try:
        os.dup2(to, fd)
    except OSError:
        os.close(saved)
        return None
    return saved


def _descriptor(stream: TextIO) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def class_index(text: str) -> int:
    """argparse type: a class index, 0 or more (checked against the loaded head's classes by
    :func:`class_problem`: 0..999 for ImageNet weights)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a class index") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"class index must be 0 or more, got {value}")
    return value


def class_problem(index: int | None, num_classes: int) -> str | None:
    """Why ``--class`` does not name a class of a head of ``num_classes``, or None."""
    if index is not None and index >= num_classes:
        return f"argument --class: class index must be 0..{num_classes - 1}, got {index}"
    return None


# Every block name of any member, so that a name no member has is a usage error at once; the loaded
# network's own list is checked once it is known (load_inputs).
_ANY_BLOCK = frozenset(b for arch in RESNETS for b in feature_blocks(stages_of(arch)))


def block_name(text: str) -> str:
    """argparse type: a block name of some member (``stem``, ``layer1.0`` ... ``layer3.35``)."""
    if text not in _ANY_BLOCK:
        raise argparse.ArgumentTypeError(f"unknown block {text!r}: give stem or layerN.I, e.g. layer1.0 .. layer4.2 in ResNet-50")
    return text


def arch_list(text: str) -> tuple[str, ...]:
    """argparse type: two or more comma-separated members, e.g. ``resnet18,resnet34`` or
    ``resnet20,resnet56`` (``grads --depths``, ``race --depths``)."""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in MEMBERS]
    if unknown or len(names) < 2:
        raise argparse.ArgumentTypeError(f"give two or more of {', '.join(MEMBERS)}, got {text!r}")
    return names


def weights_help() -> str:
    return f"{SOURCES_TEXT}, a checkpoint file or an http(s):// URL (default {DEFAULT_SOURCE}, or the --arch's best)"


def add_network_arguments(p: argparse.ArgumentParser, weights: bool = True) -> None:
    """``--arch``, ``--weights`` and ``--labels``: which network, with which weights and class names."""
    p.add_argument(
        "--arch", choices=list(RESNETS), metavar="NAME",
        help=f"the network: {', '.join(RESNETS)} (default {DEFAULT_ARCH}; a checkpoint file decides its own)",
    )
    if weights:
        p.add_argument("--weights", metavar="SOURCE", help=weights_help())
    p.add_argument("--labels", metavar="FILE", help="class names, one per line (default: labels.txt or classes.txt beside the checkpoint)")


def network_problem(args: argparse.Namespace) -> str | None:
    """What contradicts in ``--arch``/``--weights`` before anything is read (a usage error); fills
    in the default weights: the arch's best torchvision checkpoint, imagenet-v2 without ``--arch``."""
    if args.weights is None:
        from explorer.core.loading.sources import default_weights

        args.weights = default_weights(args.arch or DEFAULT_ARCH)
    return arch_problem(args.arch, args.weights)


def named_classes(source: str) -> int | None:
    """Classes of a named source's head (ImageNet's 1000), None for files, URLs and random."""
    named = weight_source(source)
    return IMAGENET_CLASS_COUNT if named is not None and named.url is not None else None


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """--arch, --weights, --labels, --device and --json of the one-image commands (cam, lesion, activations)."""
    add_network_arguments(p)
    p.add_argument("--device", type=device_name, default="auto", metavar="D", help="cpu, cuda, cuda:1, mps or auto (default: cuda > mps > cpu)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


@dataclass
class Loaded:
    """What a one-image command needs: the model on its device, the preprocessed image, the weights."""

    model: ResNet
    image: torch.Tensor  # (3, crop, crop), preprocessed
    weights: WeightsInfo
    device: torch.device

    def class_json(self, index: int, prob: float) -> dict:
        return {"index": index, "label": self.weights.labels[index], "prob": prob}


def input_problem(args: argparse.Namespace) -> str | None:
    """The first problem with a one-image command's image, weights and labels that shows without
    building anything (missing or unreadable files, an unsupported URL), one line naming the file."""
    problem = file_problem(args.image)
    if problem:
        return f"{shown(args.image)}: {problem}"
    if args.labels is not None and file_problem(args.labels):
        return f"labels file {shown(args.labels)}: {file_problem(args.labels)}"
    return source_problem(args.weights)


def load_inputs(command: str, args: argparse.Namespace, blocks: str | None = None) -> Loaded | None:
    """Device, image, network and weights from the common arguments, cheapest check first; None
    after printing one error line. Contradictions (``--arch`` against the weights, a ``--class`` or
    ``--block`` the loaded network lacks) are usage errors (exit 2).

    Args:
        blocks: the attribute of ``args`` holding a block name to check against the network, if any.
    """
    parser: argparse.ArgumentParser = args._parser
    contradiction = network_problem(args)
    if contradiction:
        parser.error(contradiction)
    if getattr(args, "class_index", None) is not None and named_classes(args.weights):
        problem = class_problem(args.class_index, IMAGENET_CLASS_COUNT)
        if problem:
            parser.error(problem)
    problem = input_problem(args)
    if problem:
        error(command, problem)
        return None
    from explorer.core.devices import select_device
    from explorer.core.images import load_image, preprocess
    from explorer.core.loading.errors import ArchitectureMismatch
    from explorer.core.loading.pipeline import load_model

    try:
        device = select_device(args.device)
        picture = load_image(args.image)
        model, info = load_model(args.weights, args.arch, download_progress(command, args.weights), labels=args.labels)
    except ArchitectureMismatch as exc:
        parser.error(str(exc))
    except ValueError as exc:  # an unavailable device, an ImageError or a WeightsError (all ValueErrors)
        error(command, str(exc))
        return None
    problem = class_problem(getattr(args, "class_index", None), model.num_classes)
    name = getattr(args, blocks) if blocks else None
    if name is not None and name not in ("stem", *model.blocks()):
        problem = f"argument --block: {model.spec.title} has no block {name} (its blocks: stem, {', '.join(model.blocks())})"
    if problem:
        parser.error(problem)
    return Loaded(model.to(device).eval(), preprocess(picture, info.resize, info.crop), info, device)


def run_one_image(
    command: str, args: argparse.Namespace, measure: Callable[[Loaded], dict], text: Callable[[dict], str], blocks: str | None = None
) -> int:
    """The body of a one-image command (cam, lesion, activations): load its inputs
    (:func:`load_inputs`), ``measure`` the keys its report adds to the file, weights and device, then
    print the report as JSON or as ``text(report)``. Exit status 0 on success; 1 when the image, the
    weights, the device, an output file or the computation (out of memory on the device) fail, in one
    line on stderr naming it; 2 for usage errors."""
    loaded = load_inputs(command, args, blocks)
    if loaded is None:
        return EXIT_FAILED
    try:
        report = {"file": args.image, "weights": weights_json(loaded.weights), "device": str(loaded.device), **measure(loaded)}
    except RuntimeError as exc:  # e.g. out of memory on the device
        return runtime_failure(command, args.image, exc)
    except OutputError as exc:
        error(command, str(exc))
        return EXIT_FAILED
    if args.json:
        print_json(report)
    else:
        print(text(report))
    return EXIT_OK


def weights_json(info: WeightsInfo) -> dict:
    return {"source": info.source, "label": info.label, "trained": info.trained, "arch": info.arch, "num_classes": info.num_classes}


def class_text(entry: dict, decimals: int = 1) -> str:
    """A class of a report (``index``, ``label``, ``prob``) as text: ``207 golden retriever (91.2%)``,
    the label escaped (a labels file may hold control characters)."""
    return f"{entry['index']} {shown(entry['label'])} ({entry['prob']:.{decimals}%})"


def report_title(report: dict) -> str:
    """The first line of a one-image command's text output: file, network, weights, device."""
    w = report["weights"]
    untrained = "" if w["trained"] else UNTRAINED_NOTE
    return f"{shown(report['file'])}  ({arch_title(w['arch'])}, weights: {shown(w['label'])}, {report['device']}){untrained}"


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


def progress_printer() -> Callable[[str, float], None] | None:
    """Progress on one rewritten stderr line, only for a person watching a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(text: str, fraction: float) -> None:
        print(f"\r\033[K[{fraction:4.0%}] {text}", end="" if fraction < 1 else "\n", file=sys.stderr, flush=True)

    return show


def lab_inputs_problem(config: Any) -> str | None:
    """The size, the image files and the weights of a lab run (``grads``' GradConfig, the theory
    lab's TheoryConfig), checked before anything is built: one line, or None."""
    problem = input_size_problem(config.size, config.size)
    if problem:
        return f"--size {config.size}: {problem}"
    for path in config.inputs:
        reason = file_problem(path)
        if reason:
            return f"{shown(path)}: {reason}"
    if config.init == "weights" and config.weights:
        return source_problem(config.weights)
    return None
