"""The theory lab's knobs as a small Qt-free model: the network, its weights or initialisation, the
normalisation, the inputs, batch, size, seed and device that all three views share (the gradient lab's
knobs), and each view's own (what the signal view compares, the paths view's samples), with the
configs of the next runs.

UI layer, pure Python over explorer.core.theory.config (torch-free). ``changed`` is emitted with the
names of the fields that changed, so the form updates only those.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from explorer.core.loading.sources import default_weights, source_arch, weight_source
from explorer.core.network.stages import DEFAULT_ARCH, MIN_INPUT_SIZE, MEMBERS
from explorer.core.theory.config import DEFAULT_SAMPLES, FIXUP_NORM, INITS, NORMS, TheoryConfig, validate
from explorer.ui.common.events import Event
from explorer.ui.common.setting_rules import check_setting

INPUTS = ("noise", "images")
# What the signal view sets side by side: the network with and without shortcuts, or two initialisations.
COMPARISONS = ("plain", "init")
RANDOM_INITS = tuple(i for i in INITS if i != "weights")
LIMITS = {"batch": (1, 256), "size": (MIN_INPUT_SIZE, 1024), "seed": (0, 2**31 - 1), "samples": (1, 256)}
# The ERF view's second row: the same network freshly initialised, the random weights against trained ones.
RANDOM_BASELINE = "he"


@dataclass(frozen=True)
class TheoryValues:
    """Every knob as plain values."""

    arch: str = DEFAULT_ARCH
    init: str = "he"
    weights: str = "imagenet-v2"
    norm: str = "batch"
    inputs: str = "noise"
    images: tuple[str, ...] = ()
    batch: int = 2
    size: int = 224
    seed: int = 0
    device: str = "cpu"
    compare: str = "plain"
    second_init: str = "zero-residual"
    samples: int = DEFAULT_SAMPLES


THEORY_SETTINGS = frozenset(f.name for f in fields(TheoryValues))
CHOICES: dict[str, tuple[str, ...]] = {
    "arch": tuple(MEMBERS), "init": INITS, "norm": NORMS, "inputs": INPUTS, "compare": COMPARISONS, "second_init": RANDOM_INITS,
}


class TheorySettings:
    """The knobs; ``changed(names: set[str])`` after every effective change."""

    def __init__(self, devices: list[str]) -> None:
        self.devices = devices
        self.values = TheoryValues(device=devices[0])
        self.changed = Event()

    def set(self, **changes: Any) -> None:
        """Change knobs (unknown names, values outside the choices or limits: ValueError). Another
        network turns the old one's named weights into the new one's best; fixup brings no normalisation."""
        for name, value in changes.items():
            self._check(name, value)
        if "arch" in changes and "weights" not in changes and source_arch(self.values.weights) not in (None, changes["arch"]):
            changes["weights"] = default_weights(changes["arch"])
        if changes.get("init") == "fixup" and "norm" not in changes:
            changes["norm"] = FIXUP_NORM
        new = replace(self.values, **changes)
        changed = {f.name for f in fields(TheoryValues) if getattr(new, f.name) != getattr(self.values, f.name)}
        if changed:
            self.values = new
            self.changed.emit(changed)

    def config(self, **view: Any) -> TheoryConfig:
        """The shared knobs as a config, with a view's own fields. A file or URL of weights decides its
        own network (the window's may be another)."""
        v = self.values
        weights = v.weights.strip() if v.init == "weights" else None
        own_network = weights is not None and weight_source(weights) is None
        return TheoryConfig(
            arch=None if own_network else v.arch, init=v.init, weights=weights, norm=v.norm,
            inputs=v.images if v.inputs == "images" else (), batch=v.batch, size=v.size, seed=v.seed, **view,
        )

    def signal_configs(self) -> list[TheoryConfig]:
        """Residual then plain, or the chosen initialisation then the second one."""
        first = self.config()
        if self.values.compare == "plain":
            return [first, replace(first, shortcuts=False)]
        second = replace(first, init=self.values.second_init, weights=None, arch=first.arch or self.values.arch)
        return [first, replace(second, norm=FIXUP_NORM) if second.init == "fixup" else second]

    def paths_config(self) -> TheoryConfig:
        return self.config(samples=self.values.samples)

    def erf_configs(self) -> list[TheoryConfig]:
        """The chosen network, and beside it the same one with random weights (He), unless it is that."""
        first = self.config()
        random = replace(first, init=RANDOM_BASELINE, weights=None, arch=first.arch or self.values.arch)
        return [first] if random == first else [first, random]

    def problem(self, configs: list[TheoryConfig]) -> str | None:
        """Why the next run cannot start (one line), or None."""
        if self.values.inputs == "images" and not self.values.images:
            return "choose at least one image, or use seeded noise"
        if self.values.init == "weights" and not self.values.weights.strip():
            return "give weights: a named source, random, a file or a URL"
        try:
            for config in configs:
                validate(config)
        except ValueError as exc:
            return str(exc)
        return None

    def _check(self, name: str, value: Any) -> None:
        check_setting("theory lab", THEORY_SETTINGS, CHOICES, LIMITS, lambda: self.devices, name, value)
