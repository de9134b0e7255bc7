"""What a training race varies (network, data, steps, batch, optimiser, image size, seed, device,
normalisation) as one frozen, validated value. Core layer, pure Python with no torch, so parsers and
the window's knobs read it cheaply (the networks are built by explorer.core.race.train).

The optimiser follows He et al. 2015 (Sec. 3.4 and 4.2): SGD with momentum 0.9 and weight decay
1e-4. Their CIFAR ResNet-110 started at a learning rate of 0.01 until training error fell below 80%
because 0.1 was "slightly too large to start converging"; the race does the same job with a short
linear warm-up, so both networks start gently and the comparison is about depth, not a lucky first step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from explorer.core.files import folder_problem
from explorer.core.network.stages import DEFAULT_ARCH, MIN_INPUT_SIZE, RESNETS
from explorer.core.text import shown

DIGITS = "digits"  # the bundled data set; any other ``data`` value is a folder in ImageFolder layout
DIGITS_IMAGES, DIGITS_CLASSES = 1797, 10  # its size (explorer/resources/digits), known before it is read
# "batch": BatchNorm with batch statistics while training, running statistics for validation (PyTorch's
# standard train/eval behaviour, as He et al. train). "none": no normalisation and PyTorch's default
# initialisation, the gradient lab's no-norm preset, where the plain network's gradient vanishes.
NORMS: tuple[str, ...] = ("batch", "none")


# Any member of the ResNet family races (explorer.core.network.stages.RESNETS): ResNet-18 and -34 with basic
# blocks, ResNet-50 and deeper with bottlenecks, ResNeXt and Wide ResNet; plain-18 against plain-34
# is two races. The network's name is its torchvision builder name.
NETWORKS: tuple[str, ...] = tuple(RESNETS)


@dataclass(frozen=True)
class RaceConfig:
    """One race's settings. The same config gives the same numbers on the same device.

    ``steps`` SGD steps of ``batch`` images each, the learning rate rising linearly over the first
    ``warmup`` steps to ``lr`` and then constant. ``size``: images are square, ``size`` pixels a side.
    ``device``: "auto" (cuda > mps > cpu, as classification), "cpu", "cuda", "cuda:1", ...
    ``data``: ``"digits"`` (bundled) or a folder with one subfolder of images per class.
    """

    network: str = DEFAULT_ARCH
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


# Below 32 px the last stage sees less than a 1x1 map and BN over it is degenerate (every member
# divides the side by 32: see explorer.core.network.stages).
MIN_SIZE = MIN_INPUT_SIZE


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
    """Raise ValueError naming ``config.data`` (escaped) unless it is the bundled set or a folder that
    can be listed; a name too long for the file system is said so, not raised as an OSError."""
    problem = None if config.data == DIGITS else folder_problem(config.data, writable=False)
    if problem:
        raise ValueError(f"{shown(config.data)}: {problem} (the data is 'digits' or a folder with one subfolder per class)")
