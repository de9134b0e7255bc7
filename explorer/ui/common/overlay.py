"""A metric per block to colour the diagram by (activation norm, gradient norm, Grad-CAM share): the
values, the colour bar's label and the scale. Produced by the Insight panel, shown by the diagram.

UI layer, pure Python (a frozen dataclass of plain values), so the two views share it without
importing each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class BlockOverlay:
    """``values`` by block name ("stem", "layer1.0", ..., "head"; blocks without a value keep their
    stage colour), the colour bar's ``label``, and whether the colours follow log10 of the values
    (for metrics spanning decades)."""

    values: dict[str, float]
    label: str
    log_scale: bool = False

    def fractions(self) -> dict[str, float]:
        """Each value's position on the colour scale, 0 (lowest) to 1 (highest); monotonic in the value.
        Non-positive values on a log scale have no position and are left out."""
        scaled = {
            name: (math.log10(v) if self.log_scale else v)
            for name, v in self.values.items()
            if math.isfinite(v) and (v > 0 or not self.log_scale)
        }
        if not scaled:
            return {}
        low, high = min(scaled.values()), max(scaled.values())
        span = high - low
        return {name: (v - low) / span if span > 0 else 0.5 for name, v in scaled.items()}

    def bounds(self) -> tuple[float, float]:
        """The lowest and highest value that has a colour."""
        shown = [self.values[name] for name in self.fractions()]
        return (min(shown), max(shown)) if shown else (0.0, 0.0)
