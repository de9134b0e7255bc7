"""Named gradient-lab settings, each chosen to show one effect (documented in docs/gradient-lab.md,
"Presets and verdicts"). Pure Python; part of explorer.core.gradients, used by the ``grads`` CLI and the GUI.
"""

from __future__ import annotations

from dataclasses import dataclass

from explorer.core.gradients.config import GradConfig


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    description: str
    config: GradConfig


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "init-step",
            "Training step at initialisation",
            "Batch statistics, He init, seeded noise and labels: the first step of training. With batch "
            "normalisation a deep plain network's gradients grow toward the input (Yang et al. 2019); "
            "the residual network's grow far less. The verdict says which, as measured.",
            GradConfig(norm="batch", init="he"),
        ),
        Preset(
            "no-norm",
            "No normalisation",
            "No BatchNorm, PyTorch's default init (variance 1/(3 fan_in)): every plain layer scales its "
            "signal by about 0.4, forward and backward, so after 49 layers the plain network's gradients "
            "all but vanish, while the identity shortcuts carry signal and gradient through unchanged.",
            GradConfig(norm="none", init="pytorch"),
        ),
        Preset(
            "trained",
            "Trained weights",
            "ImageNet weights with their running statistics, your images, the model's own top-1 as target: "
            "the gradients a fine-tuning step would see. The blocks were trained to add a residual to "
            "their shortcut, so the plain run computes something the weights never learnt: compare the losses.",
            GradConfig(norm="frozen", init="weights", weights="imagenet-v2", targets="top1"),
        ),
    )
}
