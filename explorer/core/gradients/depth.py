"""He et al. 2015's central comparison (Table 2, Fig. 4: plain-18 against plain-34, ResNet-18 against
ResNet-34) at the first training step: the gradient lab run, residual and plain, on two or more
members of the family, as curves one plot can hold, and a verdict computed from the numbers. Pure
PyTorch; part of explorer.core.gradients.

The paper compares training error after many epochs, which a single step cannot show; what a step
does show is how the weight gradient changes from the fc to the stem with depth, with and without
shortcuts (the degradation's symptom, Fig. 7's statistic). The verdict says what was measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from explorer.core.gradients.config import GradConfig
from explorer.core.gradients.result import GradResult
from explorer.core.gradients.run import run_comparison
from explorer.core.loading.sources import member_weights
from explorer.core.network.stages import MEMBERS
from explorer.core.progress import Cancel, Progress

DEFAULT_DEPTHS = ("resnet18", "resnet34")


@dataclass(frozen=True)
class DepthCurve:
    """One network's main-path gradient norms, input to output, ready for one shared plot:
    ``positions`` runs from 0 (stem conv) to 1 (fc), so different depths share the x axis;
    ``layer_index`` (1..depth) is the absolute alternative."""

    arch: str
    label: str  # "plain-18", "residual-34", ... (He et al.'s names; "ResNet-34" is residual-34)
    shortcuts: bool
    depth: int
    layers: tuple[str, ...]  # main-path layer names, stem conv first
    positions: tuple[float, ...]
    grad_norms: tuple[float | None, ...]
    loss: float
    trend: float | None  # log10(stem gradient / fc gradient); None when either is missing or zero


@dataclass(frozen=True)
class DepthComparison:
    """Every curve (for each member: residual, then plain), the full results behind them, and the verdict."""

    archs: tuple[str, ...]
    curves: tuple[DepthCurve, ...]
    results: tuple[GradResult, ...]
    verdict: str


def _trend(fc: float | None, stem: float | None) -> float | None:
    if not (fc and stem and math.isfinite(fc) and math.isfinite(stem)):
        return None
    return math.log10(stem / fc)


def _curve(arch: str, result: GradResult) -> DepthCurve:
    rows = [layer for layer in result.layers if not layer.shortcut]
    depth = len(rows)
    norms = tuple(layer.grad_norm for layer in rows)
    return DepthCurve(
        arch=arch,
        label=f"{'residual' if result.shortcuts else 'plain'}-{MEMBERS[arch].depth}",
        shortcuts=result.shortcuts,
        depth=depth,
        layers=tuple(layer.name for layer in rows),
        positions=tuple(i / (depth - 1) for i in range(depth)),
        grad_norms=norms,
        loss=result.loss,
        trend=_trend(norms[-1], norms[0]),
    )


def _power(value: float) -> str:
    return f"10^{value:+.1f}"


def depth_verdict(curves: tuple[DepthCurve, ...]) -> str:
    """One line from the numbers: how the weight gradient changes from the fc to the stem at each
    depth, plain and residual, how much the deepest adds to the shallowest, whether the shortcuts
    make depth matter less, and the plain stem gradient against the residual one at each depth."""
    parts, added = [], {}
    for shortcuts in (False, True):
        chosen = [c for c in curves if c.shortcuts == shortcuts]
        if any(c.trend is None for c in chosen):
            parts.append(f"{'residual' if shortcuts else 'plain'}: a gradient is missing or zero")
            continue
        added[shortcuts] = chosen[-1].trend - chosen[0].trend  # type: ignore[operator]
        trends = ", ".join(f"{c.label} {_power(c.trend)}" for c in chosen)  # type: ignore[arg-type]
        parts.append(f"{trends} (depth adds {_power(added[shortcuts])})")
    line = "fc to stem: " + "; ".join(parts)
    if len(added) == 2:
        less = abs(added[True]) < abs(added[False])
        line += f": with shortcuts depth changes the gradient {'less' if less else 'no less'} than without"
    ratios = []
    for arch in dict.fromkeys(c.arch for c in curves):
        pair = {c.shortcuts: c for c in curves if c.arch == arch}
        stems = [pair[s].grad_norms[0] if s in pair else None for s in (False, True)]
        ratio = _trend(stems[1], stems[0])  # log10(plain stem / residual stem)
        if ratio is not None:
            ratios.append(f"{_power(ratio)} at {pair[False].depth} layers")
    if ratios:
        line += "; plain stem gradient / residual: " + ", ".join(ratios)
    return line


def run_depth_comparison(
    config: GradConfig,
    archs: tuple[str, ...] = DEFAULT_DEPTHS,
    device: str = "cpu",
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> DepthComparison:
    """Run ``config`` (its ``arch`` replaced by each of ``archs``, shallowest first) residual and
    plain; one curve per run, the verdict from their numbers. Named weights follow each member
    (ResNet-50's ``imagenet-v2`` runs ResNet-18 with ResNet-18's own checkpoint).

    Raises:
        ValueError: fewer than two members, an unknown one, or a config naming blocks (block names
            differ between depths: switch whole networks here); see also :func:`run_comparison`.
    """
    if len(archs) < 2:
        raise ValueError("a depth comparison needs at least two networks")
    unknown = [a for a in archs if a not in MEMBERS]
    if unknown:
        raise ValueError(f"unknown architecture(s) {', '.join(unknown)}; choose from {', '.join(MEMBERS)}")
    if config.plain_blocks is not None or config.lesion:
        raise ValueError("a depth comparison switches whole networks: no --blocks or --lesion (their names differ by depth)")
    ordered = tuple(sorted(archs, key=lambda a: MEMBERS[a].depth))
    curves, results = [], []
    for index, arch in enumerate(ordered):

        def scaled(text: str, fraction: float, index: int = index, arch: str = arch) -> None:
            if progress is not None:
                progress(f"{MEMBERS[arch].title}: {text}", (index + fraction) / len(ordered))

        weights = member_weights(config.weights, arch) if config.weights else config.weights
        for result in run_comparison(replace(config, arch=arch, weights=weights), "both", device, scaled, cancel):
            results.append(result)
            curves.append(_curve(arch, result))
    return DepthComparison(ordered, tuple(curves), tuple(results), depth_verdict(tuple(curves)))
