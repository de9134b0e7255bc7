"""The gradient lab: per-layer weight-gradient norms and activation spreads of ResNet-50 for one
forward and backward pass, with or without skip connections (He et al. 2015, Fig. 7). Pure PyTorch.

The package's rooms: ``config`` (what a run varies, validated), ``presets`` (named settings),
``layers`` (which layers are reported, from the model itself), ``run`` (the pass), ``result``
(plain results), ``verdict`` (one line from the numbers), ``report`` (the CSV schema). The public
API is re-exported here.
"""

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
from explorer.core.gradients.layers import gradient_layers, main_path_layers, stage_modules
from explorer.core.gradients.presets import PRESETS, Preset
from explorer.core.gradients.report import CSV_FIELDS, csv_rows, write_csv
from explorer.core.gradients.result import GradResult, LayerGrad
from explorer.core.gradients.run import build_model, make_inputs, run_comparison, run_gradients, variant_label
from explorer.core.progress import Cancelled

__all__ = [
    "CSV_FIELDS", "Cancelled", "GradConfig", "GradResult", "INITS", "LayerGrad", "NORMS", "PRESETS", "Preset",
    "SHORTCUT_CHOICES", "TARGETS", "build_model", "csv_rows", "gradient_layers", "main_path_layers", "make_inputs",
    "run_comparison", "run_gradients", "shortcut_variants", "stage_modules", "validate", "validate_choice",
    "variant_label", "write_csv",
]
