"""The memory a request needs, estimated from the stage table before anything is allocated, and the
limit this machine sets, so that an absurd input size, class count or batch is refused in one line
instead of being attempted (``summary --input-size 100000 100000`` would need about 112 GB).

Core layer, pure Python (the counts are exact: a test compares them with ``summarize()``).
"""

from __future__ import annotations

import os
from pathlib import Path

from explorer.core.stages import RESNET50_STAGES, STEM_CHANNELS

FLOAT32_BYTES = 4
# Share of the machine's memory (or of the container's limit) a request may plan to use: the
# process itself, the OS and the other programs need the rest.
MEMORY_FRACTION = 0.8
# Pillow keeps RGB pixels in 4 bytes; the resize before the crop is capped at this many pixels by
# preprocess (explorer.core.images), which resamples only the crop window of anything larger.
_PIL_RGB_BYTES = 4
MAX_RESIZED_PIXELS = 16_000_000


class MemoryLimitError(ValueError):
    """A request needs more memory than this machine allows; ``str(e)`` is one line saying the limit."""


def _conv_side(side: int, kernel: int, stride: int, padding: int) -> int:
    return (side + 2 * padding - kernel) // stride + 1


def layer_output_elements(height: int, width: int, num_classes: int = 1000) -> list[int]:
    """Elements per image of every leaf layer's output (each conv, BN, ReLU, pool and the fc), in
    network order: what ``summarize()`` reports as activation memory, divided by 4."""
    h, w = _conv_side(height, 7, 2, 3), _conv_side(width, 7, 2, 3)  # conv1 7x7/2
    sizes = [STEM_CHANNELS * h * w] * 3  # conv1, bn1, relu
    h, w = _conv_side(h, 3, 2, 1), _conv_side(w, 3, 2, 1)  # max-pool 3x3/2
    sizes.append(STEM_CHANNELS * h * w)
    for spec in RESNET50_STAGES:
        f1, f2, f3 = spec.filters
        for index in range(spec.blocks):
            stride = spec.stride if index == 0 else 1
            sizes += [f1 * h * w] * 3  # conv1, bn1, act1
            h, w = _conv_side(h, 3, stride, 1), _conv_side(w, 3, stride, 1)
            sizes += [f2 * h * w] * 3 + [f3 * h * w] * 2  # conv2, bn2, act2, conv3, bn3
            if index == 0:
                sizes += [f3 * h * w] * 2  # the projection shortcut: conv, BN
            sizes.append(f3 * h * w)  # act3 after the addition
    return [*sizes, RESNET50_STAGES[-1].filters[2], num_classes]  # avgpool, fc


def parameter_count(num_classes: int = 1000) -> int:
    """Parameters of ResNet-50 with ``num_classes`` outputs (25,557,032 for 1000)."""
    count = 3 * STEM_CHANNELS * 7 * 7 + 2 * STEM_CHANNELS  # conv1 (no bias), bn1
    channels = STEM_CHANNELS
    for spec in RESNET50_STAGES:
        f1, f2, f3 = spec.filters
        for index in range(spec.blocks):
            count += channels * f1 + f1 * f2 * 9 + f2 * f3 + 2 * (f1 + f2 + f3)
            if index == 0:
                count += channels * f3 + 2 * f3  # projection conv and BN
            channels = f3
    return count + channels * num_classes + num_classes  # fc


def weights_bytes(num_classes: int = 1000) -> int:
    return parameter_count(num_classes) * FLOAT32_BYTES


def inference_bytes(batch: int, height: int, width: int, num_classes: int = 1000, models: int = 1) -> int:
    """A forward pass without autograd: ``models`` copies of the weights, the input, and the few
    largest tensors alive at once (a block's input kept for its shortcut, a layer's input and
    output; bounded by four times the largest output)."""
    largest = max(layer_output_elements(height, width, num_classes))
    per_image = 3 * height * width + 4 * largest
    return models * weights_bytes(num_classes) + batch * per_image * FLOAT32_BYTES


def training_bytes(batch: int, height: int, width: int, num_classes: int = 1000) -> int:
    """A forward and backward pass: weights and their gradients, every layer's output kept for the
    backward pass, and the gradient buffers (bounded by half as much again)."""
    activations = sum(layer_output_elements(height, width, num_classes))
    return 2 * weights_bytes(num_classes) + batch * (3 * height * width + activations * 3 // 2) * FLOAT32_BYTES


def classify_bytes(resize: int, crop: int) -> int:
    """One image through the Classifier: the true weights, the BN-folded copy and a candidate
    during a load; the resized image (capped by preprocess); the forward at ``crop``."""
    resized = min(resize * resize, MAX_RESIZED_PIXELS) * _PIL_RGB_BYTES
    return weights_bytes() + resized + inference_bytes(1, crop, crop, models=2)


def machine_memory_bytes() -> int | None:
    """Physical memory, or the container's (cgroup) limit when lower; None where unknown."""
    candidates = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                candidates.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        try:
            candidates.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
        except (AttributeError, OSError, ValueError):
            pass
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 1 << 60:  # "max" or a huge number: no limit
            candidates.append(int(text))
    return min(candidates) if candidates else None


def memory_limit_bytes() -> int | None:
    """What one request may plan to use: :data:`MEMORY_FRACTION` of :func:`machine_memory_bytes`."""
    total = machine_memory_bytes()
    return None if total is None else int(total * MEMORY_FRACTION)


def gib(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB"


def check_fits(what: str, needed: int) -> None:
    """Raise :class:`MemoryLimitError` when ``needed`` bytes exceed this machine's limit.

    Args:
        what: the request in the user's words, e.g. ``"--batch 400 at 224x224"``.
    """
    limit = memory_limit_bytes()
    if limit is not None and needed > limit:
        total = machine_memory_bytes() or 0
        raise MemoryLimitError(
            f"{what} needs about {gib(needed)} of memory, more than this machine's limit of {gib(limit)} "
            f"({MEMORY_FRACTION:.0%} of its {gib(total)})"
        )
