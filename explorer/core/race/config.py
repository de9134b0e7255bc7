"""What a training race varies (the networks, data, steps, batch, optimiser, image size, seed, device,
normalisation) as one frozen, validated value. Core layer, pure Python with no torch, so parsers and
the window's knobs read it cheaply (the networks are built by explorer.core.race.train).

The optimiser follows He et al. 2015 (Sec. 3.4 and 4.2): SGD with momentum 0.9 and weight decay
1e-4. Their CIFAR ResNet-110 started at a learning rate of 0.01 until training error fell below 80%
because 0.1 was "slightly too large to start converging"; the race does the same job with a short
linear warm-up, so both networks start gently and the comparison is about depth, not a lucky first step.
The default recipe (ResNet-56, 16 px, lr 0.05, gradients clipped to norm 1) and the numbers that chose
it are on the documentation's race page (docs/race.md) (``resnet-explorer bench --suite race_seeds``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from explorer.core.files import folder_problem
from explorer.core.network.stages import MEMBERS, MIN_INPUT_SIZE, resnet_spec
from explorer.core.text import shown

DIGITS = "digits"  # the bundled data set; any other ``data`` value is a folder in ImageFolder layout
DIGITS_IMAGES, DIGITS_CLASSES = 1797, 10  # its size (explorer/resources/digits), known before it is read
# "batch": BatchNorm with batch statistics while training, running statistics for validation (PyTorch's
# standard train/eval behaviour, as He et al. train). "none": no normalisation and PyTorch's default
# initialisation, the gradient lab's no-norm preset, where the plain network's gradient vanishes.
NORMS: tuple[str, ...] = ("batch", "none")


# Any member of the ResNet family races (explorer.core.network.stages.MEMBERS): He et al.'s CIFAR
# networks (ResNet-20 ... ResNet-110), ResNet-18 and -34 with basic blocks, ResNet-50 and deeper with
# bottlenecks, ResNeXt and Wide ResNet. The network's name is its builder name.
NETWORKS: tuple[str, ...] = tuple(MEMBERS)
# Plain-56 against ResNet-56 is He et al.'s Fig. 6 in small (their deepest plain CIFAR network); the
# plain twin barely leaves chance in 40 steps while the residual one learns the digits.
DEFAULT_NETWORK = "resnet56"


@dataclass(frozen=True)
class RaceConfig:
    """One race's settings. The same config gives the same numbers on the same device.

    ``steps`` SGD steps of ``batch`` images each, the learning rate rising linearly over the first
    ``warmup`` steps to ``lr`` and then constant; each step's gradient is scaled down to L2 norm
    ``clip`` where it is larger (0: never). ``size``: images are square, ``size`` pixels a side; None
    for the networks' own (:attr:`image_size`). ``depths``: two or more networks of different depths
    raced at once, each plain and residual (He et al. Fig. 6); empty for ``network`` and its twin.
    ``device``: "auto" (cuda > mps > cpu, as classification), "cpu", "cuda", "cuda:1", ...
    ``data``: ``"digits"`` (bundled) or a folder with one subfolder of images per class.
    """

    network: str = DEFAULT_NETWORK
    steps: int = 40
    batch: int = 32
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup: int = 10
    clip: float = 1.0
    size: int | None = None
    seed: int = 0
    device: str = "auto"
    data: str = DIGITS
    norm: str = "batch"
    depths: tuple[str, ...] = ()

    @property
    def init(self) -> str:
        """The initialisation that goes with ``norm``: He (Kaiming normal) with BN, PyTorch's
        default without, as the gradient lab's presets pair them."""
        return "he" if self.norm == "batch" else "pytorch"

    @property
    def networks(self) -> tuple[str, ...]:
        """The networks raced, each with its plain twin: ``depths`` by depth, or ``network`` alone."""
        return tuple(sorted(self.depths, key=lambda n: MEMBERS[n].depth)) if self.depths else (self.network,)

    @property
    def image_size(self) -> int:
        """``size``, or the least side every raced network is comfortable with: 32 px for an
        ImageNet member (its stages divide by 32), 16 px for the CIFAR ones (their three stages end
        at 4x4; the bundled digits are 8x8, so 16 px loses nothing and costs a quarter of 32 px)."""
        if self.size is not None:
            return self.size
        return max((RACE_SIZES[MEMBERS[n].stem] for n in self.networks if n in MEMBERS), default=RACE_SIZES["imagenet"])


# The least image side per stem: below it the last stage sees less than a 1x1 map (ImageNet) or
# BN's batch statistics come from a handful of positions (CIFAR at 8 px: 2x2 maps).
MIN_SIZES = {"imagenet": MIN_INPUT_SIZE, "cifar": 8}
RACE_SIZES = {"imagenet": MIN_INPUT_SIZE, "cifar": 16}  # the default sides, see RaceConfig.image_size
MIN_SIZE = min(MIN_SIZES.values())  # the least any network takes (what a parser or a spin box allows)


def min_size(config: RaceConfig) -> int:
    """The least ``size`` the race's networks take."""
    return max(MIN_SIZES[resnet_spec(n).stem] for n in config.networks)


def validate(config: RaceConfig) -> None:
    """Raise ValueError with a readable one-line message if a value of ``config`` is out of range.
    The data (:func:`check_data`, then its contents) and the device are checked by
    :func:`explorer.core.race.train.run_race` before it builds a model."""
    unknown = [n for n in (config.network, *config.depths) if n not in NETWORKS]
    if unknown:
        raise ValueError(f"unknown network {unknown[0]!r}; choose from {', '.join(NETWORKS)}")
    if config.depths:
        depths = [MEMBERS[n].depth for n in config.depths]
        if len(depths) < 2 or len(set(depths)) != len(depths):
            raise ValueError(f"depths needs two or more networks of different depths, got {', '.join(config.depths)}")
    if config.norm not in NORMS:
        raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {config.norm!r}")
    least = min_size(config)
    for field, low in (("steps", 1), ("batch", 2), ("size", least), ("warmup", 0), ("seed", 0)):
        value = getattr(config, field)
        if field == "size" and value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            # batch >= 2: BN with batch statistics needs more than one value per channel.
            raise ValueError(f"{field} must be a whole number of at least {low}, got {value!r}")
    for field, low, high in (("lr", 0.0, 10.0), ("momentum", 0.0, 0.999), ("weight_decay", 0.0, 1.0), ("clip", 0.0, 100.0)):
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
