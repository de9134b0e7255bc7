"""The theory lab: the three results that explain why residual networks train, measured on any ResNet of
the family: signal propagation (Brock, De & Smith 2021), residual networks as ensembles of paths
(Veit, Wilber & Belongie 2016) and the effective receptive field (Luo et al. 2016). Pure PyTorch.

The package's rooms: ``config`` (what a run varies, validated; no torch), ``prepare`` (the network
and the inputs every view starts from), and one module per view: ``signal``, ``paths``, ``erf``.
Each view is one synchronous call that takes ``progress`` and ``cancel`` like the gradient lab's
and returns frozen results of plain values. The names that need torch are loaded on first use, so a
command's parser reads the choices without importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from explorer.core.theory.config import (
    DEFAULT_SAMPLES,
    ERF_STAGES,
    EXACT_BLOCKS,
    FIXUP_NORM,
    INITS,
    NORMS,
    VIEWS,
    TheoryConfig,
    validate,
)

_LAZY = {
    "Prepared": "prepare",
    "BlockSignal": "signal", "SignalResult": "signal", "run_signal": "signal",
    "PathsResult": "paths", "path_subsets": "paths", "run_paths": "paths",
    "ErfResult": "erf", "run_erf": "erf",
}

__all__ = ["DEFAULT_SAMPLES", "ERF_STAGES", "EXACT_BLOCKS", "FIXUP_NORM", "INITS", "NORMS", "VIEWS", "TheoryConfig", "validate", *_LAZY]


def __getattr__(name: str) -> Any:  # PEP 562: the torch-backed half on first use
    if name in _LAZY:
        return getattr(importlib.import_module(f"explorer.core.theory.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
