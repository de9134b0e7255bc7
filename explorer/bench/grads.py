"""Bench suite ``grads``: one gradient-lab comparison (residual and plain, batch 8, 224x224 by default)
against two plain fwd+bwd passes of torchvision's model of the same network (``--arch``, default
ResNet-50) measured in the same process, plus peak
memory. Our time includes building and initialising both models, the hooks and the norms; the
reference is only the two passes (torchvision is optional: without it the ratio is left out).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import Callable

from explorer.bench._timing import Measurement, measure, memory_source
from explorer.core.argtypes import positive_int
from explorer.core.network.memory import check_fits, training_bytes
from explorer.core.network.stages import DEFAULT_ARCH, input_size_problem

TARGET_RATIO = 1.15  # the budget: at most 1.15x two torchvision fwd+bwd passes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("grads suite")
    group.add_argument("--grads-batch", type=positive_int, default=8, metavar="N", help="batch size (default 8)")
    group.add_argument("--grads-size", type=positive_int, default=224, metavar="N", help="input side (default 224)")
    group.add_argument("--grads-repeats", type=positive_int, default=1, metavar="N", help="timed repeats, best kept (default 1)")
    group.add_argument("--grads-device", default="cpu", help="cpu or cuda (default cpu, where the budget was set)")
    group.add_argument("--grads-threads", type=positive_int, metavar="N",
                       help="torch CPU threads (default torch's own); 1 gives the steadiest numbers on a shared machine")


def _least(samples: list[Measurement]) -> tuple[float | None, float | None, int | None]:
    """Least wall time, least CPU time, largest peak (None when there are no samples)."""
    if not samples:
        return None, None, None
    peaks = [m.peak_bytes for m in samples if m.peak_bytes is not None]
    return min(m.wall_s for m in samples), min(m.cpu_s for m in samples), max(peaks) if peaks else None


def _torchvision_passes(arch: str, batch: int, size: int, device: str) -> Callable[[], None] | None:
    import torch
    import torch.nn.functional as F

    try:
        import torchvision
    except ImportError:
        return None
    model = getattr(torchvision.models, arch)().to(device).train()
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, size, size, generator=generator).to(device)
    y = torch.randint(1000, (batch,), generator=generator).to(device)

    def two_passes() -> None:
        for _ in range(2):
            F.cross_entropy(model(x), y).backward()
            model.zero_grad(set_to_none=True)

    return two_passes


def check(args: argparse.Namespace) -> None:
    """Refuse, before anything is built, an input the network cannot take and a batch this machine's
    memory cannot hold (two models fwd+bwd: ours and torchvision's reference). Raises ValueError."""
    problem = input_size_problem(args.grads_size, args.grads_size)
    if problem:
        raise ValueError(f"--grads-size: {problem}")
    check_fits(f"--grads-batch {args.grads_batch} at {args.grads_size}x{args.grads_size}",
               2 * training_bytes(args.grads_batch, args.grads_size, args.grads_size, arch=getattr(args, "arch", DEFAULT_ARCH)))


def run(args: argparse.Namespace) -> dict:
    import torch

    from explorer.core.gradients import PRESETS, run_comparison

    batch, size, device = args.grads_batch, args.grads_size, args.grads_device
    if args.grads_threads is not None:
        torch.set_num_threads(args.grads_threads)
    arch = getattr(args, "arch", DEFAULT_ARCH)
    config = replace(PRESETS["init-step"].config, batch=batch, size=size, arch=arch)

    def ours() -> None:
        run_comparison(config, "both", device)

    reference = _torchvision_passes(arch, batch, size, device)
    print(f"grads: warming up (batch {batch}, {size}x{size}, {device})...", file=sys.stderr, flush=True)
    # One untimed call each: the first pass pays for kernel selection and allocator growth.
    ours()
    if reference is not None:
        reference()
    # Interleaved repeats; the least of each kept, since other load on the machine only adds time.
    samples: dict[str, list[Measurement]] = {"ours": [], "reference": []}
    for _ in range(args.grads_repeats):
        for name, fn in (("ours", ours), ("reference", reference)):
            if fn is not None:
                samples[name].append(measure(fn, device))
    ours_s, ours_cpu, ours_peak = _least(samples["ours"])
    ref_s, ref_cpu, ref_peak = _least(samples["reference"])
    return {
        "arch": arch,
        "device": device,
        "batch": batch,
        "size": size,
        "threads": torch.get_num_threads(),
        "repeats": args.grads_repeats,
        "both_variants_s": ours_s,
        "torchvision_two_passes_s": ref_s,
        "ratio": None if ref_s is None else ours_s / ref_s,
        "both_variants_cpu_s": ours_cpu,
        "torchvision_two_passes_cpu_s": ref_cpu,
        "cpu_ratio": None if ref_cpu is None else ours_cpu / ref_cpu,
        "target_ratio": TARGET_RATIO,
        "peak_memory_bytes": ours_peak,
        "torchvision_peak_memory_bytes": ref_peak,
        "memory_source": memory_source(device),
    }


def _mib(value: int | None) -> str:
    return "n/a" if value is None else f"{value / 2**20:,.0f} MiB"


def describe(result: dict) -> str:
    lines = [
        f"grads: batch {result['batch']}, {result['size']}x{result['size']}, {result['device']}, "
        f"{result['threads']} threads, least of {result['repeats']} interleaved repeats",
        f"  residual + plain run (build, hooks, norms)  {result['both_variants_s']:7.2f} s wall "
        f"{result['both_variants_cpu_s']:7.2f} s CPU   peak {_mib(result['peak_memory_bytes'])}",
    ]
    if result["torchvision_two_passes_s"] is None:
        lines.append("  torchvision not installed: no reference, no ratio")
    else:
        verdict = "within" if result["ratio"] <= result["target_ratio"] else "OVER"
        lines += [
            f"  torchvision {result.get('arch', 'resnet50')}, two fwd+bwd passes   {result['torchvision_two_passes_s']:7.2f} s wall "
            f"{result['torchvision_two_passes_cpu_s']:7.2f} s CPU   peak {_mib(result['torchvision_peak_memory_bytes'])}",
            f"  ratio {result['ratio']:.3f} wall ({verdict} the {result['target_ratio']} target), {result['cpu_ratio']:.3f} CPU",
        ]
    lines.append(f"  memory: {result['memory_source']} during each call")
    return "\n".join(lines)
