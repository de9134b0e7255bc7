"""One-line verdicts for gradient-lab results, computed from the measured norms only: how the weight
gradient changes from the fc (output end) to the stem conv (input end), as a power of ten. Says
"grows" or "shrinks" as measured: with batch statistics a plain deep net's gradients grow toward the
input (Yang et al. 2019), without normalisation they vanish. Pure Python; part of explorer.core.gradients.
"""

from __future__ import annotations

import math


def _power(ratio: float) -> str:
    return f"10^{abs(math.log10(ratio)):.1f}"


def trend_verdict(label: str, fc: float | None, stem: float | None) -> str:
    """E.g. ``"plain: gradient grows 10^3.8 from fc to stem (fc 15, stem 9.63e+04)"``."""
    if fc is None or stem is None:
        return f"{label}: no gradient at the {'fc' if fc is None else 'stem'}"
    if not (math.isfinite(fc) and math.isfinite(stem)):
        return f"{label}: gradient is not finite (fc {fc:.3g}, stem {stem:.3g})"
    if fc == 0.0 or stem == 0.0:
        return f"{label}: gradient is exactly zero at the {'stem' if stem == 0.0 else 'fc'}"
    direction = "grows" if stem >= fc else "shrinks"
    return f"{label}: gradient {direction} {_power(stem / fc)} from fc to stem (fc {fc:.3g}, stem {stem:.3g})"


def versus_clause(plain_stem: float | None, residual_stem: float | None) -> str:
    """E.g. ``"; stem gradient 10^18.1 smaller than the residual network's"``; empty when either
    number is missing, zero or not finite (the trend verdicts already say so)."""
    a, b = plain_stem, residual_stem
    if not (a and b and math.isfinite(a) and math.isfinite(b)):
        return ""
    relation = "larger" if a >= b else "smaller"
    return f"; stem gradient {_power(a / b)} {relation} than the residual network's"
