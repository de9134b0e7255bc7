"""What a theory-lab run varies, shared by its three views (signal propagation, paths, effective
receptive field): the network, its weights or initialisation, the normalisation, the inputs, and the
views' own knobs, as one frozen, validated value. Pure Python (no torch: a command's parser and the
window's knobs read it cheaply); part of explorer.core.theory.

The common knobs are the gradient lab's (explorer.core.gradients.config), with the initialisations
that start each residual branch at zero added: ``zero-residual`` (Goyal et al. 2017), ``skipinit``
(De & Smith 2020) and ``fixup`` (Zhang et al. 2019, no normalisation). They are implemented by
``explorer.core.network.model.ResNet.initialize``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from explorer.core.loading.sources import weights_problem
from explorer.core.network.blocks import STEM
from explorer.core.network.stages import DEFAULT_ARCH, MEMBERS, ResNetSpec, input_size_problem, resnet_spec

# The model's initialisations (network.model.INITIALIZATIONS, which a test keeps equal) and loaded weights.
INITS: tuple[str, ...] = ("he", "pytorch", "zero-residual", "skipinit", "fixup", "weights")
NORMS: tuple[str, ...] = ("batch", "frozen", "none")  # ResNet.set_normalization's modes offered here
# Fixup replaces normalisation; every other initialisation runs under any of NORMS.
FIXUP_NORM = "none"
VIEWS: tuple[str, ...] = ("signal", "paths", "erf")
# The stages whose output the ERF view reads, by module name: the stem (its last module's output) and
# layer1..4 (an ImageNet member; the CIFAR networks have layer1..3, see erf_stages).
ERF_STAGES: tuple[str, ...] = (STEM, "layer1", "layer2", "layer3", "layer4")
# Up to this many residual blocks the paths view enumerates every subset (2^12 = 4096); beyond it samples.
EXACT_BLOCKS = 12
DEFAULT_SAMPLES = 8


def erf_stages(arch: str | ResNetSpec) -> tuple[str, ...]:
    """The stages of ``arch`` whose output the ERF view reads: the stem and each stage's module."""
    return (STEM, *(stage.module for stage in resnet_spec(arch).stages))


@dataclass(frozen=True)
class TheoryConfig:
    """One run's settings; the same config gives the same numbers on the same device.

    ``arch`` None lets the weights decide (a checkpoint file's or URL's own member; only with
    ``init="weights"``); a result's config names the member that ran. ``inputs`` are image paths (the batch is then the images, ``batch`` is ignored); empty means
    seeded Gaussian noise. ``shortcuts`` False switches every block's shortcut off (the plain network
    of the signal view). ``samples``: random subsets per path length when the paths view cannot
    enumerate them all.
    """

    arch: str | None = DEFAULT_ARCH
    init: str = "he"
    weights: str | None = None  # source for init="weights": a named source of ``arch``, "random", a file, a URL
    norm: str = "batch"
    inputs: tuple[str, ...] = ()
    batch: int = 2
    size: int = 224
    seed: int = 0
    shortcuts: bool = True
    samples: int = DEFAULT_SAMPLES

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @property
    def label(self) -> str:
        """How a plot's legend names the run: the initialisation (or weights), and "plain" without shortcuts."""
        what = Path(self.weights).name if self.init == "weights" and self.weights else self.init
        return f"{what}{'' if self.shortcuts else ', plain'}"


def validate(config: TheoryConfig) -> None:
    """Raise ValueError with a readable one-line message if ``config`` cannot be run."""
    for field, value, allowed in (("init", config.init, INITS), ("norm", config.norm, NORMS)):
        if value not in allowed:
            raise ValueError(f"{field} must be one of {', '.join(allowed)}, got {value!r}")
    if config.arch not in MEMBERS and not (config.arch is None and config.init == "weights"):
        raise ValueError(f"arch must be one of {', '.join(MEMBERS)}, got {config.arch!r}")
    if config.init == "fixup" and config.norm != FIXUP_NORM:
        raise ValueError(f"init fixup replaces normalisation: use norm {FIXUP_NORM}, not {config.norm}")
    problem = weights_problem(config.arch, config.init, config.weights)
    if problem:
        raise ValueError(problem)
    for field in ("batch", "size", "samples"):
        if getattr(config, field) < 1:
            raise ValueError(f"{field} must be at least 1, got {getattr(config, field)}")
    problem = input_size_problem(config.size, config.size)
    if problem:
        raise ValueError(problem)
