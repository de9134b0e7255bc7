"""The named choices that commands and menus offer (precisions, prediction engines, Grad-CAM stages
and colour maps, lesion kinds), torch-free so that a parser or a menu is built without importing
torch; the modules that implement each choice import its names from here.

Core layer, pure Python.
"""

from __future__ import annotations

from explorer.core.network.blocks import stage_outputs

# Classifier precisions: fp32, and the reduced ones where the hardware runs them natively. "auto"
# (the default) is bf16 on a CPU that runs it natively, fp32 everywhere else.
PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16")
PRECISION_CHOICES: tuple[str, ...] = ("auto", *PRECISIONS)

# Prediction engines (explorer.core.inference.engines); "auto" (the default) takes the fastest one installed
# for the device and precision.
ENGINES: tuple[str, ...] = ("torch", "onnxruntime", "openvino")
ENGINE_CHOICES: tuple[str, ...] = ("auto", *ENGINES)

# Grad-CAM explains the output of one of the five stages: 1 (stem) .. 5 (layer4), default the last.
GRADCAM_STAGES: tuple[int, ...] = tuple(stage_outputs())
DEFAULT_GRADCAM_STAGE = GRADCAM_STAGES[-1]

# Piecewise-linear anchors (position, (r, g, b)) in [0, 1]. "jet" is matplotlib's exact definition;
# "inferno" is matplotlib's perceptually uniform map sampled at five points (an approximation).
COLORMAP_ANCHORS: dict[str, tuple[tuple[float, tuple[float, float, float]], ...]] = {
    "jet": (
        (0.0, (0.0, 0.0, 0.5)),
        (0.125, (0.0, 0.0, 1.0)),
        (0.375, (0.0, 1.0, 1.0)),
        (0.625, (1.0, 1.0, 0.0)),
        (0.875, (1.0, 0.0, 0.0)),
        (1.0, (0.5, 0.0, 0.0)),
    ),
    "inferno": (
        (0.0, (0.001, 0.000, 0.014)),
        (0.25, (0.341, 0.062, 0.429)),
        (0.5, (0.735, 0.216, 0.330)),
        (0.75, (0.978, 0.557, 0.035)),
        (1.0, (0.988, 1.000, 0.645)),
    ),
    "gray": ((0.0, (0.0, 0.0, 0.0)), (1.0, (1.0, 1.0, 1.0))),
}
COLORMAPS: tuple[str, ...] = tuple(COLORMAP_ANCHORS)

# What a lesion removes from a block (Veit et al. 2016): its residual branch or its shortcut.
LESION_KINDS: tuple[str, ...] = ("residual", "shortcut")
