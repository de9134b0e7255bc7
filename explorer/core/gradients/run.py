"""One gradient-lab run: a fresh ResNet (the config's member, default ResNet-50) built as a config
says, one forward and one backward pass with hooks, per-layer weight-gradient norms and activation
spreads, with or without skip connections (He et al. 2015, Fig. 7; Veit et al. 2016 for lesions;
Yang et al. 2019 for exploding gradients under batch normalisation). Pure PyTorch; part of explorer.core.gradients.

Layer order of a result: the weighted main-path layers in network order (stem ``conv1``, then the
convolutions of every block, then ``fc``: ``spec.depth`` of them, 50 for ResNet-50, 18 for
ResNet-18), with each convolutional block's projection conv (``layerN.0.downsample.0``, flagged
``shortcut=True``) inserted right after that block's last conv: 54 rows for ResNet-50, 21 for ResNet-18.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

import torch
import torch.nn.functional as F

from explorer.core.gradients.config import GradConfig, shortcut_variants, validate
from explorer.core.gradients.layers import gradient_layers, stage_modules
from explorer.core.gradients.result import GradResult, LayerGrad
from explorer.core.gradients.verdict import trend_verdict, versus_clause
from explorer.core.network.blocks import stage_of, stages_of
from explorer.core.network.model import ResNet
from explorer.core.network.stages import input_size_problem
from explorer.core.progress import Cancel, Progress, Steps

# -- building a run ------------------------------------------------------------------------------


def build_model(config: GradConfig, progress: Progress | None = None, cancel: Cancel | None = None) -> ResNet:
    """The network ``config`` describes, switched and in eval mode, on the CPU.

    Args:
        progress: told of a download of named weights, as a lab step.
        cancel: polled while named weights download; True raises Cancelled.
    """
    return _build(config, progress, cancel)[0]


def _build(config: GradConfig, progress: Progress | None, cancel: Cancel | None) -> tuple[ResNet, float]:
    """The model and the resize/crop ratio its weights were evaluated with, so image inputs are
    prepared the way those weights expect."""
    validate(config)
    ratio = 256 / 224
    if config.init == "weights":
        from explorer.core.loading.pipeline import load_for_lab

        # The member the weights hold (a file's own head included), which must be config.arch.
        model, ratio = load_for_lab(config.weights, config.arch, config.seed, progress, cancel)
    else:
        # A plain build (not the meta device: see ResNet); the layers' own default initialisation
        # that initialize() then overwrites costs 0.2 s and releases the GIL.
        model = ResNet(config.arch, num_classes=config.num_classes, init=config.init, seed=config.seed)
    if not config.shortcuts:
        model.set_shortcuts(False, config.plain_blocks)
    if config.lesion:
        model.set_residual(False, config.lesion)
    model.set_normalization(config.norm)
    model.eval()  # no mode relies on train(): batch/frozen/none are explicit, and dropout is absent
    return model, ratio


def make_inputs(config: GradConfig, resize_ratio: float = 256 / 224) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The input batch and, for ``targets="random"``, the labels, on the CPU.

    Noise and labels come from one local generator seeded with ``config.seed``: first
    ``randn(batch, 3, size, size)`` (noise only), then ``randint(num_classes, (batch,))``. With images,
    the batch is the images in order (shorter side resized to ``size * resize_ratio``, centre-cropped
    to ``size``).
    """
    generator = torch.Generator().manual_seed(config.seed)
    if config.inputs:
        from explorer.core.images import load_image, preprocess

        resize = round(config.size * resize_ratio)
        x = torch.stack([preprocess(load_image(path), resize=resize, crop=config.size) for path in config.inputs])
    else:
        x = torch.randn(config.batch, 3, config.size, config.size, generator=generator)  # (B, 3, H, W)
    if config.targets == "top1":
        return x, None  # decided by the model's own logits during the pass
    return x, torch.randint(config.num_classes, (x.shape[0],), generator=generator)


def variant_label(config: GradConfig) -> str:
    if config.shortcuts:
        return "residual"
    if config.plain_blocks is None:
        return "plain"
    return "plain in " + ",".join(config.plain_blocks)


# -- the pass ------------------------------------------------------------------------------------


def run_gradients(
    config: GradConfig, device: str = "cpu", progress: Progress | None = None, cancel: Cancel | None = None
) -> GradResult:
    """One forward and backward pass of ``config`` on a fresh model; see the module docstring.

    Args:
        device: "cpu", "cuda", "cuda:1", ... (the model is initialised on the CPU, then moved, so
            the weights do not depend on the device).
        progress: called as ``progress(text, fraction)`` after building and after every stage of
            the forward and of the backward pass.
        cancel: polled at the same points; returning True raises :class:`Cancelled`.
    """
    return run_comparison(config, "on" if config.shortcuts else "off", device, progress, cancel)[0]


def run_comparison(
    config: GradConfig,
    shortcuts: str = "both",
    device: str = "cpu",
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> list[GradResult]:
    """Run ``config`` with shortcuts ``"on"``, ``"off"`` or ``"both"`` (residual first, then plain).

    Both variants share one freshly built model and one input batch, only the shortcut switches
    differ. With both, the plain run's verdict also says how its stem gradient compares with the
    residual network's, the clearest single number for why skip connections matter.
    """
    variants = [replace(config, shortcuts=on) for on in shortcut_variants(shortcuts)]
    for variant in variants:
        validate(variant)
    problem = input_size_problem(config.size, config.size)
    if problem:  # it would run, on padding: refuse rather than report gradients of nothing
        raise ValueError(problem)
    _check_device(device)
    stages_per_pass = 2 * (len(stages_of(config.arch)) + 2)  # stem, 4 stages, head; forward and backward
    progress_steps = Steps(1 + len(variants) * stages_per_pass, progress, cancel)

    progress_steps.check()

    model, resize_ratio = _build(variants[0], progress, cancel)
    model.to(device)
    # A file's fine-tuned head decides how many classes the random targets are drawn from.
    variants = [replace(v, num_classes=model.num_classes) for v in variants]
    x, targets = make_inputs(variants[0], resize_ratio)
    x = x.to(device)
    progress_steps("model built")
    results: list[GradResult] = []
    for variant in variants:
        model.set_shortcuts(True)
        if not variant.shortcuts:
            model.set_shortcuts(False, variant.plain_blocks)
        model.zero_grad(set_to_none=True)  # a layer unused in this variant must report no gradient
        results.append(_one_pass(model, variant, x, targets, progress_steps))
    if len(results) == 2:
        results[1] = replace(results[1], verdict=results[1].verdict + versus_clause(_stem(results[1]), _stem(results[0])))
    return results


def _check_device(device: str) -> None:
    """Refuse an unknown or absent device before any work, as a ValueError with a readable message."""
    try:
        kind = torch.device(device).type
    except RuntimeError:
        raise ValueError(f"unknown device {device!r}; use cpu, cuda or cuda:N") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but CUDA is not available on this machine")


def _one_pass(
    model: ResNet, config: GradConfig, x: torch.Tensor, targets: torch.Tensor | None, step: Steps
) -> GradResult:
    label = variant_label(config)
    stages = stage_modules(model)
    stds: dict[str, torch.Tensor] = {}
    handles = []
    rows = gradient_layers(model)
    for name, _, out_module, _ in rows:
        handles.append(out_module.register_forward_hook(lambda m, i, out, name=name: stds.__setitem__(name, out.detach().std())))

    def on_stage_output(index: int, out: torch.Tensor) -> None:
        step(f"{label}: forward {stages[index][0]}")
        # The gradient w.r.t. this stage's output exists once backward has passed every later stage;
        # the head's output is the logits, whose gradient marks the start of backward.
        if out.requires_grad and index + 1 < len(stages):
            out.register_hook(lambda grad: step(f"{label}: backward {stages[index + 1][0]}"))

    for index, (_, module) in enumerate(stages):
        handles.append(module.register_forward_hook(lambda m, i, out, index=index: on_stage_output(index, out)))
    try:
        logits = model(x)  # (B, num_classes)
        if targets is None:
            targets = logits.detach().argmax(dim=1)
        loss = F.cross_entropy(logits, targets.to(x.device))
        loss.backward()
    finally:
        for handle in handles:
            handle.remove()
    step(f"{label}: backward {stages[0][0]}")

    # float64: the weight gradients of a plain, unnormalised net are ~1e-20, whose squares underflow
    # float32 and would make the norm wrong (or zero).
    norms = {n: torch.linalg.vector_norm(w.weight.grad, dtype=torch.float64) for n, w, _, _ in rows if w.weight.grad is not None}
    grads, spreads = _to_floats(norms), _to_floats(stds)
    layers = tuple(
        LayerGrad(name, stage_of(name, model.stages), grads.get(name), spreads.get(name), projection)
        for name, _, _, projection in rows
    )
    return GradResult(
        shortcuts=config.shortcuts,
        config=_config_dict(replace(config, batch=int(x.shape[0]))),
        loss=loss.item(),
        verdict=trend_verdict(label, grads.get("fc"), grads.get(rows[0][0])),
        layers=layers,
        device=str(x.device),
        label=label,
    )


# -- plain values ----------------------------------------------------------------------------------


def _stem(result: GradResult) -> float | None:
    return result.layers[0].grad_norm


def _to_floats(tensors: dict[str, torch.Tensor]) -> dict[str, float]:
    """Scalars to Python floats with one device synchronisation instead of one per layer."""
    if not tensors:
        return {}
    return dict(zip(tensors, torch.stack([t.double() for t in tensors.values()]).tolist()))


def _config_dict(config: GradConfig) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}
