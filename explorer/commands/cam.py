"""``resnet-explorer cam IMAGE``: Grad-CAM heat map of one image at any stage, for any class, from
explorer.core.gradcam; optionally blended over the crop the network saw and written as an image.

Exit status 0 on success, 1 when the image, the weights, the device or the output file fail (one
line on stderr naming it), 2 for usage errors.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from explorer.commands.common import bounded, error
from explorer.core.blocks import stage_outputs
from explorer.core.gradcam import COLORMAPS, DEFAULT_STAGE, STAGES, grad_cam, network_view, overlay
from explorer.core.images import load_image, preprocess
from explorer.core.inference import select_device
from explorer.core.labels import imagenet_classes
from explorer.core.model import ResNet50
from explorer.core.weights import DEFAULT_SOURCE, WeightsInfo, load_weights



def class_index(text: str) -> int:
    """argparse type: an ImageNet class index 0..999."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a class index") from None
    if not 0 <= value < len(imagenet_classes()):
        raise argparse.ArgumentTypeError(f"class index must be 0..{len(imagenet_classes()) - 1}, got {value}")
    return value


opacity = bounded(float, 0.0, 1.0)  # 0: the image only, 1: the heat map only


def image_path(text: str) -> Path:
    """argparse type: an output path whose suffix names a format Pillow can write."""
    Image.init()
    suffix = Path(text).suffix.lower()
    if Image.registered_extensions().get(suffix) not in Image.SAVE:
        raise argparse.ArgumentTypeError(f"{text!r}: give a .png, .jpg, .webp, .bmp or .tif file name")
    return Path(text)


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """--weights, --device and --json, shared with ``resnet-explorer lesion``."""
    p.add_argument(
        "--weights", default=DEFAULT_SOURCE, metavar="NAME|FILE", help="imagenet-v2 (default), imagenet-v1, random, or a checkpoint file"
    )
    p.add_argument("--device", default="auto", metavar="D", help="cpu, cuda, cuda:1, mps or auto (default: cuda > mps > cpu)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cam", help="Grad-CAM heat map of one image at any stage, for any class")
    p.add_argument("image", metavar="IMAGE", help="image file")
    p.add_argument(
        "--stage", type=int, choices=STAGES, default=DEFAULT_STAGE, help="explain this stage's output (1 = stem .. 5 = layer4; default 5)"
    )
    p.add_argument("--class", dest="class_index", type=class_index, metavar="K", help="ImageNet class index to explain (default: top-1)")
    p.add_argument("--out", type=image_path, metavar="FILE", help="write the heat map blended over the network's crop, atomically")
    p.add_argument("--opacity", type=opacity, default=0.5, metavar="A", help="heat map opacity in --out, 0..1 (default 0.5)")
    p.add_argument("--colormap", choices=COLORMAPS, default="jet", help="colour map of --out (default jet)")
    add_model_arguments(p)
    p.set_defaults(func=run)


@dataclass
class Loaded:
    """What the cam and lesion commands need: the model on its device, the image and the weights."""

    model: ResNet50
    image: torch.Tensor  # (3, crop, crop), preprocessed
    weights: WeightsInfo
    device: torch.device


def load_inputs(command: str, args: argparse.Namespace) -> Loaded | None:
    """Device, image and weights from the common arguments, cheapest check first; None after
    printing one error line."""
    try:
        device = select_device(args.device)
        picture = load_image(args.image)
        model = ResNet50()
        info = load_weights(model, args.weights)
    except ValueError as exc:  # an unavailable device, an ImageError or a WeightsError (all ValueErrors)
        error(command, str(exc))
        return None
    return Loaded(model.to(device).eval(), preprocess(picture, info.resize, info.crop), info, device)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def weights_json(info: WeightsInfo) -> dict:
    return {"source": info.source, "label": info.label, "trained": info.trained}


def class_json(index: int, prob: float) -> dict:
    return {"index": index, "label": imagenet_classes()[index], "prob": prob}


def save_atomically(image: Image.Image, path: Path) -> None:
    """Write ``image`` to a temporary file next to ``path`` and move it into place, so a reader never
    sees a half-written file and a failure leaves any earlier file intact."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            image.save(f, format=Image.registered_extensions()[path.suffix.lower()])
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run(args: argparse.Namespace) -> int:
    if args.out is not None and not args.out.parent.is_dir():  # fail before loading anything
        error("cam", f"{args.out}: cannot write (no such folder {args.out.parent})")
        return 1
    loaded = load_inputs("cam", args)
    if loaded is None:
        return 1
    try:
        result = grad_cam(loaded.model, loaded.image, stage=args.stage, class_index=args.class_index)
    except RuntimeError as exc:  # e.g. out of memory on the device
        error("cam", f"{args.image}: {first_line(exc)}")
        return 1
    if args.out is not None:
        try:
            save_atomically(overlay(network_view(loaded.image), result.heatmap, args.opacity, args.colormap), args.out)
        except OSError as exc:
            error("cam", f"{args.out}: cannot write ({exc.strerror or exc})")
            return 1
    heat = result.heatmap
    peak_y, peak_x = np.unravel_index(int(heat.argmax()), heat.shape)
    report = {
        "file": args.image,
        "weights": weights_json(loaded.weights),
        "device": str(loaded.device),
        "stage": result.stage,
        "layer": stage_outputs()[result.stage],
        "class": class_json(result.class_index, result.class_prob),
        "top": [class_json(i, p) for i, p in result.top],
        "heatmap": {
            "size": list(heat.shape),
            "peak": [int(peak_x), int(peak_y)],
            "area_above_half": float((heat >= 0.5).mean()),
        },
        "out": str(args.out) if args.out is not None else None,
    }
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def format_report(r: dict) -> str:
    untrained = "" if r["weights"]["trained"] else "  [untrained: predictions are meaningless]"
    c, h = r["class"], r["heatmap"]
    lines = [
        f"{r['file']}  (weights: {r['weights']['label']}, {r['device']}){untrained}",
        f"Grad-CAM at stage {r['stage']} ({r['layer']} output) for class {c['index']} {c['label']} ({c['prob']:.1%})",
        f"heat map {h['size'][1]}x{h['size'][0]}: peak at x={h['peak'][0]}, y={h['peak'][1]}; "
        f"{h['area_above_half']:.0%} of the crop above half the peak",
        "top-5:",
        *(f"  {n}. {t['index']:>4} {t['label']:<30} {t['prob']:>7.2%}" for n, t in enumerate(r["top"], 1)),
    ]
    if r["out"]:
        lines.append(f"written: {r['out']}")
    return "\n".join(lines)
