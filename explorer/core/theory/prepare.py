"""What the theory lab's three views share before they measure: a fresh network built and switched as
a :class:`~explorer.core.theory.config.TheoryConfig` says, on its device, and the input batch prepared
as the gradient lab prepares it (seeded noise, or images resized so the shorter side is ``round(size *
resize/crop of the weights)`` and centre-cropped to ``size``). Pure PyTorch; part of explorer.core.theory.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from explorer.core.devices import select_device
from explorer.core.images import IMAGENET_MEAN, IMAGENET_STD
from explorer.core.loading.sources import DEFAULT_CROP, DEFAULT_RESIZE
from explorer.core.network.model import ResNet
from explorer.core.progress import Cancel, Progress
from explorer.core.theory.config import TheoryConfig, validate


@dataclass
class Prepared:
    """A run's network (in eval mode: every normalisation mode is explicit) and inputs, on ``device``.
    ``config`` is the one asked for, with ``batch`` set to the inputs' count."""

    model: ResNet
    x: torch.Tensor  # (B, 3, size, size)
    device: torch.device
    config: TheoryConfig


def prepare(config: TheoryConfig, device: str = "cpu", progress: Progress | None = None, cancel: Cancel | None = None) -> Prepared:
    """Build ``config``'s network on the CPU (so the weights do not depend on the device), move it and
    the inputs to ``device``.

    Raises:
        ValueError: an invalid config, an absent device, weights or images that cannot be read (one
            line naming the file), weights of another member than ``config.arch``.
        Cancelled: ``cancel`` returned True during a download.
    """
    validate(config)
    target = select_device(device)
    model, resize_ratio = build_model(config, progress, cancel)
    config = replace(config, arch=model.spec.name)  # the member the weights hold, when they decided
    x = make_inputs(config, resize_ratio)
    # Channels-last: the gradient of the stem conv's 3-channel input, which every path gradient and
    # every ERF map needs, took 148 ms contiguous and 10 ms channels-last (2 x 64 x 64 px, 1 CPU thread).
    model = model.to(target, memory_format=torch.channels_last)
    x = x.to(target).contiguous(memory_format=torch.channels_last)
    return Prepared(model, x, target, replace(config, batch=int(x.shape[0])))


def build_model(config: TheoryConfig, progress: Progress | None = None, cancel: Cancel | None = None) -> tuple[ResNet, float]:
    """The network and the resize/crop ratio its weights were evaluated with (torchvision's 256/224,
    232/224 for imagenet-v2), so that images are prepared the way those weights expect."""
    ratio = DEFAULT_RESIZE / DEFAULT_CROP
    if config.init == "weights":
        from explorer.core.loading.pipeline import load_for_lab

        # The gradient lab's call: the member the weights hold, which must be config.arch (if given).
        model, ratio = load_for_lab(config.weights, config.arch, config.seed, progress, cancel)
    else:
        model = ResNet(config.arch, init=config.init, seed=config.seed)
    model.set_shortcuts(config.shortcuts)
    model.set_normalization(config.norm)
    return model.eval(), ratio


def make_inputs(config: TheoryConfig, resize_ratio: float = DEFAULT_RESIZE / DEFAULT_CROP) -> torch.Tensor:
    """The input batch on the CPU: ``randn(batch, 3, size, size)`` from a generator seeded with
    ``config.seed``, or the images in order (the gradient lab's preparation)."""
    if config.inputs:
        from explorer.core.images import load_image, preprocess

        resize = round(config.size * resize_ratio)
        return torch.stack([preprocess(load_image(path), resize=resize, crop=config.size) for path in config.inputs])
    generator = torch.Generator().manual_seed(config.seed)
    return torch.randn(config.batch, 3, config.size, config.size, generator=generator)  # (B, 3, H, W)


def picture(x: torch.Tensor) -> np.ndarray:
    """The first input as the (H, W, 3) uint8 picture a person sees (the normalisation undone;
    noise is clipped), for drawing a map over it."""
    mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device).view(3, 1, 1)
    rgb = (x[0].detach() * std + mean).clamp(0, 1) * 255  # (3, H, W)
    return rgb.round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()

