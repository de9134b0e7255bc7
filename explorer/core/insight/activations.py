"""Activation maps of any ResNet: the output of the stem and of every residual block for one image,
captured by forward hooks in a single forward pass, and the most active channels of any block.

Pure PyTorch + numpy (core layer). Results are plain numpy arrays so they can cross threads; an
:class:`ActivationCache` keeps the maps of recent images (17 in ResNet-50, 51 in
ResNet-152) so browsing blocks costs no new forward.
Channel ranking by mean activation follows the usual feature-map browsers (Yosinski et al. 2015,
"Understanding Neural Networks Through Deep Visualization").
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from explorer.core.network.blocks import STEM
from explorer.core.network.model import ResNet, SwitchableBatchNorm2d


@contextmanager
def inference_semantics(model: ResNet) -> Iterator[ResNet]:
    """Temporarily put ``model`` in eval mode with ``standard`` normalisation (running statistics),
    restoring its train flags and BatchNorm modes afterwards, so a view never changes the model."""
    training = {m: m.training for m in model.modules()}
    modes = {m: m.mode for m in model.modules() if isinstance(m, SwitchableBatchNorm2d)}
    model.eval()
    model.set_normalization("standard")
    try:
        yield model
    finally:
        for m, flag in training.items():
            m.training = flag
        for m, mode in modes.items():
            m.mode = mode


def block_modules(model: ResNet) -> dict[str, nn.Module]:
    """The modules whose outputs are the activation maps: the stem (its max-pool output, i.e. the
    end of stage 1) and every residual block by state-dict prefix, in forward order (17 in ResNet-50)."""
    return {STEM: model.stem_output, **model.blocks()}


def as_batch(image: torch.Tensor) -> torch.Tensor:
    """A preprocessed image (3, H, W) or a batch of one (1, 3, H, W) as (1, 3, H, W); else ValueError."""
    if image.dim() == 3:
        image = image.unsqueeze(0)
    if image.dim() != 4 or image.shape[0] != 1 or image.shape[1] != 3:
        raise ValueError(f"expected one image of shape (3, H, W) or (1, 3, H, W), got {tuple(image.shape)}")
    return image


def model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def capture_activations(model: ResNet, image: torch.Tensor) -> dict[str, np.ndarray]:
    """Every block output (stem and residual blocks) for one image from one forward pass, as float32 numpy arrays (C, H, W).

    Runs on the model's device in eval mode with standard normalisation; the hooks are removed and
    the model's modes restored before returning.
    """
    x = as_batch(image).to(model_device(model), torch.float32)
    captured: dict[str, torch.Tensor] = {}

    def keep(name: str):
        def hook(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
            captured[name] = output[0].detach().float().cpu()

        return hook

    handles = [m.register_forward_hook(keep(name)) for name, m in block_modules(model).items()]
    try:
        with inference_semantics(model), torch.inference_mode():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return {name: captured[name].numpy() for name in block_modules(model)}


@dataclass(frozen=True)
class ChannelMap:
    """One channel of a block output: its index, mean activation and the 2-D map (H, W)."""

    channel: int
    mean: float
    map: np.ndarray


def top_channels(activation: np.ndarray, k: int = 16) -> list[ChannelMap]:
    """The ``k`` channels of ``activation`` (C, H, W) with the highest mean, most active first.

    Ties keep the lower channel index first (a stable sort), so the order is reproducible.
    """
    if activation.ndim != 3:
        raise ValueError(f"expected an activation of shape (C, H, W), got {activation.shape}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    means = activation.mean(axis=(1, 2), dtype=np.float64)
    order = np.argsort(-means, kind="stable")[:k]
    return [ChannelMap(int(c), float(means[c]), activation[c].copy()) for c in order]


def image_key(image: torch.Tensor) -> str:
    """A content hash of a preprocessed image tensor: equal pixels give the same cache key."""
    data = image.detach().to("cpu", torch.float32).contiguous().numpy()
    return hashlib.sha1(repr(data.shape).encode() + data.tobytes()).hexdigest()


class ActivationCache:
    """The block outputs of the most recent images, so switching blocks or channels is instant.

    One forward per new image captures every block (about 23 MB per 224x224 image in float32 for ResNet-50);
    the least recently used image is dropped beyond ``max_images``. The cache does not watch the
    model: call :meth:`clear` after loading other weights or flipping switches.
    """

    def __init__(self, model: ResNet, max_images: int = 4) -> None:
        if max_images < 1:
            raise ValueError(f"max_images must be at least 1, got {max_images}")
        self.model = model
        self.max_images = max_images
        self._entries: OrderedDict[str, dict[str, np.ndarray]] = OrderedDict()
        self.forwards = 0  # forward passes run so far; lets tests and the UI see cache hits

    def activations(self, image: torch.Tensor, key: str | None = None) -> dict[str, np.ndarray]:
        """All block outputs of ``image`` (see :func:`capture_activations`), cached under ``key``
        (default: a hash of the pixels)."""
        key = image_key(image) if key is None else key
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        maps = capture_activations(self.model, image)
        self.forwards += 1
        self._entries[key] = maps
        while len(self._entries) > self.max_images:
            self._entries.popitem(last=False)
        return maps

    def top_channels(self, image: torch.Tensor, block: str, k: int = 16, key: str | None = None) -> list[ChannelMap]:
        """The ``k`` most active channels of ``block`` (``"stem"``, ``"layer1.0"`` ...) for ``image``."""
        maps = self.activations(image, key)
        if block not in maps:
            raise KeyError(f"unknown block {block!r}; valid names are {', '.join(maps)}")
        return top_channels(maps[block], k)

    def norms(self, image: torch.Tensor, key: str | None = None) -> dict[str, float]:
        """L2 norm of every block output for ``image``: the "activation norm" metric per block."""
        maps = self.activations(image, key)
        return {name: float(np.linalg.norm(a.astype(np.float64).ravel())) for name, a in maps.items()}

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
