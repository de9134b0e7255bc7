"""Test helpers shared by several test files (importable because pyproject puts tests/ on the path)."""

import torch

from explorer.core.model import ResNet50, SwitchableBatchNorm2d


def lively_model(seed: int = 0) -> ResNet50:
    """A seeded model with random BN statistics and a sharpened classifier, so activations, heat
    maps and lesions give probabilities that are neither flat nor saturated (unlike a fresh
    initialisation, whose outputs are nearly constant)."""
    model = ResNet50(seed=seed)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, SwitchableBatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(n, generator=gen) * 0.5 + (0.0 if name.endswith("bn3") else 0.5))
                m.bias.copy_(torch.randn(n, generator=gen) * 0.1)
        model.fc.weight.mul_(20)
    return model.eval()
