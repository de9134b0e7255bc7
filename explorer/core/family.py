"""The family at a glance: per member its block kind, blocks per stage, main-path depth,
parameters, mult-adds at an input size and torchvision's published top-1 of each checkpoint, from
the spec table, the layer table and the weights table (what ``summary --family`` prints and the
docs/model.md shows).

Core layer, pure Python; the counts are ``explorer.core.network.counts``', equal to torchinfo's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from explorer.core.loading.sources import NAMED_WEIGHTS, weights_for
from explorer.core.network.counts import mult_adds_total, parameter_total
from explorer.core.network.stages import RESNETS


@dataclass(frozen=True)
class FamilyRow:
    arch: str
    title: str
    kind: str  # the spec's kind_text, e.g. "basic blocks (two 3x3 convolutions)"
    layers: tuple[int, ...]
    depth: int
    params: int
    mult_adds: int
    top1: dict[str, float]  # weights name -> published ImageNet-1K top-1 (%)

    def to_dict(self) -> dict:
        return asdict(self)


def family_table(input_size: tuple[int, int] = (224, 224), num_classes: int = 1000) -> list[FamilyRow]:
    """One row per member, in the table's order (ResNet-18 ... Wide ResNet-101-2)."""
    h, w = input_size
    return [
        FamilyRow(
            spec.name, spec.title, spec.kind_text, spec.layers, spec.depth, parameter_total(spec, num_classes),
            mult_adds_total(spec, h, w, num_classes),
            {name: NAMED_WEIGHTS[name].top1 for name in weights_for(spec.name)},  # type: ignore[misc]
        )
        for spec in RESNETS.values()
    ]
