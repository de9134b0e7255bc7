"""Grad-CAM (Selvaraju et al. 2017, "Grad-CAM: Visual Explanations from Deep Networks via
Gradient-based Localization") at the output of any of a ResNet's five stages, and a blend of the
heat map over the image with a small numpy colour map.

Core layer: pure PyTorch + numpy + Pillow. The heat map is the ReLU of the channel sum of the stage
output weighted by the spatial mean of the class score's gradient, upsampled bilinearly to the input
size and divided by its maximum. At stage 5 this equals CAM (Zhou et al. 2016), because the head is a
global average pool followed by a linear layer. ``cam_mass_shares`` keeps the un-normalised maps of
all block outputs (stem and residual blocks) instead, so their masses (in logit units) can be compared across blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from explorer.core.choices import (  # noqa: F401 (the names are defined torch-free there, for parsers and menus)
    COLORMAP_ANCHORS as _COLORMAPS,
    COLORMAPS,
    DEFAULT_GRADCAM_STAGE as DEFAULT_STAGE,
    GRADCAM_STAGES as STAGES,
)
from explorer.core.images import IMAGENET_MEAN, IMAGENET_STD
from explorer.core.insight.activations import as_batch, block_modules, inference_semantics, model_device
from explorer.core.network.model import ResNet

TOP_K = 5


@dataclass(frozen=True)
class GradCam:
    """A Grad-CAM heat map and the prediction it explains, as plain data."""

    heatmap: np.ndarray  # (H, W) float32 in [0, 1] at the input size; all zeros if no positive evidence
    stage: int  # 1 (stem) .. 5 (layer4)
    class_index: int
    class_prob: float
    top: list[tuple[int, float]]  # the top-5 (class index, probability), most probable first


@dataclass(frozen=True)
class CamShares:
    """Each block's raw Grad-CAM mass for one class and its share of the sum over all blocks (stem included)."""

    class_index: int
    class_prob: float
    masses: dict[str, float]  # block name ("stem", "layer1.0", ...) -> M_k, in forward order
    shares: dict[str, float]  # M_k / sum of all M; all zero when no block has positive evidence


def stage_module(model: ResNet, stage: int) -> nn.Module:
    """The module whose output ends ``stage``: the stem's max-pool for 1, ``layer1``..``layer4`` for 2..5."""
    modules = [model.stem_output, *(module for _, module in model.stage_modules())]
    if stage not in range(1, len(modules) + 1):
        raise ValueError(f"stage must be 1..{len(modules)}, got {stage}")
    return modules[stage - 1]


def grad_cam(model: ResNet, image: torch.Tensor, stage: int = DEFAULT_STAGE, class_index: int | None = None) -> GradCam:
    """Grad-CAM of one preprocessed image (3, H, W) for ``class_index`` (default: the top-1) at the
    output of ``stage``. Runs on the model's device in eval mode with standard normalisation; the
    model's modes are restored and no parameter gradient is written.
    """
    target = stage_module(model, stage)
    c, probs, cams, size = _raw_cams(model, image, {"stage": target}, class_index)
    cam = F.interpolate(cams["stage"][None, None], size=size, mode="bilinear", align_corners=False)[0, 0]
    peak = cam.max()
    heat = cam / peak if peak > 0 else torch.zeros_like(cam)
    values, indices = probs.topk(min(TOP_K, probs.numel()))
    return GradCam(
        heatmap=heat.float().cpu().numpy(),
        stage=stage,
        class_index=c,
        class_prob=float(probs[c]),
        top=[(int(i), float(v)) for i, v in zip(indices, values)],
    )


def cam_mass_shares(model: ResNet, image: torch.Tensor, class_index: int | None = None) -> CamShares:
    """The raw Grad-CAM mass of every block output for ``class_index`` (default: the top-1) and each
    block's share of their sum, from one forward and one backward pass.

    For block output A_k (C, h, w), M_k = sum over positions of ReLU(sum_ch alpha_ch A_k[ch]), with
    alpha_ch the spatial mean of d y_c / d A_k[ch] (Selvaraju et al. 2017, eq. 1-2, before any
    upsampling or rescaling). Before the ReLU the sum over positions is sum_ch h*w*alpha_ch*mean(A_k[ch]),
    gradient x activation with the gradient averaged over positions: in logit units at any resolution.
    Eval semantics as :func:`grad_cam`; the model's modes are restored and no parameter gradient is written.
    """
    c, probs, cams, _ = _raw_cams(model, image, block_modules(model), class_index)
    masses = {name: float(cam.double().sum()) for name, cam in cams.items()}
    total = sum(masses.values())
    shares = {name: (m / total if total > 0 else 0.0) for name, m in masses.items()}
    return CamShares(class_index=c, class_prob=float(probs[c]), masses=masses, shares=shares)


def _raw_cams(
    model: ResNet, image: torch.Tensor, modules: dict[str, nn.Module], class_index: int | None
) -> tuple[int, torch.Tensor, dict[str, torch.Tensor], tuple[int, int]]:
    """ReLU(sum_ch alpha_ch A[ch]) at the output of each of ``modules`` (h, w each, not rescaled),
    from one forward and one backward pass; also the class used, the probabilities and the input size.
    """
    _check_class(model, class_index)
    kept: dict[str, torch.Tensor] = {}

    def keep(name: str):  # noqa: ANN202 - a forward hook
        def hook(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> torch.Tensor:
            if not kept:
                # Restart the graph at the first kept output: nothing before it needs a gradient, and
                # frozen parameters (requires_grad=False) still leave every later output differentiable.
                output = output.detach().requires_grad_(True)
            kept[name] = output
            return output

        return hook

    handles = [m.register_forward_hook(keep(name)) for name, m in modules.items()]
    try:
        # A caller inside inference_mode/no_grad still gets gradients here.
        with inference_semantics(model), torch.inference_mode(False), torch.enable_grad():
            x = as_batch(image).to(model_device(model), torch.float32).clone()
            logits = model(x)  # (1, classes)
            probs = logits.detach().softmax(dim=1)[0]
            c = int(probs.argmax()) if class_index is None else class_index
            outputs = [kept[name] for name in modules]  # each (1, C_k, h_k, w_k)
            grads = torch.autograd.grad(logits[0, c], outputs)  # one backward for all of them
            cams = {}
            for name, activation, grad in zip(modules, outputs, grads):
                weights = grad.mean(dim=(2, 3), keepdim=True)  # (1, C, 1, 1): alpha_k^c of the paper
                cams[name] = F.relu((weights * activation.detach()).sum(dim=1))[0]  # (h, w)
    finally:
        for handle in handles:
            handle.remove()
    return c, probs, cams, (x.shape[-2], x.shape[-1])


def _check_class(model: ResNet, class_index: int | None) -> None:
    if class_index is not None and class_index not in range(model.num_classes):
        raise ValueError(f"class index must be 0..{model.num_classes - 1}, got {class_index}")


def colorize(values: np.ndarray, colormap: str = "jet") -> np.ndarray:
    """Map values in [0, 1] (clipped) to RGB colours: uint8 array of shape ``values.shape + (3,)``."""
    if colormap not in _COLORMAPS:
        raise ValueError(f"unknown colour map {colormap!r}; choose from {', '.join(COLORMAPS)}")
    anchors = _COLORMAPS[colormap]
    positions = [p for p, _ in anchors]
    v = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64)), 0.0, 1.0)
    rgb = np.stack([np.interp(v, positions, [c[ch] for _, c in anchors]) for ch in range(3)], axis=-1)
    return np.round(rgb * 255).astype(np.uint8)


def network_view(image: torch.Tensor) -> Image.Image:
    """The RGB picture the network saw: a preprocessed image (3, H, W) with the ImageNet
    normalisation undone, so the heat map lines up pixel for pixel (the resize and crop are
    already in the tensor). Exact: the normalisation is undone far within half a grey level."""
    x = as_batch(image)[0].detach().to("cpu", torch.float32)
    mean = torch.as_tensor(IMAGENET_MEAN).view(-1, 1, 1)
    std = torch.as_tensor(IMAGENET_STD).view(-1, 1, 1)
    pixels = (x * std + mean).mul(255).round().clamp(0, 255).to(torch.uint8)  # (3, H, W)
    return Image.fromarray(pixels.permute(1, 2, 0).contiguous().numpy())


def overlay(image: Image.Image, heatmap: np.ndarray, opacity: float = 0.5, colormap: str = "jet") -> Image.Image:
    """Blend the coloured ``heatmap`` (H, W) over ``image``: ``(1 - opacity) * image + opacity * colour``.

    The heat map is resized bilinearly to the image if their sizes differ, so pass the image the
    network saw (resized and centre-cropped) for the map to line up.
    """
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be between 0 and 1, got {opacity}")
    if heatmap.ndim != 2:
        raise ValueError(f"expected a heat map of shape (H, W), got {heatmap.shape}")
    rgb = image.convert("RGB")
    heat = np.asarray(heatmap, dtype=np.float32)
    if heat.shape != (rgb.height, rgb.width):
        heat = np.asarray(Image.fromarray(heat).resize(rgb.size, Image.Resampling.BILINEAR))
    colour = colorize(heat, colormap).astype(np.float32)
    base = np.asarray(rgb, dtype=np.float32)
    blended = (1.0 - opacity) * base + opacity * colour
    return Image.fromarray(np.round(blended).astype(np.uint8))
