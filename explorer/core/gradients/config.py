"""What a gradient-lab run varies (shortcuts, lesions, normalisation, initialisation, inputs, targets)
and the network (any member of the family, default ResNet-50) as one frozen, validated value, and
which runs a ``shortcuts`` choice means. Pure Python over explorer.core.network.blocks; part of
explorer.core.gradients.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from explorer.core.loading.sources import weights_problem
from explorer.core.network.blocks import residual_blocks, stages_of
from explorer.core.network.stages import DEFAULT_ARCH, MEMBERS

NORMS: tuple[str, ...] = ("batch", "frozen", "none")  # ResNet50.set_normalization modes offered here
INITS: tuple[str, ...] = ("he", "pytorch", "weights")
TARGETS: tuple[str, ...] = ("random", "top1")
SHORTCUT_CHOICES: tuple[str, ...] = ("on", "off", "both")


@dataclass(frozen=True)
class GradConfig:
    """One run's settings. The same config gives the same numbers on the same device.

    ``arch`` is the member (``explorer.core.network.stages.MEMBERS``); ``plain_blocks`` names the blocks
    whose shortcut is off when ``shortcuts`` is False (None: all of them). ``lesion`` removes the
    residual branch of the named blocks (Veit et al. 2016). ``inputs``
    are image paths (the batch is then the images, ``batch`` is ignored); empty means seeded
    Gaussian noise. ``targets``: ``random`` seeded labels, or ``top1`` the model's own prediction
    (each run's own: the plain run of a pair is scored against what the plain network predicts).
    """

    shortcuts: bool = True
    plain_blocks: tuple[str, ...] | None = None
    lesion: tuple[str, ...] = ()
    norm: str = "batch"
    init: str = "he"
    weights: str | None = None  # source for init="weights": a named source of ``arch``, "random", a file
    inputs: tuple[str, ...] = ()
    targets: str = "random"
    batch: int = 2
    size: int = 224
    seed: int = 0
    num_classes: int = 1000
    arch: str = DEFAULT_ARCH


def cifar_defaults(archs: tuple[str, ...]) -> tuple[int, int] | None:
    """(image side, classes) for a run of He et al.'s CIFAR networks alone (32 px, 10 classes), where
    GradConfig's ImageNet defaults (224 px, 1000 classes) do not fit; None when any is an ImageNet member."""
    specs = [MEMBERS[a] for a in archs if a in MEMBERS]
    if specs and len(specs) == len(archs) and all(spec.stem == "cifar" for spec in specs):
        return specs[0].image_size, specs[0].default_classes
    return None


def shortcut_variants(choice: str) -> list[bool]:
    """The runs a ``shortcuts`` choice stands for: ``on`` [True], ``off`` [False], ``both`` the
    residual run then the plain one."""
    if choice not in SHORTCUT_CHOICES:
        raise ValueError(f"shortcuts must be one of {', '.join(SHORTCUT_CHOICES)}, got {choice!r}")
    return {"on": [True], "off": [False], "both": [True, False]}[choice]


def _check_blocks(what: str, blocks: tuple[str, ...], arch: str) -> None:
    valid = residual_blocks(stages_of(arch))
    unknown = [b for b in blocks if b not in valid]
    if unknown:
        raise ValueError(f"unknown block(s) in {what}: {', '.join(unknown)}; valid names are {', '.join(valid)}")


def validate_choice(config: GradConfig, shortcuts: str) -> None:
    """Validate ``config`` for every run of the ``shortcuts`` choice (ValueError, one line)."""
    for on in shortcut_variants(shortcuts):
        validate(replace(config, shortcuts=on))


def validate(config: GradConfig) -> None:
    """Raise ValueError with a readable message if ``config`` cannot be run."""
    for field, value, allowed in (("norm", config.norm, NORMS), ("init", config.init, INITS), ("targets", config.targets, TARGETS)):
        if value not in allowed:
            raise ValueError(f"{field} must be one of {', '.join(allowed)}, got {value!r}")
    if config.arch not in MEMBERS:
        raise ValueError(f"arch must be one of {', '.join(MEMBERS)}, got {config.arch!r}")
    problem = weights_problem(config.arch, config.init, config.weights)
    if problem:
        raise ValueError(problem)
    for field in ("batch", "size", "num_classes"):
        if getattr(config, field) < 1:
            raise ValueError(f"{field} must be at least 1, got {getattr(config, field)}")

    _check_blocks("lesion", config.lesion, config.arch)
    if config.plain_blocks is not None:
        _check_blocks("plain blocks", config.plain_blocks, config.arch)
    if not config.shortcuts:
        # A block with neither shortcut nor residual branch would pass nothing at all.
        plain = set(residual_blocks(stages_of(config.arch)) if config.plain_blocks is None else config.plain_blocks)
        both = [b for b in config.lesion if b in plain]
        if both:
            raise ValueError(f"block(s) {', '.join(both)} would lose both shortcut and residual branch")
