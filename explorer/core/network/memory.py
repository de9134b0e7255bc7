"""The memory a request needs, estimated for any member from its layer table (explorer.core.network.counts)
before anything is allocated, and the limit this machine sets, so that an absurd input size, class
count or batch is refused in one line instead of being attempted (``summary --input-size 100000
100000`` would need about 112 GB for ResNet-50).

Core layer, pure Python (the counts are exact: a test compares them with ``summarize()``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from explorer.core.network.counts import FLOAT32_BYTES, layer_table, parameter_total
from explorer.core.network.stages import DEFAULT_ARCH, MIN_INPUT_SIZE, ResNetSpec, resnet_spec

# Share of the machine's memory (or of the container's limit) a request may plan to use: the
# process itself, the OS and the other programs need the rest.
MEMORY_FRACTION = 0.8
# Pillow keeps RGB pixels in 4 bytes; the resize before the crop is capped at this many pixels by
# preprocess (explorer.core.images), which resamples only the crop window of anything larger.
_PIL_RGB_BYTES = 4
MAX_RESIZED_PIXELS = 16_000_000


class MemoryLimitError(ValueError):
    """A request needs more memory than this machine allows; ``str(e)`` is one line saying the limit."""


def layer_output_elements(height: int, width: int, num_classes: int = 1000, arch: str | ResNetSpec = DEFAULT_ARCH) -> list[int]:
    """Elements per image of every leaf layer's output (each conv, BN, ReLU, pool and the fc), in
    network order: what ``summarize()`` reports as activation memory, divided by 4."""
    return [layer.elements for layer in layer_table(resnet_spec(arch), height, width, num_classes)]


def parameter_count(num_classes: int = 1000, arch: str | ResNetSpec = DEFAULT_ARCH) -> int:
    """Parameters of a member with ``num_classes`` outputs (ResNet-50 with 1000: 25,557,032)."""
    return parameter_total(resnet_spec(arch), num_classes)


def weights_bytes(num_classes: int = 1000, arch: str | ResNetSpec = DEFAULT_ARCH) -> int:
    return parameter_count(num_classes, arch) * FLOAT32_BYTES


def inference_bytes(
    batch: int, height: int, width: int, num_classes: int = 1000, models: int = 1, arch: str | ResNetSpec = DEFAULT_ARCH
) -> int:
    """A forward pass without autograd: ``models`` copies of the weights, the input, and the few
    largest tensors alive at once (a block's input kept for its shortcut, a layer's input and
    output; bounded by four times the largest output)."""
    largest = max(layer_output_elements(height, width, num_classes, arch))
    per_image = 3 * height * width + 4 * largest
    return models * weights_bytes(num_classes, arch) + batch * per_image * FLOAT32_BYTES


def training_bytes(batch: int, height: int, width: int, num_classes: int = 1000, arch: str | ResNetSpec = DEFAULT_ARCH) -> int:
    """A forward and backward pass: weights and their gradients, every layer's output kept for the
    backward pass, and the gradient buffers (bounded by half as much again)."""
    activations = sum(layer_output_elements(height, width, num_classes, arch))
    return 2 * weights_bytes(num_classes, arch) + batch * (3 * height * width + activations * 3 // 2) * FLOAT32_BYTES


def classify_bytes(resize: int, crop: int, arch: str | ResNetSpec = DEFAULT_ARCH) -> int:
    """One image through the Classifier: the true weights, the BN-folded copy and a candidate
    during a load; the resized image (capped by preprocess); the forward at ``crop``."""
    resized = min(resize * resize, MAX_RESIZED_PIXELS) * _PIL_RGB_BYTES
    return weights_bytes(arch=arch) + resized + inference_bytes(1, crop, crop, models=2, arch=arch)


def loading_bytes(num_classes: int = 1000, arch: str | ResNetSpec = DEFAULT_ARCH) -> int:
    """Loading a checkpoint (explorer.core.loading): its tensors as read, counted at their full
    logical size (a stride-0 tensor takes a few bytes on disk and in memory, but the model it fills
    does not), the model built for them with a converted copy of the weights, and the test forward
    pass of two of the smallest inputs."""
    return weights_bytes(num_classes, arch) + inference_bytes(2, MIN_INPUT_SIZE, MIN_INPUT_SIZE, num_classes, models=2, arch=arch)


def race_bytes(
    batch: int, size: int, num_classes: int, images: int, validation_batch: int,
    networks: Sequence[str | ResNetSpec] = (DEFAULT_ARCH,),
) -> int:
    """A training race (explorer.core.race): ``images`` float32 pictures of ``size`` pixels, held
    twice while the set is split into training and validation; then each of ``networks`` twice
    (residual and plain twin; a depth race lists several), each with its weights, gradients and SGD
    momentum, and one network's training step at a time (its activations are freed before the
    next's) or the validation pass of up to ``validation_batch`` images without autograd, whichever
    is larger."""
    weights = [weights_bytes(num_classes, arch) for arch in networks]
    step = max(training_bytes(batch, size, size, num_classes, arch) - 2 * w for arch, w in zip(networks, weights))
    shown = min(images, validation_batch)
    validation = max(inference_bytes(shown, size, size, num_classes, arch=arch) - w for arch, w in zip(networks, weights))
    data = images * 3 * size * size * FLOAT32_BYTES
    return max(2 * data, data + 2 * 3 * sum(weights) + max(step, validation))


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
