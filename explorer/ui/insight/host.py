"""Worker-side half of the Insight views: one ResNet (the classifier's member of the family and
weights), its activation cache and lesioner, and the jobs that use them (activation maps, Grad-CAM and its share per block,
lesions, sweeps).

UI layer, but no Qt here. The Insight panel submits these methods as jobs on its own "insight" lane,
so the model is touched by one job at a time and never by the GUI thread; results are frozen
dataclasses of plain values (numpy arrays, floats, labels). The model is the host's own, loaded from
the same source as the classifier's, so nothing done here can change a prediction the
classification panel shows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from explorer.core.gradients import GradResult
from explorer.core.images import load_image, preprocess
from explorer.core.insight.activations import ActivationCache, ChannelMap
from explorer.core.insight.gradcam import DEFAULT_STAGE, CamShares, GradCam, cam_mass_shares, grad_cam, network_view
from explorer.core.insight.lesion import Lesion, Lesioner, Sweep
from explorer.core.loading.pipeline import load_model
from explorer.core.loading.sources import weight_source
from explorer.core.network.blocks import STEM, residual_blocks, stages_of
from explorer.core.network.model import ResNet
from explorer.core.progress import Cancel, Progress

ImageSource = Path | Image.Image


@dataclass(frozen=True)
class InsightWeights:
    """What the host loaded: the source, whether it is trained, and the eval transform in use."""

    source: str
    label: str
    trained: bool
    device: str
    resize: int
    crop: int
    class_names: tuple[str, ...]  # one per output: the checkpoint's labels, ImageNet's, or "class i"
    arch: str = "resnet50"  # the member of the family
    blocks: tuple[str, ...] = ()  # "stem" and every residual block of it, in network order


@dataclass(frozen=True)
class ChannelGrid:
    """The most active channels of one block for one image, and every block's activation norm."""

    image: str
    block: str
    channels: list[ChannelMap]  # most active first, maps (H, W) float32
    norms: dict[str, float]  # block name ("stem", "layer1.0", ...) -> L2 norm of its output
    forwards: int  # forward passes the cache has run so far (a cache hit does not add one)


@dataclass(frozen=True)
class CamView:
    """A Grad-CAM and the picture the network saw (H, W, 3) uint8, to blend in the view."""

    image: str
    cam: GradCam
    picture: np.ndarray


class InsightHost:
    """Owns the Insight model. Call its methods only from jobs of one JobRunner lane."""

    def __init__(self) -> None:
        self._weights: InsightWeights | None = None
        self._cache: ActivationCache | None = None
        self._lesioner: Lesioner | None = None
        self._model: ResNet | None = None
        self._prepared: tuple[str, torch.Tensor] | None = None  # the latest image's tensor, by key

    def load(self, source: str, device: str, crop: int | None = None, arch: str | None = None) -> InsightWeights:
        """Load ``source`` (as the classifier did: the network the file holds, ``arch`` for
        ``random``, same seed) on ``device``.

        ``crop`` overrides the eval transform's crop (the resize keeps its ratio); tests use it to
        stay small. Drops every cached activation and clean pass: they belonged to the old weights.
        """
        named = weight_source(source)
        model, info = load_model(source, arch if named is not None and named.url is None else None)
        model = model.to(device).eval().requires_grad_(False)
        resize, size = info.resize, info.crop
        if crop is not None:
            resize, size = round(crop * info.resize / info.crop), crop
        self._model = model
        self._cache = ActivationCache(model)
        self._lesioner = Lesioner(model)
        self._prepared = None
        blocks = (STEM, *residual_blocks(stages_of(model)))
        self._weights = InsightWeights(info.source, info.label, info.trained, device, resize, size, info.labels, info.arch, blocks)
        return self._weights

    def activations(self, key: str, source: ImageSource, block: str, k: int) -> ChannelGrid:
        """The ``k`` most active channels of ``block`` for the image; a cached image costs no forward."""
        cache = self._need(self._cache)
        image = self._image(key, source)
        channels = cache.top_channels(image, block, k, key=key)
        return ChannelGrid(key, block, channels, cache.norms(image, key=key), cache.forwards)

    def cam(self, key: str, source: ImageSource, stage: int = DEFAULT_STAGE, class_index: int | None = None) -> CamView:
        """Grad-CAM of the image for ``class_index`` (default: the top-1) at the output of ``stage``."""
        model = self._need(self._model)
        image = self._image(key, source)
        result = grad_cam(model, image, stage, class_index)
        return CamView(key, result, np.asarray(network_view(image)))

    def cam_shares(self, key: str, source: ImageSource, class_index: int | None = None) -> CamShares:
        """Each block's raw Grad-CAM mass for ``class_index`` (default: the top-1) and its share of the sum."""
        return cam_mass_shares(self._need(self._model), self._image(key, source), class_index)

    def lesion(self, key: str, source: ImageSource, block: str, kind: str) -> Lesion:
        """The image's top-5 before and after removing ``kind`` of ``block`` (on the lesioner's copy)."""
        return self._need(self._lesioner).lesion(self._image(key, source), block, kind)

    def sweep(self, key: str, source: ImageSource, kind: str, progress: Progress, cancelled: Cancel) -> Sweep:
        """Every single-block lesion of the image: the top-1's probability drop per block."""
        return self._need(self._lesioner).sweep(self._image(key, source), kind, progress, cancelled)

    def _image(self, key: str, source: ImageSource) -> torch.Tensor:
        """The preprocessed tensor (3, crop, crop): a full decode, torchvision's exact input (as the
        cam and lesion commands prepare it)."""
        if self._prepared is not None and self._prepared[0] == key:
            return self._prepared[1]
        weights = self._need(self._weights)
        picture = source.convert("RGB") if isinstance(source, Image.Image) else load_image(source)
        tensor = preprocess(picture, weights.resize, weights.crop)
        self._prepared = (key, tensor)
        return tensor

    @staticmethod
    def _need(value):  # noqa: ANN001, ANN205 - any of the host's parts
        if value is None:
            raise RuntimeError("no weights loaded yet")
        return value


def gradient_block_norms(results: Sequence[GradResult]) -> dict[str, float]:
    """Per block, the L2 norm of its main-path weight gradients (conv1, conv2 and conv3 together:
    the root of the sum of their squared norms) in the residual run of a gradient-lab result (the
    first run when there is none); the stem's conv1 for "stem" and the fc for "head". Blocks whose
    layers took no part (lesioned) are left out."""
    run = next((r for r in results if r.shortcuts), results[0])
    squares: dict[str, float] = {}
    for layer in run.layers:
        if layer.shortcut or layer.grad_norm is None:
            continue
        block = {"conv1": "stem", "fc": "head"}.get(layer.name, layer.name.rsplit(".", 1)[0])
        squares[block] = squares.get(block, 0.0) + layer.grad_norm**2
    return {block: math.sqrt(total) for block, total in squares.items()}
