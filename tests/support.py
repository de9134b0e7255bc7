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


# -- training race: image folders in ImageFolder layout ------------------------------------------

RACE_COLOURS = ((220, 40, 40), (30, 90, 230), (240, 220, 30), (40, 180, 70))


def image_folder(root, counts: dict[str, int], bad: dict[str, str] | None = None, side: int = 20):
    """``root/<class>/<n>.png`` with ``counts[class]`` images each: class k is a seeded noisy version of
    colour k of :data:`RACE_COLOURS` (so the classes are easy to tell apart), plus ``bad`` files
    (``"class/name": contents``, written as raw text). Returns ``root``."""
    import numpy as np
    from PIL import Image

    gen = np.random.default_rng(0)
    for k, (name, count) in enumerate(counts.items()):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            noise = gen.integers(-40, 41, size=(side, side, 3))
            pixels = np.clip(np.array(RACE_COLOURS[k % len(RACE_COLOURS)]) + noise, 0, 255).astype(np.uint8)
            Image.fromarray(pixels, "RGB").save(folder / f"{i}.png")
    for relative, contents in (bad or {}).items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(contents)
    return root
