"""What a gradient-lab run returns: one row per weighted layer and the run's loss, verdict and exact
conditions, as frozen plain values safe to hand across threads. Pure Python; part of
explorer.core.gradients.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class LayerGrad:
    """One weighted layer: L2 norm of its weight gradient and std of its output (after BN, before
    ReLU; the fc's logits). ``None`` where the layer did not take part (lesioned branch, projection
    of a block whose shortcut is off)."""

    name: str  # module path, e.g. "layer1.0.conv2"
    stage: str  # "stage1" (stem) .. "stage5", "head"
    grad_norm: float | None
    activation_std: float | None
    shortcut: bool  # True for a projection-shortcut conv


@dataclass(frozen=True)
class GradResult:
    """One run, as plain Python values (safe to hand across threads)."""

    shortcuts: bool
    config: dict
    loss: float
    verdict: str
    layers: tuple[LayerGrad, ...]
    device: str
    label: str = ""  # "residual", "plain" or "plain in layer2.1,..."

    def to_dict(self) -> dict:
        return {
            "shortcuts": self.shortcuts,
            "config": self.config,
            "loss": self.loss,
            "verdict": self.verdict,
            "layers": [asdict(layer) for layer in self.layers],
            "device": self.device,
            "label": self.label,
        }
