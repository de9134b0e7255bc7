"""What the gradient lab says in words about a shown run: its exact conditions, taken from the
results themselves (not from the knobs, which may have changed since), and the points a log axis
could not draw. UI layer, pure Python."""

from __future__ import annotations

from collections.abc import Sequence
import re
from pathlib import Path

from explorer.core.gradients import GradResult
from explorer.core.network.blocks import residual_blocks, stages_of
from explorer.core.network.stages import DEFAULT_ARCH, arch_title
from explorer.ui.gradient_lab.plot import Skipped, curve_name

QUANTITY_WORDS = {"grad_norm": "gradient norm", "activation_std": "activation std"}
# The core's messages name the command's flags; the window names its own controls instead.
CONTROL_WORDS = {
    "arch": "Network", "weights": "Weights", "init": "Initialisation", "norm": "Normalisation",
    "targets": "Targets", "batch": "Batch", "size": "Size", "seed": "Seed", "device": "Device",
    "blocks": "the diagram's shortcut switches", "lesion": "the diagram's residual switches",
}


def in_window_terms(message: str) -> str:
    """A core message with each ``--flag`` replaced by the lab's control for it."""
    return re.sub(r"--([a-z][a-z-]*)", lambda m: CONTROL_WORDS.get(m.group(1), m.group(1)), message)


def describe_conditions(results: Sequence[GradResult]) -> str:
    """The exact settings of a shown run (or depth comparison), from the results themselves."""
    c = results[0].config
    archs = list(dict.fromkeys(r.config.get("arch", DEFAULT_ARCH) for r in results))
    several = len(archs) > 1
    inputs = f"{len(c['inputs'])} image(s): " + ", ".join(Path(p).name for p in c["inputs"]) if c["inputs"] else "seeded noise"
    init = f"weights {c['weights']}" if c["init"] == "weights" else c["init"]
    every = "every block of each network" if several else f"all {len(residual_blocks(stages_of(archs[0])))} blocks"
    plain = every if c["plain_blocks"] is None else ", ".join(c["plain_blocks"])
    lesion = ", ".join(c["lesion"]) or "none"
    network = lambda r: f"{arch_title(r.config.get('arch', DEFAULT_ARCH))} " if several else ""  # noqa: E731
    losses = ", ".join(f"{network(r)}{r.label} {r.loss:.4g}" for r in results)
    return (
        f"Conditions: {' vs '.join(arch_title(a) for a in archs)}, normalisation {c['norm']}, init {init}, inputs {inputs}, targets {c['targets']}, "
        f"batch {c['batch']}, size {c['size']}x{c['size']}, seed {c['seed']}, {c['num_classes']} classes, "
        f"device {results[0].device}.\nShortcuts off in: {plain} (run without shortcuts); residual branch off in: "
        f"{lesion}. Loss: {losses}."
    )


def lab_title(results: Sequence[GradResult]) -> str:
    """The title of an exported plot: the networks the shown run measured."""
    archs = dict.fromkeys(r.config.get("arch", DEFAULT_ARCH) for r in results)
    return " vs ".join(arch_title(a) for a in archs) + " gradient lab"


def describe_skipped(skipped: Sequence[Skipped], quantity: str, names: dict[bool, str]) -> str:
    """Say which points a log axis could not show (zero, missing or non-finite), per curve; ``names``
    gives each curve's legend text by its ``shortcuts`` flag."""
    if not skipped:
        return ""
    parts = []
    for shortcuts in (True, False):
        mine = [s for s in skipped if s.shortcuts == shortcuts]
        if mine:
            kinds = sorted({"missing (layer not used)" if s.value is None else f"{s.value:g}" for s in mine})
            shown = ", ".join(s.layer for s in mine[:6]) + (f" and {len(mine) - 6} more" if len(mine) > 6 else "")
            parts.append(f"{names.get(shortcuts, curve_name('residual' if shortcuts else 'plain'))}: {shown} ({'; '.join(kinds)})")
    what = QUANTITY_WORDS.get(quantity, quantity)
    return f"Not drawn ({len(skipped)} point(s) whose {what} a log axis cannot show): " + ". ".join(parts) + "."
