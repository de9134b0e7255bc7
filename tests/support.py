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


# -- Test data: checkpoints and images made in tmp_path (never downloaded) ---------------------------


def random_stats_model(seed: int) -> ResNet50:
    """He-initialised ResNet-50 with non-trivial BatchNorm running statistics (a fresh model's are
    0 and 1, which would hide a BN folded or read wrongly)."""
    model = ResNet50(seed=seed)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, buffer in model.named_buffers():
            if name.endswith("running_mean"):
                buffer.copy_(0.1 * torch.randn(buffer.shape, generator=generator))
            elif name.endswith("running_var"):
                buffer.copy_(0.5 + torch.rand(buffer.shape, generator=generator))
    return model.eval()


def save_checkpoint(path, model: torch.nn.Module | None = None, seed: int = 0):
    """``torch.save`` of a state_dict (the model's, or a plain seeded ResNet-50's) at ``path``."""
    torch.save((model if model is not None else ResNet50(seed=seed)).state_dict(), path)
    return path


def pattern_image(path, size: tuple[int, int] = (80, 60), seed: int = 0, mode: str = "RGB"):
    """A small deterministic picture (stripes and gradients that differ by ``seed``) saved at
    ``path`` in the format its suffix names."""
    from PIL import Image

    width, height = size
    image = Image.new(mode, size)
    channels = len(mode)
    image.putdata(
        [
            ((x * (3 + seed) + 70 * seed) % 256, (y * (4 + seed)) % 256, (x * y + 40 * seed) % 256, 255)[:channels]
            if channels > 1
            else (x * 3 + y * 5 + seed) % 256
            for y in range(height)
            for x in range(width)
        ]
    )
    image.save(path)
    return path


def not_an_image(path):
    """A text file posing as an image (its suffix says JPEG)."""
    path.write_text("this is not a JPEG")
    return path
