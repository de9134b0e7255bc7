"""The effective receptive field (Luo, Li, Urtasun & Zemel 2016, "Understanding the effective receptive
field in deep convolutional neural networks", Sec. 2 and Fig. 1-3): how strongly each input pixel moves
the centre unit of a stage's output, against the theoretical receptive field that bounds it. Pure
PyTorch; part of explorer.core.theory.

For a stage output (N, C, h, w) the unit is (h // 2, w // 2); the objective is the sum over the batch
and the channels of the output there; the map is |d objective / d input| summed over the input's
channels and the batch, divided by its maximum. ``radius_95`` is the radius of the disc around the
map's centroid that holds 95% of its mass. The theoretical field is the architecture summary's (a
square of ``receptive_field`` pixels centred on input pixel ``unit * stride``: every layer pads by
half its kernel, so a unit's field is centred on it). Under batch statistics every input pixel also
moves the unit through the batch mean and variance, so the map is nonzero everywhere; with frozen
statistics or none it is zero outside the theoretical field.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from explorer.core.network.blocks import STEM
from explorer.core.network.stages import ResNetSpec
from explorer.core.network.summary import summarize
from explorer.core.progress import Cancel, Progress, Steps
from explorer.core.theory.config import ERF_STAGES, TheoryConfig, erf_stages
from explorer.core.theory.prepare import picture, prepare

MASS = 0.95


@dataclass(frozen=True)
class ErfResult:
    """One stage's map, as plain values (the map and picture as numpy arrays)."""

    config: TheoryConfig
    device: str
    stage: str  # "stem", "layer1" .. "layer4"
    size: tuple[int, int]  # (H, W) of the input
    unit: tuple[int, int]  # (h // 2, w // 2) in the stage's output
    receptive_field: int  # side of the theoretical field, in input pixels
    stride: int  # the stage's cumulative stride: the unit sits on input pixel unit * stride
    map: np.ndarray  # (H, W) float64, maximum 1 (all zeros if the gradient is zero)
    radius_95: float
    centroid: tuple[float, float]  # (row, column) of the map's mass
    picture: np.ndarray  # (H, W, 3) uint8: the first input, as a person sees it

    def box(self) -> tuple[float, float, float, float]:
        """The theoretical field as (top, left, bottom, right) input pixel coordinates, inclusive;
        it may reach past the image."""
        half = (self.receptive_field - 1) / 2
        row, col = (u * self.stride for u in self.unit)
        return row - half, col - half, row + half, col + half

    def to_dict(self) -> dict:
        return {
            "config": {**self.config.to_dict(), "device": self.device},
            "stage": self.stage,
            "size": list(self.size),
            "unit": list(self.unit),
            "receptive_field": self.receptive_field,
            "map": self.map.tolist(),
            "radius_95": self.radius_95,
        }


def radius_holding(weights: np.ndarray, mass: float = MASS) -> tuple[float, tuple[float, float]]:
    """(radius, centroid): the smallest distance from the centroid of ``weights`` (H, W, non-negative)
    within which pixels hold ``mass`` of the total; (0, image centre) for an all-zero map."""
    total = weights.sum()
    rows, cols = np.indices(weights.shape, dtype=np.float64)
    if total <= 0:
        return 0.0, ((weights.shape[0] - 1) / 2, (weights.shape[1] - 1) / 2)
    centroid = (float((rows * weights).sum() / total), float((cols * weights).sum() / total))
    distance = np.hypot(rows - centroid[0], cols - centroid[1]).ravel()
    order = np.argsort(distance, kind="stable")
    held = np.cumsum(weights.ravel()[order])
    return float(distance[order][np.searchsorted(held, mass * total)]), centroid


def run_erf(
    config: TheoryConfig,
    stages: tuple[str, ...] | None = None,
    device: str = "cpu",
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> list[ErfResult]:
    """One forward pass of ``config``'s network, then one gradient per stage in ``stages`` (names of
    :func:`~explorer.core.theory.config.erf_stages`; default all of the network's); see the module
    docstring. Progress after building, after the forward pass and after every stage's gradient."""
    if stages is not None:
        _check_stages(stages, config.arch)
    prepared = prepare(config, device, progress, cancel)
    model = prepared.model
    stages = stages if stages is not None else erf_stages(model.spec)
    _check_stages(stages, model.spec)  # a file decided the network: its stages
    step = Steps(2 + len(stages), progress, cancel)
    step("network built")
    modules = {STEM: model.stem_output, **{s.module: getattr(model, s.module) for s in model.stages}}
    outputs: dict[str, torch.Tensor] = {}
    handles = [modules[s].register_forward_hook(lambda m, i, out, s=s: outputs.__setitem__(s, out)) for s in stages]
    x = prepared.x.detach().requires_grad_(True)
    try:
        with torch.enable_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    step("forward pass")
    summary = summarize((config.size, config.size), model.num_classes, model.spec)
    fields = {b.name if b.name == STEM else b.name.split(".")[0]: b for b in summary.blocks().values()}  # each stage's last block
    shown = picture(prepared.x)
    results = []
    for stage in stages:
        out = outputs[stage]  # (N, C, h, w)
        unit = (out.shape[2] // 2, out.shape[3] // 2)
        (grad,) = torch.autograd.grad(out[:, :, unit[0], unit[1]].sum(), x, retain_graph=stage != stages[-1])
        weights = grad.detach().abs().sum(dim=(0, 1)).double().cpu().numpy()  # (H, W)
        peak = weights.max()
        erf_map = weights / peak if peak > 0 else weights
        radius, centroid = radius_holding(erf_map)
        block = fields[stage]
        results.append(ErfResult(
            prepared.config, str(prepared.device), stage, (config.size, config.size), unit, block.receptive_field,
            block.stride, erf_map, radius, centroid, shown,
        ))
        step(f"gradient of {stage}'s centre unit")
    return results


def _check_stages(stages: tuple[str, ...], arch: str | ResNetSpec | None) -> None:
    """ValueError unless ``stages`` are some of ``arch``'s (an ImageNet member's when it is not known yet)."""
    known = erf_stages(arch) if arch is not None else ERF_STAGES
    unknown = [s for s in stages if s not in known]
    if unknown or not stages:
        raise ValueError(f"unknown stage(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(known)}")
