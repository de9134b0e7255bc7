"""``resnet-explorer signal``: signal propagation at every block (Brock, De & Smith 2021) from
explorer.core.theory.signal, as a table or JSON: the average channel squared mean and variance of each
block's output and the variance of its residual branch.

Options are the gradient lab's (``grads``), ``--shortcuts off`` measures the plain network. Argument
mistakes are usage errors (exit 2); the size, the image files, the weights and the memory are checked
before any model is built, and those and a failing run print one line (exit 1).
"""

from __future__ import annotations

import argparse

from explorer.commands._theory import add_theory_arguments, run_theory, theory_config, theory_problem
from explorer.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    error,
    print_json,
    progress_printer,
)

COMMAND = "signal"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(COMMAND, help="signal propagation: each block's squared mean and variance (Brock et al. 2021)")
    add_theory_arguments(p, norm="batch")
    p.add_argument("--shortcuts", choices=("on", "off"), default="on", help="on: the residual network (default); off: the plain one")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = theory_config(args, shortcuts=args.shortcuts == "on")
    from explorer.core.network.memory import inference_bytes

    problem = theory_problem(config, COMMAND, lambda batch, size, arch: inference_bytes(batch, size, size, arch=arch))
    if problem:  # said before any model is built
        error(COMMAND, problem)
        return EXIT_FAILED
    from explorer.core.theory.signal import run_signal

    result = run_theory(COMMAND, args, lambda device: run_signal(config, device, progress_printer()))
    if result is None:
        return EXIT_FAILED
    if args.json:
        print_json(result.to_dict())
    else:
        print(format_signal(result.to_dict()))
    return EXIT_OK


def format_signal(report: dict) -> str:
    """A header line and one row per block."""
    c = report["config"]
    source = f"{len(c['inputs'])} image(s)" if c["inputs"] else f"noise, batch {c['batch']}"
    lines = [
        f"{c['arch']}, {'residual' if c['shortcuts'] else 'plain'}, init {c['weights'] if c['init'] == 'weights' else c['init']}, "
        f"norm {c['norm']}, {source}, {c['size']}x{c['size']}, seed {c['seed']}, {c['device']}",
        f"{'block':<10}{'mean sq':>12}{'variance':>12}{'branch var':>12}",
    ]
    for b in report["blocks"]:
        branch = "-" if b["residual_variance"] is None else f"{b['residual_variance']:.4g}"
        lines.append(f"{b['name']:<10}{b['mean_sq']:>12.4g}{b['variance']:>12.4g}{branch:>12}")
    return "\n".join(lines)
