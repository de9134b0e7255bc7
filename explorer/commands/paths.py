"""``resnet-explorer paths``: residual networks as ensembles of paths (Veit, Wilber & Belongie 2016,
Fig. 6) from explorer.core.theory.paths: per path length, the share of paths, the gradient one path
carries to the input, and the share of the total gradient; the path identity's error when every
subset is enumerated.

Options are the gradient lab's (``grads``) and ``--samples``; errors as in ``signal``.
"""

from __future__ import annotations

import argparse

from explorer.commands._theory import add_theory_arguments, run_theory, theory_config, theory_problem
from explorer.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    error,
    positive_int,
    print_json,
    progress_printer,
)
from explorer.core.theory.config import DEFAULT_SAMPLES, EXACT_BLOCKS

COMMAND = "paths"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(COMMAND, help="gradient per path length, residual networks as ensembles (Veit et al. 2016)")
    add_theory_arguments(p, norm="batch")
    p.add_argument("--samples", type=positive_int, metavar="N",
                   help=f"random subsets per path length beyond {EXACT_BLOCKS} blocks (default {DEFAULT_SAMPLES}); up to {EXACT_BLOCKS} every subset")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = theory_config(args, **({"samples": args.samples} if args.samples else {}))
    from explorer.core.network.memory import training_bytes

    # The forward graph is kept, and each block's own graph beside it: about two training passes.
    problem = theory_problem(config, COMMAND, lambda batch, size, arch: 2 * training_bytes(batch, size, size, arch=arch))
    if problem:
        error(COMMAND, problem)
        return EXIT_FAILED
    from explorer.core.theory.paths import run_paths

    result = run_theory(COMMAND, args, lambda device: run_paths(config, device, progress_printer()))
    if result is None:
        return EXIT_FAILED
    if args.json:
        print_json(result.to_dict())
    else:
        print(format_paths(result.to_dict()))
    return EXIT_OK


def format_paths(report: dict) -> str:
    """A header line, one row per path length, and the identity's error."""
    c, n = report["config"], report["blocks"]
    how = "every subset" if report["exact"] else f"{c['samples']} random subsets per length"
    lines = [
        f"{c['arch']}: {n} blocks, {2**n} paths ({how}), init {c['weights'] if c['init'] == 'weights' else c['init']}, "
        f"norm {c['norm']}, {c['size']}x{c['size']}, seed {c['seed']}, {c['device']}",
        f"{'length':>6}{'paths':>10}{'grad/path':>12}{'total':>10}",
    ]
    for k in range(n + 1):
        lines.append(f"{k:>6}{report['distribution'][k]:>10.2%}{report['gradient_by_length'][k]:>12.4g}{report['total_by_length'][k]:>10.2%}")
    if report["identity_error"] is not None:
        lines.append(f"sum of the {2**n} path gradients vs the input gradient: relative error {report['identity_error']:.2g}")
    return "\n".join(lines)
