"""Lesion study (Veit et al. 2016, "Residual Networks Behave Like Ensembles of Relatively Shallow
Networks"): remove one block's residual branch (keeping its shortcut) or its shortcut, and see how
the top-5 of one image changes; a sweep lesions each block in turn (16 in ResNet-50, 8 in ResNet-18,
50 in ResNet-152).

Core layer, pure PyTorch. Everything runs on a private copy of the model (cloned weights, the
source's switches, eval mode, standard normalisation), so the classifier is never touched. One clean
pass per image caches every block's input and both of its paths (residual branch F(x), shortcut); a
lesion at block k then costs only the blocks after k and the head, and the sweep carries every
lesioned variant through the later blocks as one batch.
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass
from typing import Literal

import torch

from explorer.core.choices import LESION_KINDS as KINDS  # the names live there, torch-free
from explorer.core.insight.activations import as_batch, image_key, model_device
from explorer.core.network.model import ResidualBlock, ResNet
from explorer.core.progress import Cancel, Cancelled, Progress

LesionKind = Literal["residual", "shortcut"]
TOP_K = 5

@dataclass(frozen=True)
class Lesion:
    """The top-5 (class index, probability) of one image before and after one lesion."""

    block: str  # state-dict prefix, e.g. "layer3.2"
    kind: str  # "residual" | "shortcut"
    before: list[tuple[int, float]]
    after: list[tuple[int, float]]


@dataclass(frozen=True)
class BlockDrop:
    """One row of a sweep: what lesioning ``block`` does to the unlesioned top-1 class."""

    block: str
    block_kind: str  # "conv" (projection shortcut) | "identity"
    prob: float | None  # probability of the unlesioned top-1 class after the lesion
    drop: float | None  # unlesioned probability minus ``prob``
    after: list[tuple[int, float]]  # top-5 after the lesion (empty when skipped)
    skipped: str | None = None  # why this block could not be lesioned, else None


@dataclass(frozen=True)
class Sweep:
    """A lesion of every block in turn, for one image."""

    kind: str
    class_index: int  # the unlesioned top-1
    prob: float  # its unlesioned probability
    before: list[tuple[int, float]]
    blocks: list[BlockDrop]


def private_copy(model: ResNet, device: torch.device | str | None = None) -> ResNet:
    """A copy of ``model`` with its own parameters and buffers and the same switches, in eval mode
    with standard normalisation, on ``device`` (default: the model's).

    A deep copy, the cheapest build (and not the meta device: see :class:`ResNet`). Hooks registered on
    ``model`` would come along, so pass a model without any (explorer's own live for one call only).
    """
    device = model_device(model) if device is None else torch.device(device)
    copy = deepcopy(model).to(device)
    copy.set_normalization("standard")
    return copy.eval().requires_grad_(False)


def _top(logits: torch.Tensor) -> list[list[tuple[int, float]]]:
    """Top-5 (index, probability) per row of ``logits`` (N, classes)."""
    probs = logits.float().softmax(dim=1)
    values, indices = probs.topk(min(TOP_K, probs.shape[1]), dim=1)
    return [[(int(i), float(v)) for i, v in zip(ix, vs)] for ix, vs in zip(indices, values)]


def invalid_reason(block: ResidualBlock, kind: str) -> str | None:
    """Why ``kind`` cannot be lesioned in ``block`` (the other path is already off), else None."""
    if kind not in KINDS:
        raise ValueError(f"unknown lesion kind {kind!r}; choose from {', '.join(KINDS)}")
    other_on = block.shortcut_enabled if kind == "residual" else block.residual_enabled
    if other_on:
        return None
    other = "shortcut" if kind == "residual" else "residual branch"
    return f"its {other} is already off, so nothing would remain"


def _join(block: ResidualBlock, residual: torch.Tensor, shortcut: torch.Tensor, residual_on: bool, shortcut_on: bool) -> torch.Tensor:
    """A block's output from its two precomputed paths, with ResidualBlock.forward's semantics."""
    return block.join(residual, shortcut, residual_on, shortcut_on)


@dataclass
class _CleanPass:
    """The unlesioned pass of one image: per block its F(x) and shortcut(x), and the top-5."""

    key: str
    residuals: list[torch.Tensor]
    shortcuts: list[torch.Tensor]
    before: list[tuple[int, float]]


class Lesioner:
    """Lesions on a private copy of a model. Make one per set of weights and reuse it for every
    image: the copy is made here (it costs a few forward passes' worth of memory copying), the
    clean pass of the latest image is kept, so toggling lesions on one image costs only the blocks
    after the lesion.

    Args:
        model: the classifier's model; only read (state dict and switches), here and never again.
        device: where the copy runs (default: the model's device).
    """

    def __init__(self, model: ResNet, device: torch.device | str | None = None) -> None:
        self.model = private_copy(model, device)
        self.device = model_device(self.model)
        self._blocks: dict[str, ResidualBlock] = self.model.blocks()
        self._clean: _CleanPass | None = None

    def _head(self, h: torch.Tensor) -> torch.Tensor:
        return self.model.fc(torch.flatten(self.model.avgpool(h), 1))  # (N, classes)

    def _clean_pass(self, image: torch.Tensor) -> _CleanPass:
        x = as_batch(image)
        key = image_key(x)
        if self._clean is not None and self._clean.key == key:
            return self._clean
        m = self.model
        residuals, shortcuts = [], []
        with torch.inference_mode():
            h = m.stem(x.to(self.device, torch.float32))  # (1, 64, H/4, W/4)
            for name, block in self._blocks.items():
                if not (block.residual_enabled or block.shortcut_enabled):
                    raise ValueError(f"{name} has both its shortcut and its residual branch off: the model cannot run")
                residuals.append(block.residual(h))  # (1, C, H', W')
                shortcuts.append(block.shortcut(h))  # the input itself for an identity block
                h = _join(block, residuals[-1], shortcuts[-1], block.residual_enabled, block.shortcut_enabled)
            before = _top(self._head(h))[0]
        self._clean = _CleanPass(key, residuals, shortcuts, before)
        return self._clean

    def _lesioned_output(self, clean: _CleanPass, i: int, block: ResidualBlock, kind: str) -> torch.Tensor:
        if kind == "residual":
            return _join(block, clean.residuals[i], clean.shortcuts[i], False, True)
        return _join(block, clean.residuals[i], clean.shortcuts[i], True, False)

    def before(self, image: torch.Tensor) -> list[tuple[int, float]]:
        """The unlesioned top-5 (class index, probability) of ``image``."""
        return self._clean_pass(image).before

    def lesion(self, image: torch.Tensor, block: str, kind: LesionKind = "residual") -> Lesion:
        """The top-5 of ``image`` with ``kind`` ("residual" or "shortcut") of ``block`` removed.

        Raises KeyError for an unknown block and ValueError for an unknown kind or when the block's
        other path is already off (nothing would remain).
        """
        names = list(self._blocks)
        if block not in self._blocks:
            raise KeyError(f"unknown block {block!r}; valid names are {', '.join(names)}")
        target = self._blocks[block]
        reason = invalid_reason(target, kind)
        if reason:
            raise ValueError(f"cannot remove the {kind} of {block}: {reason}")
        clean = self._clean_pass(image)
        i = names.index(block)
        with torch.inference_mode():
            h = self._lesioned_output(clean, i, target, kind)
            for later in names[i + 1 :]:
                h = self._blocks[later](h)
            after = _top(self._head(h))[0]
        return Lesion(block, kind, clean.before, after)

    def sweep(
        self, image: torch.Tensor, kind: LesionKind = "residual", progress: Progress | None = None, cancel: Cancel | None = None
    ) -> Sweep:
        """Lesion each block of ``image`` in turn; report the unlesioned top-1's probability after each.

        Blocks whose other path is already off are reported as skipped. ``progress(text, fraction)``
        is called after each block, ``cancel()`` polled before each (True raises :class:`Cancelled`).
        """
        skipped = {name: invalid_reason(b, kind) for name, b in self._blocks.items()}
        clean = self._clean_pass(image)
        names = list(self._blocks)
        lesioned = [name for name in names if not skipped[name]]
        lanes: torch.Tensor | None = None  # (n, C, H, W): row j carries the lesion of lesioned[j]
        with torch.inference_mode():
            for i, (name, block) in enumerate(self._blocks.items()):
                if cancel is not None and cancel():
                    raise Cancelled(f"lesion sweep cancelled at {name}")
                if lanes is not None:
                    lanes = block(lanes)  # earlier lesions pass through this block intact
                if not skipped[name]:
                    out = self._lesioned_output(clean, i, block, kind)
                    lanes = out if lanes is None else torch.cat([lanes, out])
                if progress is not None:
                    progress(f"lesion sweep: {name}", (i + 1) / len(names))
            logits = self._head(lanes) if lanes is not None else None
        afters = _top(logits) if logits is not None else []
        probs = logits.float().softmax(dim=1) if logits is not None else None
        c, p = clean.before[0]
        rows = {name: j for j, name in enumerate(lesioned)}
        blocks = []
        for name in names:
            block_kind = self._blocks[name].kind
            if name in rows:
                q = float(probs[rows[name], c])
                blocks.append(BlockDrop(name, block_kind, q, p - q, afters[rows[name]]))
            else:
                blocks.append(BlockDrop(name, block_kind, None, None, [], skipped[name]))
        return Sweep(kind, c, p, clean.before, blocks)


def lesion(
    model: ResNet, image: torch.Tensor, block: str, kind: LesionKind = "residual", device: torch.device | str | None = None
) -> Lesion:
    """One lesion of one image on a fresh copy of ``model``: see :meth:`Lesioner.lesion`."""
    return Lesioner(model, device).lesion(image, block, kind)


def lesion_sweep(
    model: ResNet,
    image: torch.Tensor,
    kind: LesionKind = "residual",
    device: torch.device | str | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> Sweep:
    """Every single-block lesion of one image on a fresh copy of ``model``: see :meth:`Lesioner.sweep`."""
    return Lesioner(model, device).sweep(image, kind, progress, cancel)
