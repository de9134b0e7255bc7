"""Signal propagation plots (Brock, De & Smith 2021, "Characterizing signal propagation to close the
performance gap in unnormalized ResNets", Sec. 3): per block, the average channel squared mean and the
average channel variance of the block's output, and the average channel variance of its residual
branch, from one forward pass. Pure PyTorch; part of explorer.core.theory.

For a block output y of shape (N, C, H, W): ``mean_sq = mean_c(mean_{N,H,W}(y_c)^2)``, ``variance =
mean_c(var_{N,H,W}(y_c))`` (population variance). The stem's output is after its max-pool, a residual
block's after its last ReLU. ``residual_variance`` is the same variance of the branch's last BN output
(before the addition, and before SkipInit's scalar; without normalisation the BN passes its input
through, so it is the last convolution's output); None for the stem.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from explorer.core.network.blocks import STEM
from explorer.core.progress import Cancel, Progress, Steps
from explorer.core.theory.config import TheoryConfig
from explorer.core.theory.prepare import prepare


@dataclass(frozen=True)
class BlockSignal:
    name: str  # "stem", "layer1.0", ...
    mean_sq: float
    variance: float
    residual_variance: float | None

    def to_dict(self) -> dict:
        return {"name": self.name, "mean_sq": self.mean_sq, "variance": self.variance, "residual_variance": self.residual_variance}


@dataclass(frozen=True)
class SignalResult:
    """One run's statistics, stem first, as plain values."""

    config: TheoryConfig
    device: str
    blocks: tuple[BlockSignal, ...]

    @property
    def label(self) -> str:
        return self.config.label

    def to_dict(self) -> dict:
        return {"config": {**self.config.to_dict(), "device": self.device}, "blocks": [b.to_dict() for b in self.blocks]}


def channel_statistics(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(average channel squared mean, average channel variance) of a (N, C, H, W) tensor, in float64."""
    y = y.detach().double()
    mean = y.mean(dim=(0, 2, 3))  # (C,)
    return (mean**2).mean(), y.var(dim=(0, 2, 3), unbiased=False).mean()


def run_signal(config: TheoryConfig, device: str = "cpu", progress: Progress | None = None, cancel: Cancel | None = None) -> SignalResult:
    """One forward pass of ``config``'s network with hooks on the stem, every block and every
    branch's last BN; see the module docstring. Progress after building and after every block."""
    prepared = prepare(config, device, progress, cancel)
    model = prepared.model
    blocks = model.blocks()
    step = Steps(2 + len(blocks), progress, cancel)
    step("network built")
    outputs: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    branches: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    handles = [model.stem_output.register_forward_hook(lambda m, i, out: outputs.__setitem__(STEM, channel_statistics(out)))]

    def on_block(name: str, out: torch.Tensor) -> None:
        outputs[name] = channel_statistics(out)
        step(f"forward {name}")

    for name, block in blocks.items():
        handles.append(block.register_forward_hook(lambda m, i, out, name=name: on_block(name, out)))
        last_norm = block.branch_layers()[-1][1]
        handles.append(last_norm.register_forward_hook(lambda m, i, out, name=name: branches.__setitem__(name, channel_statistics(out))))
    try:
        with torch.no_grad():
            model(prepared.x)
    finally:
        for handle in handles:
            handle.remove()
    # One synchronisation for every number instead of one per block; the stem has no branch (nan).
    none = (torch.tensor(float("nan"), dtype=torch.float64, device=prepared.device),) * 2
    names = [STEM, *blocks]
    values = torch.stack([v for name in names for v in (*outputs[name], *branches.get(name, none))]).tolist()
    rows = []
    for i, name in enumerate(names):
        mean_sq, variance, _, branch_variance = values[4 * i : 4 * i + 4]
        rows.append(BlockSignal(name, mean_sq, variance, branch_variance if name in branches else None))
    step("statistics")
    return SignalResult(prepared.config, str(prepared.device), tuple(rows))
