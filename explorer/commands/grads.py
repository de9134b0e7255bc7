"""``resnet-explorer grads``: the gradient lab from explorer.core.gradients as a table, JSON or CSV,
for any member (``--arch``), or a comparison of depths (``--depths resnet18,resnet34``).

A preset supplies the defaults; every explicit flag overrides it. Argument mistakes (unknown block,
contradictory flags) are argparse usage errors (exit 2). The size, the image files, the weights, the
CSV's folder and the memory the batch needs are checked before any model is built; those and a
failing run print one line (exit 1).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from explorer.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    OutputError,
    arch_list,
    device_name,
    error,
    lab_inputs_problem,
    print_json,
    non_negative_int,
    output_problem,
    positive_int,
    progress_printer,
)
from explorer.core.gradients.config import INITS, NORMS, SHORTCUT_CHOICES, TARGETS, GradConfig, cifar_defaults, validate_choice  # no torch
from explorer.core.gradients.presets import PRESETS
from explorer.core.loading.sources import default_weights, source_arch
from explorer.core.network.blocks import residual_blocks, stages_of
from explorer.core.network.memory import check_fits, training_bytes
from explorer.core.network.stages import DEFAULT_ARCH, MEMBERS, arch_title

if TYPE_CHECKING:
    from explorer.core.gradients import GradResult

COMMAND = "grads"
DEFAULT_PRESET = "init-step"


def block_list(text: str) -> tuple[str, ...]:
    """argparse type: comma-separated block names such as ``layer2.1,layer3.0``."""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    valid = {b for arch in MEMBERS for b in residual_blocks(stages_of(arch))}  # the network's own: validate()
    unknown = [n for n in names if n not in valid]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown block(s) {', '.join(unknown) or '(none)'}; valid names are {', '.join(residual_blocks())} in ResNet-50"
        )
    return names


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grads", help="per-layer gradient norms with and without skip connections")
    presets = ", ".join(f"{k} ({v.title})" for k, v in PRESETS.items())
    p.add_argument("--preset", choices=list(PRESETS), default=DEFAULT_PRESET, metavar="NAME",
                   help=f"starting settings: {presets}; default {DEFAULT_PRESET}")
    p.add_argument("--arch", choices=list(MEMBERS), metavar="NAME",
                   help=f"the network: {', '.join(MEMBERS)} (default {DEFAULT_ARCH}; the CIFAR ones at 32x32 with 10 classes)")
    p.add_argument("--depths", type=arch_list, metavar="A,B",
                   help="compare depths, residual and plain (He et al. Table 2): e.g. resnet18,resnet34 or resnet20,resnet56")
    p.add_argument("--shortcuts", choices=SHORTCUT_CHOICES, default="both", help="skip connections on, off, or both runs (default)")
    p.add_argument("--blocks", type=block_list, metavar="B,...", help="switch shortcuts off only in these blocks (layer1.0 ... layer4.2)")
    p.add_argument("--lesion", type=block_list, metavar="B,...", help="remove the residual branch of these blocks (Veit et al. 2016)")
    p.add_argument("--norm", choices=NORMS, help="batch statistics, frozen running statistics, or no normalisation")
    p.add_argument("--init", choices=INITS, help="He (Kaiming normal), PyTorch default, or loaded weights")
    p.add_argument("--weights", metavar="SOURCE", help="imagenet-v2, imagenet-v1, ARCH-imagenet-v1/-v2, random, a checkpoint file or an http(s):// URL (implies --init weights)")
    p.add_argument("--targets", choices=TARGETS, help="seeded random labels, or the model's own top-1")
    p.add_argument("--input", nargs="+", metavar="noise|IMAGE", help="'noise' (seeded Gaussian) or image files (the batch)")
    p.add_argument("--batch", type=positive_int, metavar="N", help="batch size for noise input")
    p.add_argument("--size", type=positive_int, metavar="N", help="input height and width")
    p.add_argument("--seed", type=non_negative_int, metavar="S", help="seed for init, noise and labels")
    p.add_argument("--device", type=device_name, default="auto", help="auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps (default auto)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--csv", metavar="FILE", help="also write one row per run and layer to FILE")
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> GradConfig:
    """The preset's config with every explicitly given flag applied; contradictions are usage errors."""
    config = PRESETS[args.preset].config
    changes: dict = {k: getattr(args, k) for k in ("norm", "init", "targets", "size", "seed", "arch") if getattr(args, k) is not None}
    cifar = cifar_defaults(args.depths or ((args.arch,) if args.arch else ()))
    if cifar is not None:  # He et al.'s CIFAR networks: 32x32 images, 10 classes, no published weights
        changes.setdefault("size", cifar[0])
        changes["num_classes"] = cifar[1]
        if config.init == "weights" and args.weights is None and args.init in (None, "weights"):
            parser.error(f"{arch_title(args.arch or args.depths[0])} has no published weights: use --init he or pytorch (or another --preset)")
    if args.arch is not None and args.weights is None and config.weights and source_arch(config.weights) not in (None, args.arch):
        changes["weights"] = default_weights(args.arch)  # the preset's ImageNet weights, of this network
    if args.weights is not None:
        if changes.get("init", "weights") != "weights":
            parser.error("--weights applies only with --init weights")
        changes.update(init="weights", weights=args.weights)
    if args.input is not None:
        if args.input == ["noise"]:
            changes["inputs"] = ()
        elif "noise" in args.input:
            parser.error("--input takes either 'noise' or image files, not both")
        else:
            changes["inputs"] = tuple(args.input)
    if args.batch is not None:
        if changes.get("inputs", config.inputs):
            parser.error("--batch applies to noise input; with images the batch is the images")
        changes["batch"] = args.batch
    if args.blocks is not None:
        if args.shortcuts == "on":
            parser.error("--blocks names the blocks whose shortcut is off; use it with --shortcuts off or both")
        changes["plain_blocks"] = args.blocks
    if args.lesion is not None:
        changes["lesion"] = args.lesion
    config = replace(config, **changes)
    if args.depths is not None:
        if args.arch is not None or args.blocks is not None or args.lesion is not None or args.shortcuts != "both":
            parser.error("--depths compares whole networks, residual and plain: no --arch, --blocks, --lesion or --shortcuts")
        if config.init == "weights":
            parser.error("--depths compares networks at initialisation: use --init he or pytorch")
    try:
        for arch in args.depths or (config.arch,):
            validate_choice(replace(config, arch=arch), args.shortcuts)
    except ValueError as exc:
        parser.error(str(exc))
    return config


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args, args._parser)
    problem = _input_problem(config, args)
    if problem:  # said before minutes of compute
        error(COMMAND, problem)
        return EXIT_FAILED
    from explorer.core.devices import select_device
    from explorer.core.gradients import run_comparison, run_depth_comparison, write_csv

    comparison = None
    try:
        device = select_device(args.device)
        if args.depths:
            comparison = run_depth_comparison(config, args.depths, str(device), progress_printer())
            results = list(comparison.results)
        else:
            results = run_comparison(config, args.shortcuts, str(device), progress_printer())
    except (ValueError, RuntimeError) as exc:
        # ValueError: WeightsError and ImageError (one line naming the file), an absent device, and
        # torch's own refusals (one value per channel under batch statistics); RuntimeError: out of memory.
        error(COMMAND, str(exc).strip() or type(exc).__name__)
        return EXIT_FAILED
    if args.csv:
        try:
            write_csv(Path(args.csv), results)
        except OutputError as exc:
            error(COMMAND, str(exc))
            return EXIT_FAILED
    if args.json:
        report: dict = {"runs": [r.to_dict() for r in results]}
        if comparison is not None:
            report["depths"] = {"archs": list(comparison.archs), "verdict": comparison.verdict, "curves": [_curve_json(c) for c in comparison.curves]}
        print_json(report)
    elif comparison is not None:
        print(format_depths(comparison))
    else:
        print("\n\n".join(format_result(r) for r in results))
    return EXIT_OK


def _curve_json(c) -> dict:  # noqa: ANN001 - a DepthCurve
    return {"arch": c.arch, "label": c.label, "shortcuts": c.shortcuts, "depth": c.depth, "loss": c.loss, "trend": c.trend,
            "layers": list(c.layers), "positions": list(c.positions), "grad_norms": list(c.grad_norms)}


def format_depths(comparison) -> str:  # noqa: ANN001 - a DepthComparison
    """One line per network (its loss, fc and stem gradients, fc-to-stem change) and the verdict."""
    lines = [f"{'network':<14}{'layers':>7}{'loss':>9}{'fc grad':>12}{'stem grad':>12}{'fc->stem':>10}"]
    for c in comparison.curves:
        trend = "-" if c.trend is None else f"10^{c.trend:+.1f}"
        lines.append(f"{c.label:<14}{c.depth:>7}{c.loss:>9.4f}{_number(c.grad_norms[-1]):>12}{_number(c.grad_norms[0]):>12}{trend:>10}")
    return "\n".join([*lines, comparison.verdict])


def _input_problem(config: GradConfig, args: argparse.Namespace) -> str | None:
    """What would make the run fail, found before anything is built: the size, the image files, the
    weights, the CSV's folder, the memory."""
    problem = lab_inputs_problem(config)
    if problem:
        return problem
    if args.csv:
        problem = output_problem(args.csv)
        if problem:
            return problem
    batch = len(config.inputs) or config.batch
    deepest = max(args.depths or (config.arch,), key=lambda a: MEMBERS[a].depth)
    try:
        check_fits(f"batch {batch} at {config.size}x{config.size}",
                   training_bytes(batch, config.size, config.size, config.num_classes, deepest))
    except ValueError as exc:
        return str(exc)
    return None


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3e}"


def format_result(result: GradResult) -> str:
    c = result.config
    source = f"{len(c['inputs'])} image(s)" if c["inputs"] else "noise"
    lesion = f", lesion {','.join(c['lesion'])}" if c["lesion"] else ""
    head = (
        f"{result.label} network{lesion}: {arch_title(c['arch'])}, norm {c['norm']}, init {c['init']}, {source}, batch {c['batch']}, {c['size']}x{c['size']},"
        f" targets {c['targets']}, seed {c['seed']}, {result.device}; loss {result.loss:.4f}"
    )
    names = [layer.name + (" (proj.)" if layer.shortcut else "") for layer in result.layers]
    width = max(len("layer"), *map(len, names)) + 2  # the longest, layer1.0.downsample.0 (proj.), keeps its gap
    lines = [head, f"{'layer':<{width}}{'stage':<8}{'grad norm':>12}{'act. std':>12}"]
    for name, layer in zip(names, result.layers):
        lines.append(f"{name:<{width}}{layer.stage:<8}{_number(layer.grad_norm):>12}{_number(layer.activation_std):>12}")
    lines.append(result.verdict)
    return "\n".join(lines)
