"""``resnet-explorer summary``: the exact architecture table (or JSON) of any member of the family
from explorer.core.network.summary: ``--arch NAME``, or ``--weights FILE`` (the architecture and head read
from the file); ``--family`` prints the family as a Markdown table (docs/model.md's). Torch-free unless
a file has to be read.

Exit status 0, 1 for an input the network cannot take or this machine's memory cannot hold (one
line saying the limit) or an unreadable checkpoint, 2 for usage errors (``--arch`` contradicting
the weights included).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from explorer.commands.common import EXIT_FAILED, EXIT_OK, download_progress, error, positive_int, print_json
from explorer.core.loading.sources import SOURCES_TEXT, arch_problem, source_arch, source_problem, weight_source
from explorer.core.network.memory import check_fits, inference_bytes
from explorer.core.network.stages import DEFAULT_ARCH, MEMBERS, input_size_problem, resnet_spec

if TYPE_CHECKING:
    from explorer.core.network.summary import ModelSummary

COMMAND = "summary"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(COMMAND, help="per-stage, per-block architecture table of any ResNet (default ResNet-50)")
    p.add_argument("--arch", choices=list(MEMBERS), metavar="NAME", help=f"the network: {', '.join(MEMBERS)} (default {DEFAULT_ARCH})")
    p.add_argument("--weights", metavar="SOURCE", help=f"summarise the network these weights hold: a checkpoint file, or one of {SOURCES_TEXT}")
    p.add_argument("--family", action="store_true", help="print every member as a Markdown table (blocks, parameters, mult-adds, top-1)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument(
        "--input-size", nargs=2, type=positive_int, metavar=("H", "W"),
        help="input height and width (default 224 224, 32 32 for the CIFAR networks)",
    )
    p.add_argument("--num-classes", type=positive_int, metavar="N", help="classifier outputs (default 1000, 10 for the CIFAR networks, or the checkpoint's)")
    p.add_argument("--layers", action="store_true", help="also list every layer inside each block")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    parser: argparse.ArgumentParser = args._parser
    if args.family and (args.arch or args.weights or args.layers):
        parser.error("--family lists every member: no --arch, --weights or --layers")
    contradiction = arch_problem(args.arch, args.weights) if args.weights else None
    if contradiction:
        parser.error(contradiction)
    height, width = args.input_size or (resnet_spec(args.arch or DEFAULT_ARCH).image_size,) * 2
    problem = input_size_problem(height, width)
    if problem is None and args.weights is not None:
        problem = source_problem(args.weights)
    if problem:
        error(COMMAND, problem)
        return EXIT_FAILED
    if args.family:
        from explorer.core.family import family_table

        rows = family_table((height, width))
        print_json([row.to_dict() for row in rows]) if args.json else print(family_markdown((height, width)))
        return EXIT_OK
    arch, classes = args.arch or DEFAULT_ARCH, args.num_classes
    if args.weights is not None and weight_source(args.weights) is None:  # a file or URL decides its own network
        found = _file_architecture(args, parser)
        if found is None:
            return EXIT_FAILED
        arch, classes = found
    elif args.weights is not None:
        arch = source_arch(args.weights) or arch
    classes = classes or resnet_spec(arch).default_classes
    try:
        check_fits(f"--input-size {height} {width} with {classes} classes", inference_bytes(1, height, width, classes, arch=arch))
    except ValueError as exc:
        error(COMMAND, str(exc))
        return EXIT_FAILED
    from explorer.core.network.summary import summarize

    summary = summarize((height, width), classes, arch)
    print_json(summary.to_dict()) if args.json else print(format_table(summary, show_layers=args.layers))
    return EXIT_OK


def _file_architecture(args: argparse.Namespace, parser: argparse.ArgumentParser):  # noqa: ANN202 - (spec, classes) or None
    """The network and head a checkpoint file (or URL, downloaded) holds; None after one error line;
    ``--arch`` or ``--num-classes`` contradicting the file are usage errors."""
    from explorer.core.loading.errors import WeightsError
    from explorer.core.loading.pipeline import checkpoint_architecture

    try:
        found = checkpoint_architecture(args.weights, download_progress(COMMAND, args.weights))
    except WeightsError as exc:
        error(COMMAND, str(exc))
        return None
    if args.arch is not None and args.arch != found.spec.name:
        parser.error(f"--weights {args.weights} holds {found.spec.title}, not {MEMBERS[args.arch].title} (the file decides; drop --arch)")
    if args.num_classes is not None and args.num_classes != found.num_classes:
        parser.error(f"--weights {args.weights} has a head of {found.num_classes} classes, not --num-classes {args.num_classes}")
    return found.spec, found.num_classes


def family_markdown(input_size: tuple[int, int] = (224, 224)) -> str:
    """The family as a Markdown table: blocks per stage, parameters, mult-adds, published top-1."""
    from explorer.core.family import family_table

    h, w = input_size
    lines = [
        f"| network | blocks | blocks per stage | main-path layers | parameters | mult-adds at {h}x{w} | top-1 (torchvision) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in family_table(input_size):
        top1 = ", ".join(f"{v}% ({name.rsplit('-', 1)[-1].upper()})" for name, v in row.top1.items()) or "-"
        lines.append(
            f"| {row.title} (`{row.arch}`) | {row.kind} | {'-'.join(map(str, row.layers))} | {row.depth} | {row.params:,} | "
            f"{row.mult_adds:,} | {top1} |"
        )
    return "\n".join(lines)


def _shape(shape: list[int]) -> str:
    return "x".join(str(d) for d in shape)


def format_table(s: ModelSummary, show_layers: bool = False) -> str:
    head = f"{'block':<24}{'kind':<10}{'output':>14}{'params':>13}{'mult-adds':>16}{'RF':>6}{'stride':>7}"
    rule = "-" * len(head)
    lines = [f"{s.title}, input 3x{s.input_size[0]}x{s.input_size[1]}, {s.num_classes} classes", rule, head, rule]
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
        "Stride sits on the 3x3 conv of each bottleneck (ResNet V1.5, as torchvision)."
        if s.block_type == "bottleneck"
        else "Basic blocks: two 3x3 convs each; the stride sits on the first (as in the paper and torchvision).",
    ]
    if s.arch in MEMBERS and MEMBERS[s.arch].shortcut == "zero_pad":  # a checkpoint's own shape is never one
        lines.append("Identity shortcuts everywhere: where the width doubles they take every 2nd position and pad zero "
                     "channels (option A, He et al. 2015, Sec. 4.2), so the blocks are identity blocks with no projection.")
    return "\n".join(lines)
