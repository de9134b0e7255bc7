"""``resnet-explorer activations IMAGE``: what the Insight dock shows per block, as a command: each of
the block outputs' (17 in ResNet-50) shape, activation norm and Grad-CAM share (the diagram overlays), and with
``--block`` that block's most active channels (the activation grid). From explorer.core.insight.activations
and explorer.core.insight.gradcam; exit status as every one-image command (explorer.commands.common).
"""

from __future__ import annotations

import argparse

from explorer.commands.common import (
    Loaded,
    add_model_arguments,
    block_name,
    class_index,
    class_text,
    positive_int,
    report_title,
    run_one_image,
)

COMMAND = "activations"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(COMMAND, help="per-block activation norms and Grad-CAM shares; a block's most active channels")
    p.add_argument("image", metavar="IMAGE", help="image file")
    p.add_argument(
        "--block", type=block_name, metavar="NAME", help="also list this block's most active channels (stem, layer1.0 .. layer4.2 in ResNet-50)"
    )
    p.add_argument("--top", type=positive_int, default=16, metavar="K", help="channels listed with --block (default 16)")
    p.add_argument("--class", dest="class_index", type=class_index, metavar="K", help="class for the Grad-CAM shares (default: top-1)")
    add_model_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return run_one_image(COMMAND, args, lambda loaded: measure(loaded, args), format_report, blocks="block")


def measure(loaded: Loaded, args: argparse.Namespace) -> dict:
    """The report's class, blocks and channels."""
    import numpy as np

    from explorer.core.insight.activations import ActivationCache, top_channels
    from explorer.core.insight.gradcam import cam_mass_shares

    maps = ActivationCache(loaded.model, max_images=1).activations(loaded.image)
    shares = cam_mass_shares(loaded.model, loaded.image, args.class_index)
    channels = None
    if args.block:
        top = top_channels(maps[args.block], args.top)
        channels = {"block": args.block, "top": [{"channel": c.channel, "mean": c.mean, "max": float(c.map.max())} for c in top]}
    return {
        "class": loaded.class_json(shares.class_index, shares.class_prob),
        "blocks": [
            {
                "name": name,
                "shape": list(activation.shape),
                "activation_norm": float(np.linalg.norm(activation.astype(np.float64).ravel())),
                "cam_mass": shares.masses[name],
                "cam_share": shares.shares[name],
            }
            for name, activation in maps.items()
        ],
        "channels": channels,
    }


def format_report(r: dict) -> str:
    lines = [
        report_title(r),
        f"Grad-CAM shares for class {class_text(r['class'])}",
        f"{'block':<10}{'output':>14}{'activation norm':>18}{'Grad-CAM mass':>16}{'share':>9}",
    ]
    for b in r["blocks"]:
        shape = "x".join(str(d) for d in b["shape"])
        lines.append(f"{b['name']:<10}{shape:>14}{b['activation_norm']:>18.4g}{b['cam_mass']:>16.4g}{b['cam_share']:>9.1%}")
    if r["channels"]:
        lines.append(f"most active channels of {r['channels']['block']} (by mean activation):")
        lines += [f"  #{t['channel']:<5} mean {t['mean']:.4g}  max {t['max']:.4g}" for t in r["channels"]["top"]]
    return "\n".join(lines)
