"""``resnet-explorer erf``: the effective receptive field of a stage's centre unit (Luo et al. 2016)
from explorer.core.theory.erf, as a summary with a coarse picture of the map, or JSON with the whole
map.

Options are the gradient lab's (``grads``) and ``--stage``; the default normalisation is frozen
statistics, because under batch statistics every pixel moves every unit through the batch's mean
and variance. Errors as in ``signal``.
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
from explorer.core.theory.config import ERF_STAGES

COMMAND = "erf"
DEFAULT_STAGE = "layer3"
SHADES = " .:-=+*#%@"  # the coarse picture's darkest to brightest
PICTURE_SIDE = 32


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(COMMAND, help="effective receptive field of a stage's centre unit (Luo et al. 2016)")
    add_theory_arguments(p, norm="frozen")
    p.add_argument("--stage", choices=ERF_STAGES, default=DEFAULT_STAGE, help=f"whose output's centre unit (default {DEFAULT_STAGE})")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = theory_config(args)
    from explorer.core.network.memory import training_bytes

    problem = theory_problem(config, COMMAND, lambda batch, size, arch: training_bytes(batch, size, size, arch=arch))
    if problem:
        error(COMMAND, problem)
        return EXIT_FAILED
    from explorer.core.theory.erf import run_erf

    results = run_theory(COMMAND, args, lambda device: run_erf(config, (args.stage,), device, progress_printer()))
    if results is None:
        return EXIT_FAILED
    result = results[0]
    if args.json:
        print_json(result.to_dict())
    else:
        print(format_erf(result))
    return EXIT_OK


def format_erf(result) -> str:  # noqa: ANN001 - an ErfResult
    """The numbers, then the map as characters (at most PICTURE_SIDE a side, each the cell's mean)."""
    import numpy as np

    c = result.config
    top, left, bottom, right = result.box()
    lines = [
        f"{c.arch} {result.stage}: centre unit {list(result.unit)} of a {result.size[0]}x{result.size[1]} input, "
        f"init {c.weights if c.init == 'weights' else c.init}, norm {c.norm}, {result.device}",
        f"theoretical receptive field {result.receptive_field} px (rows {top:g}..{bottom:g}, columns {left:g}..{right:g})",
        f"95% of the map's mass within {result.radius_95:.1f} px of its centroid ({result.centroid[0]:.1f}, {result.centroid[1]:.1f})",
    ]
    step = max(1, -(-max(result.size) // PICTURE_SIDE))
    h, w = (-(-d // step) for d in result.size)
    padded = np.zeros((h * step, w * step))
    padded[: result.size[0], : result.size[1]] = result.map
    cells = padded.reshape(h, step, w, step).mean(axis=(1, 3))
    peak = cells.max() or 1.0
    for row in cells / peak:
        lines.append("".join(SHADES[min(len(SHADES) - 1, int(v * len(SHADES)))] * 2 for v in row))
    return "\n".join(lines)
