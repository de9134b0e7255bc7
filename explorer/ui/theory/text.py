"""The theory lab's words: how a run is named in a legend, the conditions under each view, and what a
view could not draw, each from the results' own plain values. UI layer, pure Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from explorer.core.network.stages import arch_title
from explorer.core.theory.config import EXACT_BLOCKS, TheoryConfig
from explorer.core.theory.erf import ErfResult
from explorer.core.theory.paths import PathsResult, effective_lengths

NORM_TEXT = {"batch": "batch statistics", "frozen": "frozen running statistics", "none": "no normalisation"}
SERIES_TEXT = {"mean_sq": "squared mean", "variance": "variance", "residual_variance": "residual branch variance"}


def run_name(config: TheoryConfig, compare: str = "") -> str:
    """A legend entry: with or without shortcuts when the comparison is residual against plain,
    else the initialisation or the weights' name (the network is in the conditions)."""
    if compare == "plain":
        return "with shortcuts (residual)" if config.shortcuts else "without shortcuts (plain)"
    return f"weights {Path(config.weights).name}" if config.init == "weights" and config.weights else f"{config.init} init"


def conditions(config: TheoryConfig, device: str) -> str:
    """One line: the network, normalisation, inputs, size, seed and device a run had."""
    inputs = f"{len(config.inputs)} image(s)" if config.inputs else f"seeded noise, batch {config.batch}"
    return f"Conditions: {arch_title(config.arch or '')}, {NORM_TEXT[config.norm]}, {inputs}, {config.size}x{config.size} px, seed {config.seed}, {device}."


def signal_notes(skipped: dict[str, int]) -> str:
    """How to read the plots, and what the log axes left out."""
    how = ("Per block (x: the stem, then the blocks of stages 1-4), on log axes: the output's average channel squared "
           "mean and variance, and the residual branch's variance before the addition (Brock et al. 2021).")
    parts = [f"{count} {SERIES_TEXT[series]} point(s) are 0" for series, count in skipped.items() if count]
    if not parts:
        return how
    return how + " Not drawn: " + ", ".join(parts) + " (a branch that starts at zero adds nothing at first)."


def paths_notes(result: PathsResult, skipped: int) -> str:
    """How the paths were counted, the identity's check, and where the effective paths lie."""
    n = result.blocks
    if result.exact:
        how = f"All {2**n} paths of the {n} blocks; their gradients add up to the input gradient within {result.identity_error:.1e} (relative L2)."
    else:
        how = (f"{n} blocks, {2**n:,} paths: {result.config.samples} random subsets per length "
               f"({result.subsets} paths): beyond {EXACT_BLOCKS} blocks every subset would take too long.")
    first, last = effective_lengths(result.total_by_length)
    where = f" Paths of length {first} to {last} carry 90% of the total gradient; the paths average length {n / 2:g}."
    missing = f" {skipped} length(s) carry no gradient and are not drawn on the log axis." if skipped else ""
    axis = " x: path length k, the residual branches a path passes (Veit et al. 2016, Fig. 6)."
    return how + where + missing + axis


def erf_notes(rows: Sequence[tuple[str, Sequence[ErfResult]]]) -> str:
    """Per run, how far 95% of each stage's map reaches against its theoretical field, and a
    warning when batch statistics spread the maps past the square."""
    lines = []
    for name, results in rows:
        radii = ", ".join(f"{r.radius_95:.0f}" for r in results)
        fields = ", ".join(str(r.receptive_field) for r in results)
        lines.append(f"{name}: 95% of the map within {radii} px of its centroid; theoretical fields {fields} px "
                     f"({', '.join(r.stage for r in results)}).")
    if any(results[0].config.norm == "batch" for _, results in rows):
        lines.append("Batch statistics let every pixel move every unit through the batch's mean and variance, so the map "
                     "reaches past the square; frozen statistics show the receptive field alone.")
    lines.append("Cyan: the theoretical receptive field (dashed, and cut at the edge, where it reaches past the picture); dotted: the 95% disc.")
    return " ".join(lines)
