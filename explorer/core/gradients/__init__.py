"""The gradient lab: per-layer weight-gradient norms and activation spreads of any ResNet (default
ResNet-50) for one forward and backward pass, with or without skip connections (He et al. 2015,
Fig. 7), and across depths (Table 2, Fig. 4: plain-18/34 against ResNet-18/34). Pure PyTorch.

The package's rooms: ``config`` (what a run varies, validated), ``presets`` (named settings),
``layers`` (which layers are reported, from the model itself), ``run`` (the pass), ``result``
(plain results), ``verdict`` (one line from the numbers), ``report`` (the CSV schema), ``depth``
(the comparison of depths). The public
API is re-exported here; ``config`` and ``presets`` import no torch, and the names that need torch
are loaded on first use, so a command's parser can read the choices without importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from explorer.core.gradients.config import (
    INITS,
    NORMS,
    SHORTCUT_CHOICES,
    TARGETS,
    GradConfig,
    shortcut_variants,
    validate,
    validate_choice,
)
from explorer.core.gradients.presets import PRESETS, Preset

_LAZY = {
    "gradient_layers": "layers", "main_path_layers": "layers", "stage_modules": "layers",
    "CSV_FIELDS": "report", "csv_rows": "report", "write_csv": "report",
    "GradResult": "result", "LayerGrad": "result",
    "build_model": "run", "make_inputs": "run", "run_comparison": "run", "run_gradients": "run", "variant_label": "run",
    "DepthComparison": "depth", "DepthCurve": "depth", "run_depth_comparison": "depth", "DEFAULT_DEPTHS": "depth",
}

__all__ = [
    "INITS", "NORMS", "PRESETS", "SHORTCUT_CHOICES", "TARGETS", "Cancelled", "GradConfig", "Preset", "shortcut_variants",
    "validate", "validate_choice", *_LAZY,
]


def __getattr__(name: str) -> Any:  # PEP 562: the torch-backed half on first use
    if name == "Cancelled":
        from explorer.core.progress import Cancelled

        return Cancelled
    if name in _LAZY:
        return getattr(importlib.import_module(f"explorer.core.gradients.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
