"""A classification's result as plain values, and the top-k of a row of logits: what the Classifier
(PyTorch) and the first prediction at start-up (:mod:`explorer.core.inference.quick`, no torch) both
return.

Core layer, torch-free (numpy).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TopClass:
    index: int
    label: str
    prob: float


@dataclass(frozen=True)
class Prediction:
    """One image's result as plain values. ``latency_ms``: the model call alone (transfer to the
    device, forward, back), not decoding or preprocessing. ``trained=False``: show "untrained".
    ``engine`` and ``precision``: what produced it (see :mod:`explorer.core.inference.engines`)."""

    file: str
    top: tuple[TopClass, ...]
    device: str
    latency_ms: float
    trained: bool
    precision: str = "fp32"
    engine: str = "torch"


def top_classes(logits: np.ndarray, labels: Sequence[str], topk: int) -> tuple[TopClass, ...]:
    """The ``topk`` most probable classes of one row of logits, softmax in float64 (numpy)."""
    row = np.asarray(logits, dtype=np.float64)
    probs = np.exp(row - row.max())
    probs /= probs.sum()
    order = np.argsort(-probs, kind="stable")[: min(topk, probs.size)]
    return tuple(TopClass(int(i), labels[int(i)], float(probs[i])) for i in order)
