"""Bench suite ``race``: the time of one training step of each race network (the residual ``--arch``,
default ResNet-50, and its plain twin, through the race's own ``Lane.train_step``: forward, loss, backward,
stem gradient norm, clipping, SGD step, accuracy, read back) against torchvision's same network doing forward, loss, backward, clipping
and the same SGD step on the same batch, measured round-robin in the same run (torchvision is
optional: without it the ratios are left out). Benchmarks print numbers; tests never time anything.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Callable

from explorer.bench._timing import median_min, timed_ms
from explorer.core.argtypes import bounded, positive_int
from explorer.core.network.stages import DEFAULT_ARCH, arch_title
from explorer.core.race.config import MIN_SIZE, RaceConfig

if TYPE_CHECKING:  # torch is imported by run(): the parser and --help must not load it
    import torch

TARGET_RATIO = 1.1  # the budget: a race step of one network at most 1.1x torchvision's
WARMUP_STEPS = 2  # untimed: the first steps pay for kernel selection and allocator growth


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = RaceConfig()
    group = parser.add_argument_group("race suite")
    group.add_argument("--race-batch", type=bounded(int, 2), default=defaults.batch, metavar="N",
                       help=f"images per step (default {defaults.batch}, the race's)")
    group.add_argument("--race-size", type=bounded(int, MIN_SIZE), metavar="N",
                       help="image side (default the race's for the network: 32 for the ImageNet members)")
    group.add_argument("--race-rounds", type=positive_int, default=10, metavar="N", help="timed rounds (default 10)")
    group.add_argument("--race-device", default="cpu", help="cpu, cuda, auto (default cpu)")
    group.add_argument("--race-threads", type=positive_int, metavar="N", help="torch CPU threads (default torch's own)")


def _torchvision_step(config: RaceConfig, x: torch.Tensor, y: torch.Tensor, classes: int) -> Callable[[], object] | None:
    import torch
    import torch.nn.functional as F

    try:
        import torchvision
    except ImportError:
        return None
    torch.manual_seed(config.seed)
    model = getattr(torchvision.models, config.network)(num_classes=classes).to(x.device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)

    def step() -> float:
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.clip:  # the race clips too
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
        optimizer.step()
        return loss.item()  # the race reads its numbers back every step too

    return step


def run(args: argparse.Namespace) -> dict:
    import torch

    from explorer.core.devices import select_device
    from explorer.core.race.data import batches, load_digits
    from explorer.core.race.train import build_lanes, learning_rate

    if args.race_threads is not None:
        torch.set_num_threads(args.race_threads)
    device = select_device(args.race_device)
    arch = getattr(args, "arch", DEFAULT_ARCH)
    config = replace(RaceConfig(), network=arch, batch=args.race_batch, size=args.race_size, device=str(device))
    data = load_digits(config.image_size).to(device)
    x, y = next(batches(data, config.batch, config.seed))
    lanes = build_lanes(config, len(data.classes), device)
    lr = learning_rate(config, config.warmup)  # the peak rate: the warm-up changes no cost
    candidates: dict[str, Callable[[], object] | None] = {
        lane.label: (lambda lane=lane: lane.train_step(x, y, lr).tolist()) for lane in lanes
    }
    candidates["torchvision"] = _torchvision_step(config, x, y, len(data.classes))
    timed = {name: fn for name, fn in candidates.items() if fn is not None}
    print(f"race: warming up (batch {config.batch}, {config.image_size}x{config.image_size}, {device})...", file=sys.stderr, flush=True)
    for _ in range(WARMUP_STEPS):
        for fn in timed.values():
            fn()
    samples: dict[str, list[float]] = {name: [] for name in timed}
    for _ in range(args.race_rounds):  # round-robin, so every candidate sees the same machine load
        for name, fn in timed.items():
            samples[name].append(timed_ms(fn, device))
    steps = {name: median_min(values) for name, values in samples.items()}
    reference = steps.get("torchvision")
    ratios = {
        lane.label: None if reference is None else round(steps[lane.label]["median"] / reference["median"], 3)
        for lane in lanes
    }
    return {
        "arch": arch,
        "device": str(device),
        "batch": config.batch,
        "size": config.image_size,
        "threads": torch.get_num_threads(),
        "rounds": args.race_rounds,
        "step_ms": steps,
        "race_step_ms": round(sum(steps[lane.label]["median"] for lane in lanes), 3),
        "ratio": ratios,
        "target_ratio": TARGET_RATIO,
    }


def describe(result: dict) -> str:
    lines = [
        f"race: one training step of {arch_title(result['arch'])}, batch {result['batch']}, {result['size']}x{result['size']}, {result['device']}, "
        f"{result['threads']} threads, median and min of {result['rounds']} round-robin rounds"
    ]
    for name, ms in result["step_ms"].items():
        ratio = result["ratio"].get(name)
        versus = "" if ratio is None else f"   {ratio:.3f}x torchvision ({'within' if ratio <= result['target_ratio'] else 'OVER'} the {result['target_ratio']} target)"
        lines.append(f"  {name:<12} {ms['median']:9.1f} ms median {ms['min']:9.1f} ms min{versus}")
    if "torchvision" not in result["step_ms"]:
        lines.append("  torchvision not installed: no reference, no ratio")
    lines.append(f"  a race step (both networks): {result['race_step_ms']:.1f} ms")
    return "\n".join(lines)
