"""Bench suite ``race_seeds``: the default race (or ``--seeds-depths``, the Fig. 6 race) on many seeds,
one after another, and how often its verdict names the residual network ahead on both measures (the
seeds table of docs/race.md). Per seed: the verdict's numbers, who leads, the largest single-batch loss after
the warm-up (a spike would dominate the plot) and the seconds. Benchmarks print numbers; tests never
time anything.

The CPU's kind is printed with the numbers (torch's vector capability and whether oneDNN runs bf16
natively); to see a CPU without native bf16 on one that has it, run with ``ONEDNN_MAX_CPU_ISA=AVX2
ATEN_CPU_CAPABILITY=avx2`` in the environment.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace

from explorer.core.race.config import RaceConfig

DEFAULT_SEEDS = "0-19"


def seed_range(text: str) -> range:
    """argparse type: ``A-B`` (both included) or a single seed."""
    low, _, high = text.partition("-")
    try:
        first, last = int(low), int(high or low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"give seeds as A-B, e.g. {DEFAULT_SEEDS}, got {text!r}") from None
    if first < 0 or last < first:
        raise argparse.ArgumentTypeError(f"give seeds as A-B with 0 <= A <= B, got {text!r}")
    return range(first, last + 1)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("race_seeds suite")
    group.add_argument("--seeds", type=seed_range, default=seed_range(DEFAULT_SEEDS), metavar="A-B",
                       help=f"the seeds to race (default {DEFAULT_SEEDS})")
    group.add_argument("--seeds-depths", metavar="A,B", help="race these depths instead (e.g. resnet20,resnet56)")


def _cpu_kind() -> dict:
    import torch

    mkldnn = torch.backends.mkldnn
    return {
        "capability": torch.backends.cpu.get_cpu_capability(),
        "onednn_bf16": bool(mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()),
        "onednn_max_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", "(not set)"),
    }


def run(args: argparse.Namespace) -> dict:
    from explorer.core.race.train import run_race
    from explorer.core.race.verdict import final_accuracy, final_loss

    base = replace(RaceConfig(), device="cpu", depths=tuple(args.seeds_depths.split(",")) if args.seeds_depths else ())
    rows = []
    for seed in args.seeds:
        result = run_race(replace(base, seed=seed))
        row = {"seed": seed, "leader": result.leader, "measures_agree": result.standing is not None and result.standing.measures_agree,
               "seconds": round(result.seconds, 1)}
        for run in result.runs:
            row[run.label] = {"loss": round(final_loss(run), 3), "accuracy": round(final_accuracy(run), 3),
                              "validation": result.validation[run.label],
                              "max_loss_after_warmup": round(max(run.loss[base.warmup:]), 2)}
        if result.depth is not None:
            for key in ("degradation", "residual_avoids_it", "shortcuts_shrink_it"):
                row[key] = getattr(result.depth, key)
        rows.append(row)
        print(f"race_seeds: seed {seed}: {result.leader} ahead, measures agree: {row['measures_agree']} "
              f"({result.seconds:.0f} s)", file=sys.stderr, flush=True)
    both = sum(r["leader"] == "residual" and r["measures_agree"] for r in rows)
    return {"conditions": result.conditions.rsplit("; seed", 1)[0], "cpu": _cpu_kind(),
            "seeds": [r["seed"] for r in rows], "rows": rows, "residual_ahead_on_both": both,
            **({key: sum(r[key] for r in rows) for key in ("degradation", "residual_avoids_it", "shortcuts_shrink_it")}
               if base.depths else {})}


def describe(result: dict) -> str:
    cpu = result["cpu"]
    lines = [f"race_seeds: {result['conditions']}; CPU capability {cpu['capability']}, "
             f"oneDNN native bf16 {'yes' if cpu['onednn_bf16'] else 'no'}, ONEDNN_MAX_CPU_ISA {cpu['onednn_max_isa']}"]
    labels = [k for k, v in result["rows"][0].items() if isinstance(v, dict)]
    lines.append(f"{'seed':>4}  " + "  ".join(f"{label + ' loss/acc/val/max':>30}" for label in labels) + "  leader   agree  seconds")
    for r in result["rows"]:
        cells = []
        for label in labels:
            v = r[label]
            val = "n/a" if v["validation"] is None else f"{100 * v['validation']:.0f}%"
            cells.append(f"{v['loss']:>8.3f} {100 * v['accuracy']:>4.0f}% {val:>5} {v['max_loss_after_warmup']:>6.2f}".rjust(30))
        lines.append(f"{r['seed']:>4}  " + "  ".join(cells) + f"  {r['leader']:<8} {'yes' if r['measures_agree'] else 'no':<5} {r['seconds']:>7.1f}")
    n = len(result["rows"])
    lines.append(f"residual network ahead on both measures: {result['residual_ahead_on_both']} of {n} seeds")
    if "degradation" in result:
        lines.append(f"degradation (deeper plain behind the shallower): {result['degradation']} of {n}; "
                     f"the deeper residual not behind: {result['residual_avoids_it']} of {n}; "
                     f"depth costs the residual networks less: {result['shortcuts_shrink_it']} of {n}")
    return "\n".join(lines)
