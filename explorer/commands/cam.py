"""``resnet-explorer cam IMAGE``: Grad-CAM heat map of one image at any stage, for any class, from
explorer.core.insight.gradcam; optionally blended over the crop the network saw and written as an image.

Exit status as every one-image command (explorer.commands.common); the output file is checked
before anything is computed and written through the one writer (explorer.core.files).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from explorer.commands.common import (
    EXIT_FAILED,
    Loaded,
    add_model_arguments,
    bounded,
    class_index,
    class_text,
    error,
    output_problem,
    report_title,
    run_one_image,
    write_atomically,
)
from explorer.core.choices import COLORMAPS, DEFAULT_GRADCAM_STAGE, GRADCAM_STAGES
from explorer.core.network.blocks import stage_outputs
from explorer.core.text import shown

COMMAND = "cam"
opacity = bounded(float, 0.0, 1.0)  # 0: the image only, 1: the heat map only
# Pillow's writers by suffix, listed here so that the parser needs no Pillow import.
OUTPUT_SUFFIXES = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}


def image_path(text: str) -> Path:
    """argparse type: an output path whose suffix names a format Pillow can write."""
    if Path(text).suffix.lower() not in OUTPUT_SUFFIXES:
        raise argparse.ArgumentTypeError(f"{text!r}: give a .png, .jpg, .webp, .bmp or .tif file name")
    return Path(text)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(COMMAND, help="Grad-CAM heat map of one image at any stage, for any class")
    p.add_argument("image", metavar="IMAGE", help="image file")
    p.add_argument(
        "--stage", type=int, choices=GRADCAM_STAGES, default=DEFAULT_GRADCAM_STAGE,
        help=f"explain this stage's output (1 = stem .. {GRADCAM_STAGES[-1]} = layer4; default {DEFAULT_GRADCAM_STAGE})",
    )
    p.add_argument("--class", dest="class_index", type=class_index, metavar="K", help="class index to explain (default: top-1)")
    p.add_argument("--out", type=image_path, metavar="FILE", help="write the heat map blended over the network's crop, atomically")
    p.add_argument("--opacity", type=opacity, default=0.5, metavar="A", help="heat map opacity in --out, 0..1 (default 0.5)")
    p.add_argument("--colormap", choices=COLORMAPS, default="jet", help="colour map of --out (default jet)")
    add_model_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.out is not None:
        problem = output_problem(args.out)
        if problem:  # fail before loading anything
            error(COMMAND, problem)
            return EXIT_FAILED
    return run_one_image(COMMAND, args, lambda loaded: measure(loaded, args), format_report)


def measure(loaded: Loaded, args: argparse.Namespace) -> dict:
    """The report's stage, class, top-5 and heat map, the heat map written to ``--out`` first
    (OutputError when it cannot be)."""
    import numpy as np

    from explorer.core.insight.gradcam import grad_cam, network_view, overlay

    result = grad_cam(loaded.model, loaded.image, stage=args.stage, class_index=args.class_index)
    if args.out is not None:
        blended = overlay(network_view(loaded.image), result.heatmap, args.opacity, args.colormap)
        write_atomically(args.out, lambda f: blended.save(f, format=OUTPUT_SUFFIXES[args.out.suffix.lower()]))
    heat = result.heatmap
    peak_y, peak_x = np.unravel_index(int(heat.argmax()), heat.shape)
    return {
        "stage": result.stage,
        "layer": stage_outputs()[result.stage],
        "class": loaded.class_json(result.class_index, result.class_prob),
        "top": [loaded.class_json(i, p) for i, p in result.top],
        "heatmap": {
            "size": list(heat.shape),
            "peak": [int(peak_x), int(peak_y)],
            "area_above_half": float((heat >= 0.5).mean()),
        },
        "out": str(args.out) if args.out is not None else None,
    }


def format_report(r: dict) -> str:
    h = r["heatmap"]
    lines = [
        report_title(r),
        f"Grad-CAM at stage {r['stage']} ({r['layer']} output) for class {class_text(r['class'])}",
        f"heat map {h['size'][1]}x{h['size'][0]}: peak at x={h['peak'][0]}, y={h['peak'][1]}; "
        f"{h['area_above_half']:.0%} of the crop above half the peak",
        "top-5:",
        *(f"  {n}. {t['index']:>4} {shown(t['label']):<30} {t['prob']:>7.2%}" for n, t in enumerate(r["top"], 1)),
    ]
    if r["out"]:
        lines.append(f"written: {shown(r['out'])}")
    return "\n".join(lines)
