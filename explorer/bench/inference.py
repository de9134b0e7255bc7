"""Bench suite ``inference`` (the default): classification latency of the app's inference path for
``--arch`` (default ResNet-50) with the engine ``--engine`` picks (``auto`` by default), and
torchvision's eager model of the same network measured in the same run, interleaved round by round
so that both see the same machine load.

Forward: ``Classifier.logits`` on a preprocessed batch (host-to-device copy, forward, copy back).
End-to-end: decode + preprocess + forward for a 1224x816 (1-megapixel) JPEG made from the bundled
``cat.jpg``, with the exact (full) decode the app uses by default, and with ``--fast-decode``. Random
weights: speed does not depend on their values, and nothing is downloaded. bf16 is measured where
the device runs it natively. Targets: forward <= 1.0x torchvision, bf16 <= 0.75x torchvision fp32,
end-to-end <= 1.2x forward.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from explorer.bench._timing import interleaved, median_min
from explorer.core.argtypes import device_name, positive_int
from explorer.core.choices import ENGINE_CHOICES
from explorer.core.network.memory import FLOAT32_BYTES, check_fits, inference_bytes

if TYPE_CHECKING:
    import torch

MEGAPIXEL_SIZE = (1224, 816)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # --device and --batch belong to this suite, the default one, and keep their short names.
    group = parser.add_argument_group("inference suite")
    group.add_argument("--device", type=device_name, default="auto", help="auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps")
    group.add_argument("--batch", type=positive_int, default=1, metavar="N", help="images per forward (default 1)")
    group.add_argument(
        "--engine", choices=ENGINE_CHOICES, default="auto",
        help="the classifier's engine: auto (default: the fastest installed), torch, onnxruntime or openvino",
    )
    group.add_argument("--inference-repeats", type=positive_int, default=20, metavar="N", help="timed rounds (default 20)")
    group.add_argument("--inference-warmup", type=positive_int, default=3, metavar="N", help="untimed rounds first (default 3)")
    group.add_argument(
        "--inference-threads", type=positive_int, metavar="N",
        help="CPU threads for torch (default: torch's own choice); onnxruntime and OpenVINO use a thread per core",
    )


def check(args: argparse.Namespace) -> None:
    """Refuse, before anything is built, an unavailable device or a batch this machine's memory cannot
    hold (our classifier in fp32 and bf16 and torchvision's, two copies of the batch). Raises ValueError."""
    from explorer.core.devices import select_device

    select_device(args.device)
    side = 224
    batch_bytes = 2 * args.batch * 3 * side * side * FLOAT32_BYTES
    check_fits(f"--batch {args.batch}", inference_bytes(args.batch, side, side, models=5, arch=args.arch) + batch_bytes)


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from PIL import Image

    from explorer.core.devices import select_device, supported_precisions
    from explorer.core.images import load_image, preprocess
    from explorer.core.inference.classifier import Classifier
    from explorer.core.samples import sample_images

    device = select_device(args.device)
    if args.inference_threads:  # on a shared machine, 1 thread avoids waiting for descheduled workers
        torch.set_num_threads(args.inference_threads)
    classifier = Classifier(str(device), "fp32", engine=args.engine)
    classifier.load("random", arch=args.arch)
    resize, crop = classifier.transform
    with tempfile.TemporaryDirectory() as folder:
        jpeg = Path(folder) / "megapixel.jpg"
        Image.open(sample_images()[0]).convert("RGB").resize(MEGAPIXEL_SIZE, Image.BICUBIC).save(jpeg, quality=90)
        batch = torch.stack([preprocess(load_image(jpeg), resize, crop)] * args.batch)  # (N, 3, crop, crop)

        def end_to_end(reduce_for: int | None) -> Callable[[], Any]:
            return lambda: classifier.logits(
                torch.stack([preprocess(load_image(jpeg, reduce_for), resize, crop) for _ in range(args.batch)])
            )

        timers: dict[str, Callable[[], Any]] = {
            "forward": lambda: classifier.logits(batch),
            "end_to_end": end_to_end(None),
            "end_to_end_fast_decode": end_to_end(resize),
        }
        reference = _torchvision_model(args.arch, device)
        if reference is not None:
            timers["torchvision"] = lambda: _reference_forward(reference, batch, device)
        if "bf16" in supported_precisions(device):
            reduced = Classifier(str(device), "bf16", engine=args.engine)
            reduced.load("random", check_precision=False, arch=args.arch)  # speed only: random weights fail the top-5 check
            timers["bf16_forward"] = lambda: reduced.logits(batch)
        times = interleaved(timers, args.inference_warmup, args.inference_repeats)

    result: dict[str, Any] = {
        "arch": args.arch, "device": str(device), "batch": args.batch, "threads": torch.get_num_threads(),
        "engine": classifier.engine, "notes": classifier.notices,
    }
    for name in ("forward", "end_to_end", "end_to_end_fast_decode"):
        result[f"{name}_ms"] = median_min(times[name])
    if "torchvision" in times:
        result["torchvision_ms"] = median_min(times["torchvision"])["median"]
        result["ratio"] = round(result["forward_ms"]["median"] / result["torchvision_ms"], 3)
    if "bf16_forward" in times:
        result["bf16_forward_ms"] = median_min(times["bf16_forward"])
        result["bf16_engine"] = reduced.engine
        if "torchvision_ms" in result:
            result["bf16_ratio"] = round(result["bf16_forward_ms"]["median"] / result["torchvision_ms"], 3)
    return result


def _torchvision_model(arch: str, device: torch.device) -> torch.nn.Module | None:
    try:
        import torchvision.models
    except ImportError:  # optional: the app itself never needs torchvision
        return None
    return getattr(torchvision.models, arch)().eval().to(device)


def _reference_forward(model: torch.nn.Module, batch: torch.Tensor, device: torch.device) -> torch.Tensor:
    import torch

    with torch.inference_mode():  # the same copies as Classifier.logits, so the comparison is fair
        return model(batch.to(device)).float().cpu()


def describe(result: dict[str, Any]) -> str:
    fwd, e2e, fast = result["forward_ms"], result["end_to_end_ms"], result["end_to_end_fast_decode_ms"]
    lines = [
        f"inference of {result.get('arch', 'resnet50')} on {result['device']} ({result['threads']} CPU threads), "
        f"batch {result['batch']}, fp32, engine {result['engine']} (random weights)",
        *(f"  note: {n}" for n in result["notes"]),
        f"  forward               median {fwd['median']:8.2f} ms   min {fwd['min']:8.2f} ms",
        f"  end-to-end 1 Mpx JPEG median {e2e['median']:8.2f} ms   min {e2e['min']:8.2f} ms   "
        f"{e2e['median'] / fwd['median']:.2f}x forward (target <= 1.2)",
        f"    with --fast-decode  median {fast['median']:8.2f} ms   min {fast['min']:8.2f} ms   "
        f"{fast['median'] / fwd['median']:.2f}x forward (reduced-size JPEG decode, not torchvision's exact input)",
    ]
    if "torchvision_ms" in result:
        lines.append(
            f"  torchvision eager     median {result['torchvision_ms']:8.2f} ms   ratio {result['ratio']:.2f} (target <= 1.0)"
        )
    else:
        lines.append("  torchvision not installed: no reference measured")
    if "bf16_forward_ms" in result:
        bf16 = result["bf16_forward_ms"]
        ratio = f"   {result['bf16_ratio']:.2f}x torchvision fp32 (target <= 0.75)" if "bf16_ratio" in result else ""
        lines.append(f"  bf16 forward ({result['bf16_engine']}) median {bf16['median']:8.2f} ms   min {bf16['min']:8.2f} ms{ratio}")
    return "\n".join(lines)
