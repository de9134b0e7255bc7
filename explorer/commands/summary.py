"""``resnet-explorer summary``: the exact architecture table (or JSON) from explorer.core.summary.

Exit status 0, 1 for an input the network cannot take or this machine's memory cannot hold (one
line saying the limit), 2 for usage errors.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from explorer.commands.common import EXIT_FAILED, EXIT_OK, error, json_text, positive_int
from explorer.core.memory import check_fits, inference_bytes
from explorer.core.stages import input_size_problem

if TYPE_CHECKING:
    from explorer.core.summary import ModelSummary

COMMAND = "summary"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(COMMAND, help="per-stage, per-block architecture table of ResNet-50")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument(
        "--input-size", nargs=2, type=positive_int, metavar=("H", "W"), default=(224, 224), help="input height and width (default 224 224)"
    )
    p.add_argument("--num-classes", type=positive_int, default=1000, metavar="N", help="classifier outputs (default 1000)")
    p.add_argument("--layers", action="store_true", help="also list every layer inside each block")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    height, width = args.input_size
    problem = input_size_problem(height, width)
    try:
        if problem:
            raise ValueError(problem)
        check_fits(f"--input-size {height} {width} with {args.num_classes} classes", inference_bytes(1, height, width, args.num_classes))
    except ValueError as exc:
        error(COMMAND, str(exc))
        return EXIT_FAILED
    from explorer.core.summary import summarize

    summary = summarize((height, width), args.num_classes)
    print(json_text(summary.to_dict()) if args.json else format_table(summary, show_layers=args.layers))
    return EXIT_OK


def _shape(shape: list[int]) -> str:
    return "x".join(str(d) for d in shape)


def format_table(s: ModelSummary, show_layers: bool = False) -> str:
    head = f"{'block':<24}{'kind':<10}{'output':>14}{'params':>13}{'mult-adds':>16}{'RF':>6}{'stride':>7}"
    rule = "-" * len(head)
    lines = [f"ResNet-50, input 3x{s.input_size[0]}x{s.input_size[1]}, {s.num_classes} classes", rule, head, rule]
    for stage in s.stages:
        label = f"{stage.name} ({stage.module})"
        lines.append(f"{label:<34}{_shape(stage.output_shape):>14}{stage.params:>13,}{stage.mult_adds:>16,}")
        for b in stage.blocks:
            lines.append(
                f"  {b.name:<22}{b.kind:<10}{_shape(b.output_shape):>14}{b.params:>13,}{b.mult_adds:>16,}{b.receptive_field:>6}{b.stride:>7}"
            )
            if show_layers:
                for layer in b.layers:
                    lines.append(
                        f"    {layer.name:<20}{layer.type[:9]:<10}{_shape(layer.output_shape):>14}{layer.params:>13,}"
                        f"{layer.mult_adds:>16,}{layer.receptive_field:>6}{layer.stride:>7}"
                    )
    h = s.head
    lines.append(f"{'head (avgpool + fc)':<34}{_shape(h.output_shape):>14}{h.params:>13,}{h.mult_adds:>16,}")
    lines += [
        rule,
        f"total params      {s.total_params:>16,}",
        f"trainable params  {s.trainable_params:>16,}",
        f"mult-adds         {s.mult_adds:>16,}",
        f"activation memory {s.activation_bytes / 2**20:>16,.1f} MiB per image (float32 outputs of every layer)",
        "Stride sits on the 3x3 conv of each bottleneck (ResNet V1.5, as torchvision).",
    ]
    return "\n".join(lines)
