"""The theory lab's commands (signal, paths, erf) share the gradient lab's options and checks: the
arguments, the config they make, what is refused before anything is built, and the run itself.
A shared module, not a command (its name starts with an underscore).

Commands layer; imports no torch until a run.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any, Callable

from explorer.commands.common import error, lab_inputs_problem
from explorer.core.argtypes import device_name, non_negative_int, positive_int
from explorer.core.loading.sources import SOURCES_TEXT, is_url, source_arch, weight_source
from explorer.core.network.stages import DEFAULT_ARCH, MEMBERS, MIN_INPUT_SIZE


def add_theory_arguments(p: argparse.ArgumentParser, norm: str) -> None:
    """``--arch --weights --init --norm --input --batch --size --seed --device --json``, as ``grads``
    has them, the theory lab's initialisations included; ``norm`` is the view's default."""
    from explorer.core.theory.config import INITS, NORMS

    p.add_argument("--arch", choices=list(MEMBERS), metavar="NAME", help=f"the network: {', '.join(MEMBERS)} (default {DEFAULT_ARCH})")
    p.add_argument("--weights", metavar="SOURCE", help=f"{SOURCES_TEXT}, a checkpoint file or an http(s):// URL (implies --init weights)")
    p.add_argument("--init", choices=INITS, help="he (default), pytorch, zero-residual, skipinit, fixup (implies --norm none) or weights")
    p.add_argument("--norm", choices=NORMS, help=f"batch statistics, frozen running statistics, or no normalisation (default {norm})")
    p.add_argument("--input", nargs="+", metavar="noise|IMAGE", help="'noise' (seeded Gaussian, the default) or image files (the batch)")
    p.add_argument("--batch", type=positive_int, metavar="N", help="batch size for noise input (default 2)")
    p.add_argument("--size", type=positive_int, metavar="N", help="input height and width (default 224)")
    p.add_argument("--seed", type=non_negative_int, metavar="S", help="seed for the initialisation and the noise (default 0)")
    p.add_argument("--device", type=device_name, default="auto", help="auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps (default auto)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(_norm=norm)


def theory_config(args: argparse.Namespace, **view: Any):  # noqa: ANN201 - a TheoryConfig
    """The theory lab's config from the common arguments and the view's own fields; contradictions
    are usage errors (exit 2), as in ``grads``."""
    from explorer.core.theory.config import FIXUP_NORM, TheoryConfig, validate

    parser: argparse.ArgumentParser = args._parser
    changes: dict[str, Any] = {k: getattr(args, k) for k in ("arch", "init", "size", "seed") if getattr(args, k) is not None}
    if args.weights is not None:
        if changes.get("init", "weights") != "weights":
            parser.error("--weights applies only with --init weights")
        changes.update(init="weights", weights=args.weights)
        if args.arch is None and weight_source(args.weights) is None:
            changes["arch"] = None  # a file or URL holds its own member
        elif args.arch is None:
            changes["arch"] = source_arch(args.weights) or DEFAULT_ARCH
    changes["norm"] = args.norm or (FIXUP_NORM if changes.get("init") == "fixup" else args._norm)
    if args.input is not None and args.input != ["noise"]:
        if "noise" in args.input:
            parser.error("--input takes either 'noise' or image files, not both")
        changes["inputs"] = tuple(args.input)
    if args.batch is not None:
        if changes.get("inputs"):
            parser.error("--batch applies to noise input; with images the batch is the images")
        changes["batch"] = args.batch
    config = TheoryConfig(**changes, **view)
    try:
        validate(replace(config, size=max(config.size, MIN_INPUT_SIZE)))  # a small size is a failure (exit 1), as everywhere
    except ValueError as exc:
        parser.error(str(exc))
    return config


def theory_problem(config: Any, what: str, needed: Callable[[int, int, str], int]) -> str | None:
    """What would make a theory run fail, found before anything is built: the size, the image files,
    the weights, the memory (``needed(batch, size, arch)`` bytes), as one line.

    Args:
        what: the request in the user's words for a memory refusal, e.g. ``"signal"``.
    """
    from explorer.core.network.memory import check_fits

    problem = lab_inputs_problem(config)
    if problem:
        return problem
    arch = config.arch
    if arch is None and not is_url(config.weights):  # the member a file holds decides the memory
        from explorer.core.loading.errors import WeightsError
        from explorer.core.loading.pipeline import checkpoint_architecture

        try:
            arch = checkpoint_architecture(config.weights).spec.name
        except WeightsError as exc:
            return str(exc)
    batch = len(config.inputs) or config.batch
    try:
        check_fits(f"{what}: batch {batch} at {config.size}x{config.size}", needed(batch, config.size, arch or DEFAULT_ARCH))
    except ValueError as exc:
        return str(exc)
    return None


def run_theory(command: str, args: argparse.Namespace, compute: Callable[[str], Any]) -> Any:
    """Run ``compute(device)`` for a theory command; its result, or None after one error line."""
    from explorer.core.devices import select_device

    try:
        return compute(str(select_device(args.device)))
    except (ValueError, RuntimeError) as exc:
        # ValueError: weights and images (one line naming the file), an absent device, torch's own
        # refusals (one value per channel under batch statistics); RuntimeError: out of memory.
        error(command, str(exc).strip() or type(exc).__name__)
        return None
