"""Bench suite ``lesion``: a full lesion sweep (every block of ``--arch``, 16 in ResNet-50) of one
image against one plain forward pass of the same model, measured in the same run (budget: at most 10x). The sweep time includes
its clean pass (a new image each repeat, so nothing is reused across repeats); the one-off copy of
the model is reported on its own. ``--lesion-naive`` also times the naive way, one full forward per block.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

from explorer.bench._timing import median_min, timed_ms
from explorer.core.argtypes import positive_int
from explorer.core.choices import LESION_KINDS as KINDS
from explorer.core.network.memory import FLOAT32_BYTES, check_fits, inference_bytes, layer_output_elements
from explorer.core.network.stages import DEFAULT_ARCH, RESNETS, input_size_problem

if TYPE_CHECKING:
    import torch

    from explorer.core.network.model import ResNet

TARGET_RATIO = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("lesion suite")
    group.add_argument("--lesion-size", type=positive_int, default=224, metavar="N", help="input side (default 224)")
    group.add_argument("--lesion-repeats", type=positive_int, default=5, metavar="N", help="timed repeats (default 5)")
    group.add_argument("--lesion-device", default="cpu", help="cpu or cuda (default cpu, where the budget was set)")
    group.add_argument("--lesion-kind", choices=(*KINDS, "both"), default="both", help="what each lesion removes (default both)")
    group.add_argument("--lesion-naive", action="store_true", help="also time one full forward per block of a lesioned model")




def check(args: argparse.Namespace) -> None:
    """Refuse an input the network cannot take, or one whose sweep (every lesioned variant as one
    batch, and every block's cached paths) this machine's memory cannot hold. Raises ValueError."""
    problem = input_size_problem(args.lesion_size, args.lesion_size)
    if problem:
        raise ValueError(f"--lesion-size: {problem}")
    size = args.lesion_size
    arch = getattr(args, "arch", DEFAULT_ARCH)
    cached = 2 * sum(layer_output_elements(size, size, arch=arch)) * FLOAT32_BYTES
    blocks = RESNETS[arch].blocks
    check_fits(f"--lesion-size {size}", inference_bytes(blocks + 1, size, size, models=2, arch=arch) + cached)


def run(args: argparse.Namespace) -> dict:
    import torch

    from explorer.core.insight.lesion import Lesioner
    from explorer.core.network.model import ResNet

    device = torch.device(args.lesion_device)
    size, repeats = args.lesion_size, args.lesion_repeats
    kinds = list(KINDS) if args.lesion_kind == "both" else [args.lesion_kind]
    gen = torch.Generator().manual_seed(0)
    images = [torch.randn(3, size, size, generator=gen) for _ in range(repeats + 1)]
    source = ResNet(getattr(args, "arch", DEFAULT_ARCH), seed=0)
    start = time.perf_counter()
    lesioner = Lesioner(source, device)
    copy_ms = (time.perf_counter() - start) * 1000
    model = lesioner.model

    def forward(x: torch.Tensor) -> None:
        with torch.inference_mode():
            model(x.unsqueeze(0).to(device))

    # Warm-up: the first call of every layer shape pays for kernel selection (oneDNN, cuDNN).
    forward(images[-1])
    for kind in kinds:
        lesioner.sweep(images[-1], kind)
    # Interleaved, so that both sides of the ratio see the same load on a shared machine.
    forwards: list[float] = []
    sweeps: dict[str, list[float]] = {kind: [] for kind in kinds}
    for x in images[:repeats]:
        forwards.append(timed_ms(lambda x=x: forward(x), device))
        for kind in kinds:
            sweeps[kind].append(timed_ms(lambda x=x, kind=kind: lesioner.sweep(x, kind), device))
    result: dict[str, Any] = {
        "arch": getattr(args, "arch", DEFAULT_ARCH),
        "blocks": len(model.blocks()),
        "device": str(device),
        "size": size,
        "repeats": repeats,
        "threads": torch.get_num_threads(),
        "copy_ms": round(copy_ms, 2),
        "forward_ms": median_min(forwards, 2),
        "target_ratio": TARGET_RATIO,
    }
    for kind in kinds:
        stats = median_min(sweeps[kind], 2)
        result[kind] = {
            "sweep_ms": stats,
            "ratio": round(stats["median"] / result["forward_ms"]["median"], 2),
            "ratio_min": round(stats["min"] / result["forward_ms"]["min"], 2),
        }
        if args.lesion_naive:
            result[kind]["naive_ms"] = round(timed_ms(lambda kind=kind: _naive_sweep(model, images[0], kind, device), device), 2)
    return result


def _naive_sweep(model: ResNet, image: torch.Tensor, kind: str, device: torch.device) -> None:
    """The reference way: one full forward per lesioned block, switching the block off and on."""
    import torch

    flip = model.set_residual if kind == "residual" else model.set_shortcuts
    x = image.unsqueeze(0).to(device)
    with torch.inference_mode():
        model(x)
        for name in model.blocks():
            flip(False, [name])
            try:
                model(x)
            finally:
                flip(True, [name])


def describe(result: dict) -> str:
    f = result["forward_ms"]
    lines = [
        f"lesion sweep ({result['device']}, {result['size']}x{result['size']}, {result['threads']} threads, "
        f"{result['repeats']} repeats): one forward {f['median']:.1f} ms median, {f['min']:.1f} ms min; "
        f"model copy {result['copy_ms']:.0f} ms (once per weights)"
    ]
    for kind in KINDS:
        if kind not in result:
            continue
        r = result[kind]
        s = r["sweep_ms"]
        blocks = result.get("blocks", 16)
        naive = f"; naive {blocks} full forwards {r['naive_ms']:.0f} ms" if "naive_ms" in r else ""
        verdict = "within" if r["ratio"] <= result["target_ratio"] else "OVER"
        lines.append(
            f"  {kind:<9} {blocks}-block sweep {s['median']:.1f} ms median ({r['ratio']:.2f}x a forward), "
            f"{s['min']:.1f} ms min ({r['ratio_min']:.2f}x); {verdict} the target <= {result['target_ratio']:.0f}x{naive}"
        )
    return "\n".join(lines)
