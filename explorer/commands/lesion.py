"""``resnet-explorer lesion IMAGE``: the lesion study of Veit et al. 2016 from explorer.core.lesion.
By default a sweep (each of the 16 blocks lesioned in turn, the top-1 probability drop per block);
with ``--block`` one lesion and the top-5 before and after.

Exit status 0 on success, 1 when the image, the weights or the device fail (one line on stderr
naming it), 2 for usage errors.
"""

from __future__ import annotations

import argparse
import json
import time

from explorer.commands.cam import add_model_arguments, class_json, first_line, load_inputs, weights_json
from explorer.commands.common import error
from explorer.core.lesion import KINDS, Lesion, Lesioner, Sweep
from explorer.core.blocks import residual_blocks

KIND_TEXT = {"residual": "residual branch removed, shortcut kept", "shortcut": "shortcut removed, residual branch kept"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lesion", help="lesion study: remove one block's residual branch or shortcut, or sweep all 16")
    p.add_argument("image", metavar="IMAGE", help="image file")
    p.add_argument("--kind", choices=KINDS, default="residual", help="what to remove from a block (default: residual, as Veit et al.)")
    p.add_argument(
        "--block", choices=residual_blocks(), metavar="NAME", help="lesion only this block (layer1.0 .. layer4.2): top-5 before and after"
    )
    add_model_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    loaded = load_inputs("lesion", args)
    if loaded is None:
        return 1
    head = {"file": args.image, "weights": weights_json(loaded.weights), "device": str(loaded.device), "kind": args.kind}
    try:
        lesioner = Lesioner(loaded.model)
        start = time.perf_counter()
        result = lesioner.lesion(loaded.image, args.block, args.kind) if args.block else lesioner.sweep(loaded.image, args.kind)
        elapsed_ms = (time.perf_counter() - start) * 1000
    except RuntimeError as exc:  # e.g. out of memory on the device
        error("lesion", f"{args.image}: {first_line(exc)}")
        return 1
    report = {**head, **(single_json(result) if isinstance(result, Lesion) else sweep_json(result)), "ms": round(elapsed_ms, 1)}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_single(report) if args.block else format_sweep(report))
    return 0


def single_json(r: Lesion) -> dict:
    return {"block": r.block, "before": [class_json(i, p) for i, p in r.before], "after": [class_json(i, p) for i, p in r.after]}


def sweep_json(s: Sweep) -> dict:
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


def _title(r: dict) -> str:
    untrained = "" if r["weights"]["trained"] else "  [untrained: predictions are meaningless]"
    return f"{r['file']}  (weights: {r['weights']['label']}, {r['device']}){untrained}"


def format_single(r: dict) -> str:
    lines = [_title(r), f"lesion of {r['block']}: {KIND_TEXT[r['kind']]} ({r['ms']:.0f} ms)", f"{'before':<45}after"]
    for before, after in zip(r["before"], r["after"]):
        left = f"{before['index']:>4} {before['label'][:28]:<28} {before['prob']:>7.2%}"
        lines.append(f"{left:<45}{after['index']:>4} {after['label'][:28]:<28} {after['prob']:>7.2%}")
    return "\n".join(lines)


def format_sweep(r: dict) -> str:
    c = r["class"]
    lines = [
        _title(r),
        f"unlesioned top-1: {c['index']} {c['label']} ({c['prob']:.2%})",
        f"each block in turn: {KIND_TEXT[r['kind']]}",
        f"{'block':<10}{'kind':<10}{'p(top-1)':>9}{'drop':>9}  new top-1",
    ]
    for b in r["blocks"]:
        if b["skipped"]:
            lines.append(f"{b['block']:<10}{b['block_kind']:<10}  skipped: {b['skipped']}")
            continue
        top = b["top1"]
        new_top = f"{top['index']} {top['label']} ({top['prob']:.1%})"
        lines.append(f"{b['block']:<10}{b['block_kind']:<10}{b['prob']:>9.2%}{b['drop']:>9.2%}  {new_top}")
    lines.append(f"sweep of {sum(1 for b in r['blocks'] if not b['skipped'])} lesions: {r['ms']:.0f} ms")
    return "\n".join(lines)
