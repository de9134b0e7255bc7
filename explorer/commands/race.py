"""``resnet-explorer race``: the training race of explorer.core.race (a residual network and its plain
twin trained side by side, He et al. 2015, Fig. 1 and 4; with ``--depths``, several networks each
with its twin, Fig. 6) as a table, JSON or CSV.

Bad numbers are argparse usage errors (exit 2); a missing folder, an absent device or data that
cannot be raced print one line (exit 1). The top-level imports load no torch, so ``--help`` is quick;
the core is imported inside :func:`run`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from explorer.commands.common import (
    EXIT_FAILED, EXIT_OK, OutputError, arch_list, bounded, device_name, error, non_negative_int, output_problem, positive_int,
    print_json,
)
from explorer.core.network.memory import MemoryLimitError, check_fits, race_bytes
from explorer.core.network.stages import arch_title
from explorer.core.race.config import (
    DIGITS, DIGITS_CLASSES, DIGITS_IMAGES, MIN_SIZE, NETWORKS, NORMS, RACE_SIZES, RaceConfig, validate,
)
from explorer.core.race.report import to_json_dict, write_csv
from explorer.core.text import first_line, shown

if TYPE_CHECKING:
    from explorer.core.race.report import DataInfo, RaceResult, RaceStep

DEFAULTS = RaceConfig()
FLAGS = ("steps", "batch", "lr", "warmup", "clip", "size", "seed", "device", "data", "norm")  # RaceConfig fields set by flags of that name
TABLE_ROWS = 10  # steps shown in the text table (evenly spaced, the last always included)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("race", help="train a residual network and its plain twin side by side")
    p.add_argument("--arch", choices=NETWORKS, metavar="NAME",
                   help=f"the network and its plain twin: {', '.join(NETWORKS)} (default {DEFAULTS.network})")
    p.add_argument("--depths", type=arch_list, metavar="A,B",
                   help="race several depths, each plain and residual, on the same batches (He et al. Fig. 6): e.g. resnet20,resnet56")
    p.add_argument("--steps", type=positive_int, default=DEFAULTS.steps, metavar="N", help=f"SGD steps (default {DEFAULTS.steps})")
    p.add_argument("--batch", type=bounded(int, 2), default=DEFAULTS.batch, metavar="N",
                   help=f"images per step, at least 2 for batch statistics (default {DEFAULTS.batch})")
    p.add_argument("--lr", type=bounded(float, 1e-6, 10.0), default=DEFAULTS.lr, metavar="X",
                   help=f"peak learning rate (default {DEFAULTS.lr})")
    p.add_argument("--warmup", type=non_negative_int, default=DEFAULTS.warmup, metavar="N",
                   help=f"steps of linear learning-rate warm-up (default {DEFAULTS.warmup})")
    p.add_argument("--clip", type=bounded(float, 0.0, 100.0), default=DEFAULTS.clip, metavar="X",
                   help=f"scale each step's gradient down to this L2 norm where larger; 0 never (default {DEFAULTS.clip:g})")
    p.add_argument("--size", type=bounded(int, MIN_SIZE), default=DEFAULTS.size, metavar="N",
                   help=f"image side in pixels (default {RACE_SIZES['cifar']} for the CIFAR networks, {RACE_SIZES['imagenet']} "
                        f"for the ImageNet ones, which need at least {RACE_SIZES['imagenet']})")
    p.add_argument("--seed", type=non_negative_int, default=DEFAULTS.seed, metavar="S",
                   help="seed of the initial weights and the batch order (default 0)")
    p.add_argument("--device", type=device_name, default=DEFAULTS.device, help="auto (cuda > mps > cpu, default), cpu, cuda, cuda:N or mps")
    p.add_argument("--data", default=DEFAULTS.data, metavar="DIR",
                   help=f"'{DIGITS}' (bundled handwritten digits, default) or a folder with one subfolder of images per class")
    p.add_argument("--norm", choices=NORMS, default=DEFAULTS.norm,
                   help="batch: BatchNorm, He init (default); none: no normalisation, PyTorch's default init")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--csv", metavar="FILE", help="also write one row per step and network to FILE")
    p.set_defaults(func=run, _parser=p)


def config_from_args(args: argparse.Namespace) -> RaceConfig:
    """The settings from the flags; values the core refuses are usage errors (a missing folder is a
    failure, reported by :func:`run`)."""
    if args.arch is not None and args.depths is not None:
        args._parser.error("--depths races the networks it names: no --arch")
    config = RaceConfig(network=args.arch or DEFAULTS.network, depths=args.depths or (), **{name: getattr(args, name) for name in FLAGS})
    try:
        validate(config)
    except ValueError as exc:
        args._parser.error(str(exc))
    return config


def _progress_printer() -> Callable[[RaceStep], None] | None:
    """Progress on one rewritten stderr line, only for a person watching a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(step: RaceStep) -> None:
        losses = ", ".join(f"{n.label} {n.loss:.3f}" for n in step.nets)
        done = step.step == step.steps
        print(f"\r\033[K[{step.step / step.steps:4.0%}] step {step.step}/{step.steps}: loss {losses} ({step.seconds:.0f} s)",
              end="\n" if done else "", file=sys.stderr, flush=True)

    return show


def _name_refused(info: DataInfo) -> None:
    for line in info.skipped:
        error("race", f"skipped {line}")


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    problem = output_problem(args.csv) if args.csv else None
    if problem:  # say so before a minute of training
        error("race", problem)
        return EXIT_FAILED
    from explorer.core.race.train import VALIDATION_BATCH, run_race  # torch: only now

    problem = _memory_problem(config, VALIDATION_BATCH)
    if problem:
        error("race", problem)
        return EXIT_FAILED

    try:
        result = run_race(config, on_step=_progress_printer(), on_data=_name_refused)
    except (ValueError, RuntimeError) as exc:
        # ValueError: a missing folder, an absent device, too few classes or images (one line naming the
        # folder); RuntimeError: torch's own, e.g. out of memory.
        error("race", str(exc) if isinstance(exc, ValueError) else first_line(exc))  # ours are one line, escaped
        return EXIT_FAILED
    if args.csv:
        try:
            write_csv(Path(args.csv), result)
        except OutputError as exc:
            error("race", str(exc))
            return EXIT_FAILED
    if args.json:
        print_json(to_json_dict(result))
    else:
        print(format_result(result))
    return EXIT_OK


def _memory_problem(config: RaceConfig, validation_batch: int) -> str | None:
    """What the race needs in memory (every network twice, the batch, the images at their size),
    checked before anything is allocated, as the other commands check theirs. The digits are counted
    here; a folder's images are counted as they are read, so for one only the networks are (with a
    head of as many classes as the digits have: the fc is a small part)."""
    images = DIGITS_IMAGES if config.data == DIGITS else 0
    size = config.image_size
    needed = race_bytes(config.batch, size, DIGITS_CLASSES, images, validation_batch, config.networks)
    nets = " and ".join(f"two {arch_title(n)}s" for n in config.networks)
    try:
        check_fits(f"--size {size} with --batch {config.batch} ({nets})", needed)
    except MemoryLimitError as exc:
        return str(exc)
    return None


def _shown_steps(done: int) -> list[int]:
    """About :data:`TABLE_ROWS` evenly spaced 0-based steps, first and last included."""
    if done <= TABLE_ROWS:
        return list(range(done))
    return sorted({round(i * (done - 1) / (TABLE_ROWS - 1)) for i in range(TABLE_ROWS)})


def format_result(result: RaceResult) -> str:
    lines = [shown(result.conditions), ""]  # it names the --data folder, which may hold control characters
    head = f"{'step':>5}" + "".join(f"  {run.label + ' loss':>16} {'acc':>5} {'stem grad':>10}" for run in result.runs)
    lines.append(head)
    for i in _shown_steps(result.steps_done):
        row = f"{i + 1:>5}"
        for run in result.runs:
            row += f"  {run.loss[i]:>16.4f} {run.accuracy[i]:>5.2f} {run.stem_grad[i]:>10.3e}"
        lines.append(row)
    lines += ["", result.verdict, f"{result.seconds:.1f} s"]
    return "\n".join(lines)
