"""``resnet-explorer lesion IMAGE``: the lesion study of Veit et al. 2016 from explorer.core.insight.lesion.
By default a sweep (each block lesioned in turn, 16 in ResNet-50, 8 in ResNet-18, 50 in
ResNet-152: the top-1 probability drop per block); with ``--block`` one lesion and the top-5 before
and after. Exit status as every one-image command (explorer.commands.common).
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Callable

from explorer.commands.common import (
    Loaded,
    add_model_arguments,
    block_name,
    class_text,
    report_title,
    run_one_image,
)
from explorer.core.choices import LESION_KINDS
from explorer.core.text import shown

if TYPE_CHECKING:
    from explorer.core.insight.lesion import Lesion, Sweep

COMMAND = "lesion"
KIND_TEXT = {"residual": "residual branch removed, shortcut kept", "shortcut": "shortcut removed, residual branch kept"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(COMMAND, help="lesion study: remove one block's residual branch or shortcut, or sweep every block")
    p.add_argument("image", metavar="IMAGE", help="image file")
    p.add_argument("--kind", choices=LESION_KINDS, default="residual", help="what to remove from a block (default: residual, as Veit et al.)")
    p.add_argument(
        "--block", type=block_name, metavar="NAME", help="lesion only this block (layer1.0 .. layer4.2 in ResNet-50): top-5 before and after"
    )
    add_model_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.block == "stem":
        args._parser.error("argument --block: the stem has no shortcut to lesion; name a residual block")
    return run_one_image(COMMAND, args, lambda loaded: measure(loaded, args), format_single if args.block else format_sweep, blocks="block")


def measure(loaded: Loaded, args: argparse.Namespace) -> dict:
    """The report's kind, the lesion or sweep, and its time in ms."""
    from explorer.core.insight.lesion import Lesion, Lesioner

    lesioner = Lesioner(loaded.model)
    start = time.perf_counter()
    result = lesioner.lesion(loaded.image, args.block, args.kind) if args.block else lesioner.sweep(loaded.image, args.kind)
    elapsed_ms = (time.perf_counter() - start) * 1000
    cls = loaded.class_json
    return {"kind": args.kind, **(single_json(result, cls) if isinstance(result, Lesion) else sweep_json(result, cls)), "ms": round(elapsed_ms, 1)}


def single_json(r: Lesion, class_json: Callable[[int, float], dict]) -> dict:
    return {"block": r.block, "before": [class_json(i, p) for i, p in r.before], "after": [class_json(i, p) for i, p in r.after]}


def sweep_json(s: Sweep, class_json: Callable[[int, float], dict]) -> dict:
    return {
        "class": class_json(s.class_index, s.prob),
        "before": [class_json(i, p) for i, p in s.before],
        "blocks": [
            {
                "block": b.block,
                "block_kind": b.block_kind,
                "prob": b.prob,
                "drop": b.drop,
                "top1": class_json(*b.after[0]) if b.after else None,
                "skipped": b.skipped,
            }
            for b in s.blocks
        ],
    }


def format_single(r: dict) -> str:
    lines = [report_title(r), f"lesion of {r['block']}: {KIND_TEXT[r['kind']]} ({r['ms']:.0f} ms)", f"{'before':<45}after"]
    for before, after in zip(r["before"], r["after"]):
        left = f"{before['index']:>4} {shown(before['label'])[:28]:<28} {before['prob']:>7.2%}"
        lines.append(f"{left:<45}{after['index']:>4} {shown(after['label'])[:28]:<28} {after['prob']:>7.2%}")
    return "\n".join(lines)


def format_sweep(r: dict) -> str:
    lines = [
        report_title(r),
        f"unlesioned top-1: {class_text(r['class'], 2)}",
        f"each block in turn: {KIND_TEXT[r['kind']]}",
        f"{'block':<10}{'kind':<10}{'p(top-1)':>9}{'drop':>9}  new top-1",
    ]
    for b in r["blocks"]:
        if b["skipped"]:
            lines.append(f"{b['block']:<10}{b['block_kind']:<10}  skipped: {b['skipped']}")
            continue
        lines.append(f"{b['block']:<10}{b['block_kind']:<10}{b['prob']:>9.2%}{b['drop']:>9.2%}  {class_text(b['top1'])}")
    lines.append(f"sweep of {sum(1 for b in r['blocks'] if not b['skipped'])} lesions: {r['ms']:.0f} ms")
    return "\n".join(lines)
