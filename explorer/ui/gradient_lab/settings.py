"""The gradient lab's settings as a small Qt-free model: every knob's value, the preset they match,
and the config of the next run (with the diagram's block switches). The form shows and edits it;
the panel runs what it says; persistence reads and writes its plain values.

UI layer, pure Python over explorer.core.gradients. ``changed`` is emitted with the names of the
fields that changed, so the form updates only those.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from explorer.core.devices import available_devices
from explorer.core.gradients import INITS, NORMS, PRESETS, SHORTCUT_CHOICES, TARGETS, GradConfig, validate_choice
from explorer.core.gradients.config import cifar_defaults
from explorer.core.loading.sources import RANDOM, default_weights, member_weights, source_arch
from explorer.core.network.blocks import residual_blocks, stages_of
from explorer.core.network.stages import DEFAULT_ARCH, MEMBERS, MIN_INPUT_SIZE
from explorer.ui.common.events import Event
from explorer.ui.common.setting_rules import check_setting

CUSTOM = "custom"
INPUTS = ("noise", "images")
QUANTITIES = ("grad_norm", "activation_std")
LIMITS = {"batch": (1, 256), "size": (MIN_INPUT_SIZE, 1024), "seed": (0, 2**31 - 1)}  # the form's spin boxes
# The depth comparisons offered (explorer.core.gradients.depth): "" runs the one network; He et al.
# 2015's Fig. 4 pair (plain and residual 18 against 34), the bottleneck members, and the CIFAR pair
# of their Fig. 6 and 7 (20 against 56 layers).
DEPTHS = ("", "resnet18,resnet34", "resnet50,resnet101,resnet152", "resnet20,resnet56")


@dataclass(frozen=True)
class LabValues:
    """Every knob of the lab as plain values (what is saved between sessions)."""

    shortcuts: str = "both"
    norm: str = "batch"
    init: str = "he"
    weights: str = "imagenet-v2"
    inputs: str = "noise"
    images: tuple[str, ...] = ()
    targets: str = "random"
    batch: int = 2
    size: int = 224
    seed: int = 0
    device: str = "cpu"
    quantity: str = "grad_norm"
    arch: str = DEFAULT_ARCH
    depths: str = ""  # one of DEPTHS: networks to compare instead of ``arch`` alone


LAB_SETTINGS = frozenset(f.name for f in fields(LabValues))
CHOICES: dict[str, tuple[str, ...]] = {
    "shortcuts": SHORTCUT_CHOICES,
    "norm": NORMS,
    "init": INITS,
    "inputs": INPUTS,
    "targets": TARGETS,
    "quantity": QUANTITIES,
    "arch": tuple(MEMBERS),
    "depths": DEPTHS,
}


class LabSettings:
    """The knobs; ``changed(names: set[str])`` after every effective change."""

    def __init__(self) -> None:
        self.values = LabValues(device=available_devices()[0])
        self.changed = Event()
        self.apply_preset(next(iter(PRESETS)))

    def set(self, **changes: Any) -> None:
        """Change knobs (unknown names, values outside the choices or limits: ValueError). Another
        network turns the old one's named weights into the new one's best."""
        for name, value in changes.items():
            _check(name, value)
        if "arch" in changes and "weights" not in changes:
            changes["weights"] = member_weights(self.values.weights, changes["arch"])
        if changes.get("depths") and "weights" not in changes and not named(self.values.weights):
            # A comparison runs each network with its own checkpoint: a file fits one network only.
            changes["weights"] = default_weights(self.values.arch)
        new = replace(self.values, **changes)
        changed = {f.name for f in fields(LabValues) if getattr(new, f.name) != getattr(self.values, f.name)}
        if changed:
            self.values = new
            self.changed.emit(changed)

    def apply_preset(self, name: str) -> None:
        """Set every knob a preset defines (batch, size, seed included)."""
        c = PRESETS[name].config
        changes: dict[str, Any] = {"norm": c.norm, "init": c.init, "targets": c.targets, "batch": c.batch, "size": c.size, "seed": c.seed}
        if c.weights:
            changes["weights"] = member_weights(c.weights, self.values.arch)
        # The "trained weights" preset is about real images; noise stays until the user picks some.
        changes["inputs"] = "images" if c.inputs else "noise"
        if c.inputs:
            changes["images"] = tuple(c.inputs)
        self.set(**changes)

    def preset(self) -> str:
        """The preset whose defining settings (normalisation, initialisation, weights, targets) the
        knobs show; batch, size and seed may differ, e.g. a faster 64 px run. Else ``custom``."""
        v = self.values
        for name, preset in PRESETS.items():
            c = preset.config
            weights = member_weights(c.weights, v.arch) if c.weights else c.weights
            if (c.norm, c.init, c.targets) == (v.norm, v.init, v.targets) and (c.init != "weights" or weights == v.weights):
                return name
        return CUSTOM

    def config(self, plain_blocks: tuple[str, ...] = (), residual_off: tuple[str, ...] = ()) -> GradConfig:
        """The next run's config: these knobs and the diagram's switches (blocks in network order)."""
        v = self.values
        order = {name: i for i, name in enumerate(residual_blocks(stages_of(v.arch)))}
        in_order = lambda blocks: tuple(sorted(blocks, key=lambda b: order.get(b, len(order))))  # noqa: E731
        cifar = cifar_defaults(self.depth_archs() or (v.arch,))
        return GradConfig(
            plain_blocks=in_order(plain_blocks) or None,
            lesion=in_order(residual_off),
            norm=v.norm,
            init=v.init,
            weights=(v.weights.strip() or None) if v.init == "weights" else None,
            inputs=v.images if v.inputs == "images" else (),
            targets=v.targets,
            batch=v.batch,
            size=v.size,
            seed=v.seed,
            num_classes=cifar[1] if cifar else GradConfig.num_classes,  # CIFAR networks: 10 classes
            arch=v.arch,
        )

    def depth_archs(self) -> tuple[str, ...]:
        """The networks of the depth comparison, or () for a run of the one network."""
        return tuple(self.values.depths.split(",")) if self.values.depths else ()

    def problem(self, config: GradConfig) -> str | None:
        """Why ``config`` cannot run with these knobs (one line), or None."""
        if self.values.inputs == "images" and not self.values.images:
            return "choose at least one image, or use seeded noise"
        if self.depth_archs() and (config.plain_blocks or config.lesion):
            return "a depth comparison switches whole networks: turn the diagram's switches back on"
        if self.depth_archs() and config.init == "weights" and not named(self.values.weights):
            return "a depth comparison runs each network with its own ImageNet weights: choose named weights, not a file"
        try:
            validate_choice(config, self.values.shortcuts)
        except ValueError as exc:
            return str(exc)
        return None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self.values, f.name) for f in fields(LabValues)}

    def load(self, saved: dict[str, Any]) -> None:
        """Restore saved values; anything unknown, malformed or out of range is ignored."""
        changes: dict[str, Any] = {}
        for f in fields(LabValues):
            if f.name not in saved:
                continue
            value = saved[f.name]
            try:
                value = tuple(str(v) for v in value) if f.name == "images" else type(getattr(self.values, f.name))(value)
                _check(f.name, value)
            except (TypeError, ValueError):
                continue
            changes[f.name] = value
        if changes:
            self.set(**changes)


def _check(name: str, value: Any) -> None:
    check_setting("gradient lab", LAB_SETTINGS, CHOICES, LIMITS, available_devices, name, value)


def named(source: str) -> bool:
    """True for weights every member has its own of (a named checkpoint, or random)."""
    return source.strip() == RANDOM or source_arch(source.strip()) is not None
