"""What a training race varies (network, data, steps, batch, optimiser, image size, seed, device,
normalisation) as one frozen, validated value, and the factory that turns a network name into a
model. Core layer, pure Python (explorer.core.model, hence torch, is imported only to build one).

The optimiser follows He et al. 2015 (Sec. 3.4 and 4.2): SGD with momentum 0.9 and weight decay
1e-4. Their CIFAR ResNet-110 started at a learning rate of 0.01 until training error fell below 80%
because 0.1 was "slightly too large to start converging"; the race does the same job with a short
linear warm-up, so both networks start gently and the comparison is about depth, not a lucky first step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

DIGITS = "digits"  # the bundled data set; any other ``data`` value is a folder in ImageFolder layout
# "batch": BatchNorm with batch statistics while training, running statistics for validation (PyTorch's
# standard train/eval behaviour, as He et al. train). "none": no normalisation and PyTorch's default
# initialisation, the gradient lab's no-norm preset, where the plain network's gradient vanishes.
NORMS: tuple[str, ...] = ("batch", "none")


@dataclass(frozen=True)
class Network:
    """One raceable architecture: its display name and a builder ``(num_classes, init, seed) -> model``.
    The model must have torchvision's key names (a stem ``conv1``) and ``set_shortcuts``/``set_normalization``."""

    title: str
    build: Callable[[int, str, int], Any]


def _resnet50(num_classes: int, init: str, seed: int) -> Any:
    # Imported here, not at the top: the CLI reads this module for its --help, which must not load torch.
    from explorer.core.model import ResNet50

    return ResNet50(num_classes=num_classes, init=init, seed=seed)


# The ResNet family (18/34/101/152) joins here when the model module has it; nothing else changes.
NETWORKS: dict[str, Network] = {"resnet50": Network("ResNet-50", _resnet50)}


@dataclass(frozen=True)
class RaceConfig:
    """One race's settings. The same config gives the same numbers on the same device.

    ``steps`` SGD steps of ``batch`` images each, the learning rate rising linearly over the first
    ``warmup`` steps to ``lr`` and then constant. ``size``: images are square, ``size`` pixels a side.
    ``device``: "auto" (cuda > mps > cpu, as classification), "cpu", "cuda", "cuda:1", ...
    ``data``: ``"digits"`` (bundled) or a folder with one subfolder of images per class.
    """

    network: str = "resnet50"
    steps: int = 40
    batch: int = 32
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup: int = 5
    size: int = 32
    seed: int = 0
    device: str = "auto"
    data: str = DIGITS
    norm: str = "batch"

    @property
    def init(self) -> str:
        """The initialisation that goes with ``norm``: He (Kaiming normal) with BN, PyTorch's
        default without, as the gradient lab's presets pair them."""
        return "he" if self.norm == "batch" else "pytorch"


# Below 32 px the last stage of ResNet-50 sees 1x1 maps and BN over a 1x1 map of a tiny batch is
# degenerate; the stem and four stride-2 stages divide the side by 32.
MIN_SIZE = 32


def validate(config: RaceConfig) -> None:
    """Raise ValueError with a readable one-line message if a value of ``config`` is out of range.
    The data (:func:`check_data`, then its contents) and the device are checked by
    :func:`explorer.core.race.train.run_race` before it builds a model."""
    if config.network not in NETWORKS:
        raise ValueError(f"unknown network {config.network!r}; choose from {', '.join(NETWORKS)}")
    if config.norm not in NORMS:
        raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {config.norm!r}")
    for field, low in (("steps", 1), ("batch", 2), ("size", MIN_SIZE), ("warmup", 0), ("seed", 0)):
        value = getattr(config, field)
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            # batch >= 2: BN with batch statistics needs more than one value per channel.
            raise ValueError(f"{field} must be a whole number of at least {low}, got {value!r}")
    for field, low, high in (("lr", 0.0, 10.0), ("momentum", 0.0, 0.999), ("weight_decay", 0.0, 1.0)):
        value = getattr(config, field)
        if not (isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high):
            raise ValueError(f"{field} must be a number from {low} to {high}, got {value!r}")
    if config.lr == 0:
        raise ValueError("lr must be above 0: with no learning rate nothing would train")


def check_data(config: RaceConfig) -> None:
    """Raise ValueError naming ``config.data`` unless it is the bundled set or an existing folder."""
    if config.data != DIGITS and not Path(config.data).is_dir():
        raise ValueError(f"{config.data}: no such folder (the data is 'digits' or a folder with one subfolder per class)")


def build_network(name: str, num_classes: int, init: str, seed: int) -> Any:
    """A fresh network (an ``nn.Module``) by name, see :data:`NETWORKS`, initialised from ``seed`` on the CPU."""
    if name not in NETWORKS:
        raise ValueError(f"unknown network {name!r}; choose from {', '.join(NETWORKS)}")
    return NETWORKS[name].build(num_classes, init, seed)
