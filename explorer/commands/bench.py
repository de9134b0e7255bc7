"""``resnet-explorer bench``: run benchmark suites from explorer.bench and print their numbers.

Each suite may refuse its arguments before anything runs (``check(args)`` raising ValueError: an
unavailable device, a batch this machine's memory cannot hold): one line, exit 1.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil

import explorer.bench as suites_package
from explorer.commands.common import EXIT_FAILED, EXIT_OK, error, print_json
from explorer.core.network.stages import DEFAULT_ARCH, RESNETS

COMMAND = "bench"
DEFAULT_SUITE = "inference"


def _suites() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(suites_package.__path__) if not m.name.startswith("_"))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(COMMAND, help="measure speed and memory (prints numbers; see the documentation's Benchmarks page)")
    names = _suites()
    p.add_argument(
        "--suite",
        default=DEFAULT_SUITE,
        help=f"comma-separated suites to run, or 'all' (available: {', '.join(names) or 'none'}; default {DEFAULT_SUITE})",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--arch", choices=list(RESNETS), default=DEFAULT_ARCH, metavar="NAME",
                   help=f"the network the inference, grads, lesion and race suites measure, against torchvision's (default {DEFAULT_ARCH})")
    for name in names:
        module = importlib.import_module(f"explorer.bench.{name}")
        if hasattr(module, "add_arguments"):
            module.add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    available = _suites()
    chosen = available if args.suite == "all" else [s.strip() for s in args.suite.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in available]
    if unknown or not chosen:
        args._parser.error(f"unknown suite {', '.join(unknown) or '(none)'}; choose from {', '.join(available)} or all")
    modules = {name: importlib.import_module(f"explorer.bench.{name}") for name in chosen}
    for name, module in modules.items():
        try:
            if hasattr(module, "check"):
                module.check(args)
        except ValueError as exc:
            error(COMMAND, f"{name} suite: {exc}")
            return EXIT_FAILED
    results: dict = {}
    for name, module in modules.items():
        result = module.run(args)
        # The default suite's numbers sit at the top level of the JSON (the documented schema);
        # every other suite gets its own key.
        if name == DEFAULT_SUITE:
            results.update(result)
        else:
            results[name] = result
        if not args.json:
            print(module.describe(result), flush=True)
    if args.json:
        print_json(results)
    return EXIT_OK
