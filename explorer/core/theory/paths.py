"""Residual networks as ensembles of paths (Veit, Wilber & Belongie 2016, Sec. 5 and Fig. 6): n residual
blocks give 2^n paths from input to output, a path of length k passing k residual branches; how many
paths there are of each length, how large the gradient each one carries to the input, and where the
total gradient comes from. Pure PyTorch; part of explorer.core.theory.

The network is run forward unchanged; the loss is the cross-entropy of each image against the
network's own top-1 class (mean over the batch). In the backward pass, for a subset S of the blocks, a
block in S passes the gradient through its residual branch only and a block outside S through its
shortcut only (its projection where it has one); the post-add ReLU's mask from the forward pass
applies in both. The resulting input gradient is S's path gradient. Each block's backward is the sum
of its two parts, so the 2^n path gradients add up to autograd's input gradient: ``identity_error``
reports how closely they do (relative L2), when every subset is enumerated.

Subsets are visited depth-first from the last block to the first, so that subsets which agree on the
later blocks share those blocks' backward steps, and only one gradient per block is alive at a time.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from itertools import combinations

import torch
import torch.nn.functional as F

from explorer.core.progress import Cancel, Progress, Steps
from explorer.core.theory.config import EXACT_BLOCKS, TheoryConfig
from explorer.core.theory.prepare import prepare

Subset = frozenset[int]  # indices of the blocks whose residual branch the path passes


@dataclass(frozen=True)
class PathsResult:
    """One run as plain values; lists are indexed by path length k = 0..n."""

    config: TheoryConfig
    device: str
    blocks: int
    exact: bool
    distribution: tuple[float, ...]  # C(n, k) / 2^n
    gradient_by_length: tuple[float, ...]  # mean L2 norm of a path gradient of length k
    total_by_length: tuple[float, ...]  # C(n, k) * gradient_by_length[k], normalised to sum 1
    identity_error: float | None  # |sum of path gradients - input gradient| / |input gradient|, when exact
    subsets: int  # path gradients computed

    def to_dict(self) -> dict:
        return {
            "config": {**self.config.to_dict(), "device": self.device},
            "blocks": self.blocks,
            "exact": self.exact,
            "distribution": list(self.distribution),
            "gradient_by_length": list(self.gradient_by_length),
            "total_by_length": list(self.total_by_length),
            "identity_error": self.identity_error,
        }


def path_subsets(n: int, samples: int, seed: int) -> list[list[Subset]]:
    """The subsets measured, per length k = 0..n: all of them when n <= EXACT_BLOCKS or when a
    length has no more than ``samples``; otherwise ``samples`` distinct ones drawn with a generator
    seeded with ``seed`` (the same subsets for the same arguments)."""
    rng = random.Random(seed)
    out = []
    for k in range(n + 1):
        if n <= EXACT_BLOCKS or math.comb(n, k) <= samples:
            out.append([frozenset(c) for c in combinations(range(n), k)])
            continue
        chosen: set[Subset] = set()
        while len(chosen) < samples:
            chosen.add(frozenset(rng.sample(range(n), k)))
        out.append(sorted(chosen, key=sorted))
    return out


class _Backward:
    """The pieces of one forward pass that every path's backward needs: the gradient at the last
    block's output, each block's two backward parts, and the stem's."""

    def __init__(self, model: torch.nn.Module, x: torch.Tensor) -> None:
        self.blocks = list(model.blocks().values())
        inputs: list[torch.Tensor] = []
        outputs: list[torch.Tensor] = []
        stem: list[torch.Tensor] = []
        def on_block(module: torch.nn.Module, args: tuple[torch.Tensor], out: torch.Tensor) -> None:
            inputs.append(args[0])
            outputs.append(out)

        handles = [model.stem_output.register_forward_hook(lambda m, i, out: stem.append(out))]
        handles += [block.register_forward_hook(on_block) for block in self.blocks]
        self.x = x.detach().requires_grad_(True)
        try:
            logits = model(self.x)  # (B, classes)
        finally:
            for handle in handles:
                handle.remove()
        loss = F.cross_entropy(logits, logits.detach().argmax(dim=1))
        # Autograd's own input gradient, the identity's reference, and the gradient at the last block.
        self.full, self.top = torch.autograd.grad(loss, [self.x, outputs[-1]], retain_graph=True)
        self.stem_out = stem[0]
        self.masks = [(out > 0).to(out.dtype) for out in outputs]  # ReLU(z) > 0 exactly where z > 0
        # Each block once more from its input, as a graph of its own: the branch and the shortcut apart.
        self.parts = []
        for block, block_in in zip(self.blocks, inputs):
            leaf = block_in.detach().requires_grad_(True)
            with torch.enable_grad():
                self.parts.append((leaf, block.residual(leaf), block.shortcut(leaf)))

    def through(self, index: int, grad: torch.Tensor, branch: bool) -> torch.Tensor:
        """The gradient at block ``index``'s input from the one at its output, via one part."""
        grad = grad * self.masks[index]
        leaf, residual, shortcut = self.parts[index]
        if not branch and shortcut is leaf:  # an identity shortcut passes the gradient unchanged
            return grad
        return torch.autograd.grad(residual if branch else shortcut, leaf, grad, retain_graph=True)[0]

    def to_input(self, grad: torch.Tensor) -> torch.Tensor:
        return torch.autograd.grad(self.stem_out, self.x, grad, retain_graph=True)[0]


def run_paths(config: TheoryConfig, device: str = "cpu", progress: Progress | None = None, cancel: Cancel | None = None) -> PathsResult:
    """Every path gradient of ``config``'s network (or ``config.samples`` per length, see
    :func:`path_subsets`), summarised by length; see the module docstring. Progress after building,
    after the forward pass and after every path; the same points poll ``cancel``."""
    if not config.shortcuts:
        raise ValueError("the paths view decomposes the residual network: its shortcuts must be on")
    prepared = prepare(config, device, progress, cancel)
    model = prepared.model
    n = len(model.blocks())
    per_length = path_subsets(n, config.samples, config.seed)
    count = sum(map(len, per_length))
    step = Steps(2 + count, progress, cancel)
    step("network built")
    backward = _Backward(model, prepared.x)
    step("forward pass")
    norms: list[list[torch.Tensor]] = [[] for _ in range(n + 1)]
    total = torch.zeros_like(backward.full, dtype=torch.float64)

    def descend(index: int, grad: torch.Tensor, subsets: list[Subset]) -> None:
        if index < 0:  # through the stem to the input: one subset is left
            path_grad = backward.to_input(grad)
            length = len(subsets[0])
            norms[length].append(torch.linalg.vector_norm(path_grad, dtype=torch.float64))
            total.add_(path_grad.double())
            step(f"path {step.done - 1} of {count} (length {length})")
            return
        for branch in (True, False):
            chosen = [s for s in subsets if (index in s) == branch]
            if chosen:
                descend(index - 1, backward.through(index, grad, branch), chosen)

    descend(n - 1, backward.top, [s for group in per_length for s in group])
    exact = n <= EXACT_BLOCKS
    by_length = torch.stack([torch.stack(group).mean() for group in norms]).tolist()
    identity = None
    if exact:
        reference = backward.full.double()
        identity = (torch.linalg.vector_norm(total - reference) / torch.linalg.vector_norm(reference)).item()
    weighted = [math.comb(n, k) * g for k, g in enumerate(by_length)]
    mass = sum(weighted)
    return PathsResult(
        config=prepared.config,
        device=str(prepared.device),
        blocks=n,
        exact=exact,
        distribution=tuple(math.comb(n, k) / 2**n for k in range(n + 1)),
        gradient_by_length=tuple(by_length),
        total_by_length=tuple(w / mass if mass > 0 else 0.0 for w in weighted),
        identity_error=identity,
        subsets=count,
    )



def effective_lengths(total_by_length: tuple[float, ...] | list[float], share: float = 0.9) -> tuple[int, int]:
    """The shortest run of consecutive path lengths (first, last) that carries ``share`` of the total
    gradient: Veit et al.'s "effective paths" (5 to 17 of ResNet-110's 54 blocks); the earliest such
    run where several are as short."""
    total = sum(total_by_length)
    best = (0, len(total_by_length) - 1)
    for first in range(len(total_by_length)):
        held = 0.0
        for last in range(first, len(total_by_length)):
            held += total_by_length[last]
            if held >= share * total:
                if last - first < best[1] - best[0]:
                    best = (first, last)
                break
    return best
