"""The 1000 ImageNet-1k class names in torchvision's index order, read once from the bundled
``resources/imagenet_classes.txt``. Pure Python (core layer)."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

IMAGENET_CLASS_COUNT = 1000


@lru_cache(maxsize=1)
def _class_names() -> tuple[str, ...]:
    text = files("explorer.resources").joinpath("imagenet_classes.txt").read_text(encoding="utf-8")
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if len(names) != IMAGENET_CLASS_COUNT:
        raise RuntimeError(f"imagenet_classes.txt has {len(names)} names, expected {IMAGENET_CLASS_COUNT}")
    return names


def imagenet_classes() -> list[str]:
    """The 1000 class names, index i = output i of an ImageNet-1k classifier (a fresh list each call)."""
    return list(_class_names())
