"""Stage 4 of loading (``explorer.core.loading.pipeline``), the architecture of a checkpoint, read
from its state dict alone: block type from the presence of ``conv3``, blocks per stage from the
``layerN.i`` keys, width and groups from the weight shapes, classes from ``fc``; then every key and
shape checked against that member's (``explorer.core.network.counts.state_shapes``), so that what
follows (the memory estimate, the build) is sized by a network the file really holds. Also a human
guess at what a file that is none of the family is.

Core layer, pure Python over the tensors' ``shape`` (no torch import: any mapping of names to
objects with a ``shape`` works), so a caller can read the architecture before building a model.
Work is bounded by the number of keys: a stray ``layer3.1000000000.conv1.weight`` is refused as a
gap before any table of a billion blocks is made.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from explorer.core.network.counts import BATCHNORM_COUNTER, state_shapes
from explorer.core.network.stages import RESNETS, STAGE_PLANES, STEM_CHANNELS, ResNetSpec
from explorer.core.text import shown


class ArchitectureError(ValueError):
    """A state dict that is no member of the family; ``str(e)`` is one line with a guess."""


@dataclass(frozen=True)
class Architecture:
    """What a state dict holds: the member (one of ``RESNETS`` where it matches, else a spec named
    after its shape) and the classes of its head."""

    spec: ResNetSpec
    num_classes: int

    @property
    def known(self) -> bool:
        return RESNETS.get(self.spec.name) == self.spec


def _shape(state: Mapping[str, Any], key: str) -> tuple[int, ...] | None:
    value = state.get(key)
    return None if value is None else tuple(int(d) for d in value.shape)


# A block's key: "layer<stage>.<index>." (an index of more digits than any network could have is no
# block's: such a key is then simply unexpected, and int() is never asked for a 5000-digit number).
_BLOCK_KEY = re.compile(r"layer([1-4])\.([0-9]{1,18})\.")


def _block_indices(state: Mapping[str, Any], stage: int) -> dict[int, str]:
    """The block indices of ``layer<stage>`` in the keys, each with one key that has it."""
    found: dict[int, str] = {}
    for key in state:
        if (m := _BLOCK_KEY.match(key)) and int(m.group(1)) == stage:
            found.setdefault(int(m.group(2)), key)
    return found


def stage_depths(state: Mapping[str, Any]) -> tuple[int, ...]:
    """Blocks per stage from the ``layerN.i.`` keys (0 for a stage without any)."""
    return tuple(max(found) + 1 if (found := _block_indices(state, stage)) else 0 for stage in range(1, 5))


def _gap(state: Mapping[str, Any]) -> str | None:
    """Why the blocks of some stage are not numbered 0, 1, 2, ... without a hole, or None. A block
    index past the others (``layer3.999`` after ``layer3.1``) would otherwise make a network of a
    thousand blocks out of one stray key."""
    for stage in range(1, 5):
        found = _block_indices(state, stage)
        missing = next((i for i in range(len(found)) if i not in found), None)
        if missing is not None:
            beyond = found[min(i for i in found if i > missing)]
            return f"the blocks of layer{stage} are not numbered 0, 1, 2, ...: block {missing} is missing, {shown(beyond)} is there (a stray key?)"
    return None


def infer_architecture(state: Mapping[str, Any]) -> Architecture:
    """The family member a (prefix-free) state dict holds, from its keys and shapes; only the shape
    of the network (:func:`check_keys` then checks every key and shape against it).

    Raises:
        ArchitectureError: not a torchvision-style ResNet (deep stem, other key names, missing
            stages, blocks or head, unusual widths), with the guess of :func:`guess_architecture`.
    """

    def refuse(why: str) -> ArchitectureError:
        guess = guess_architecture(state)
        return ArchitectureError(f"{why}{f'; looks like {guess}' if guess else ''}")

    gap = _gap(state)
    if gap:
        raise ArchitectureError(f"not a whole ResNet: {gap}")
    depths = stage_depths(state)
    stem, fc = _shape(state, "conv1.weight"), _shape(state, "fc.weight")
    if stem != (STEM_CHANNELS, 3, 7, 7) or not all(depths) or fc is None or len(fc) != 2:
        raise refuse("not a torchvision-style ResNet (a 7x7 conv1 of 64 channels, layer1..layer4 and an fc)")
    bottleneck = "layer1.0.conv3.weight" in state
    conv1, conv2 = _shape(state, "layer1.0.conv1.weight"), _shape(state, "layer1.0.conv2.weight")
    last = _shape(state, f"layer4.{depths[3] - 1}.{'conv3' if bottleneck else 'conv2'}.weight")
    if conv1 is None or conv2 is None or last is None or len(conv2) != 4 or conv2[1] < 1 or not last:
        raise refuse("its first block has no conv1/conv2 weights")
    planes = STAGE_PLANES[0]
    if bottleneck:
        width = conv1[0]
        if width % conv2[1]:
            raise refuse(f"its first 3x3 convolution takes {conv2[1]} channels per group, which do not divide its {width} channels")
        if last[0] < STAGE_PLANES[3] or last[0] % STAGE_PLANES[3]:
            raise refuse(f"its last block puts out {last[0]} channels, not a multiple of {STAGE_PLANES[3]} (the last stage's planes)")
        groups = width // conv2[1]
        per_group, expansion = width // groups, last[0] // STAGE_PLANES[3]
        kind = "bottleneck"
    else:
        width, groups, per_group, expansion, kind = conv1[0], 1, planes, 1, "basic"
        if width != planes:
            raise refuse(f"its basic blocks are {width} wide, not torchvision's {planes}")
    try:
        shape = ResNetSpec("custom", "", kind, depths, groups, per_group, expansion)  # type: ignore[arg-type]
    except ValueError as exc:
        raise refuse(str(exc)) from None
    if groups * per_group != width or shape.stages[0].filters[0] != width:
        raise refuse(f"its first 3x3 convolution ({width} channels in {groups} groups) is not a ResNet's")
    known = next((s for s in RESNETS.values() if (s.block, s.layers, s.groups, s.width_per_group, s.expansion) ==
                  (shape.block, shape.layers, shape.groups, shape.width_per_group, shape.expansion)), None)
    return Architecture(known or custom_spec(shape), fc[0])


def check_keys(state: Mapping[str, Any], spec: ResNetSpec, num_classes: int) -> None:
    """Every key and shape of ``state`` against those of ``spec`` with ``num_classes`` outputs
    (the BatchNorm counter may be absent: checkpoints saved before PyTorch 0.4.1 have none, and it
    only matters for momentum=None training).

    Raises:
        ArchitectureError: missing, unexpected or mis-shaped keys, a few of each named, with a
            guess at what the file is when that is news.
    """
    expected = state_shapes(spec, num_classes)
    missing = [k for k in expected if k not in state and not k.endswith(BATCHNORM_COUNTER)]
    unexpected = [k for k in state if k not in expected]
    misshaped = [k for k in expected if k in state and _shape(state, k) != expected[k]]
    if not (missing or unexpected or misshaped):
        return
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing ({_some(missing)})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected ({_some(unexpected)})")
    if misshaped:
        shapes = [f"{k} {list(_shape(state, k) or ())} vs {list(expected[k])}" for k in misshaped]
        problems.append(f"{len(misshaped)} mis-shaped ({_some(shapes)})")
    guess = None if _gap(state) else guess_architecture(state, num_classes)
    if guess == f"a {spec.title} checkpoint":  # the same member with other keys: no news
        guess = None
    looks = f"; looks like {guess}" if guess else ""
    raise ArchitectureError(f"does not fit {spec.title}{looks}: {'; '.join(problems)}")


def architecture_of(state: Mapping[str, Any]) -> Architecture:
    """Stage 4: the member a state dict holds (:func:`infer_architecture`) once every key and shape
    has been checked against it (:func:`check_keys`). Raises ArchitectureError (one line)."""
    found = infer_architecture(state)
    check_keys(state, found.spec, found.num_classes)
    return found


def _some(items: list[str], count: int = 3) -> str:
    more = f" and {len(items) - count} more" if len(items) > count else ""
    return ", ".join(shown(item) for item in items[:count]) + more


def custom_spec(shape: ResNetSpec) -> ResNetSpec:
    """A spec for a shape outside the table (e.g. timm's resnet26, bottlenecks 2-2-2-2), named by it."""
    blocks = "-".join(map(str, shape.layers))
    width = f"-{shape.groups}x{shape.width_per_group}d" if (shape.groups, shape.width_per_group) != (1, 64) else ""
    return ResNetSpec(
        f"resnet-{shape.block}-{blocks}{width}", f"ResNet ({shape.block} blocks {blocks}{width})", shape.block, shape.layers,
        shape.groups, shape.width_per_group, shape.expansion,
    )


_NAMED_DEPTHS = {
    (False, (2, 2, 2, 2)): "ResNet-18",
    (False, (3, 4, 6, 3)): "ResNet-34",
    (True, (3, 4, 6, 3)): "ResNet-50",
    (True, (3, 4, 23, 3)): "ResNet-101",
    (True, (3, 8, 36, 3)): "ResNet-152",
}


def guess_architecture(state: Mapping[str, Any], num_classes: int = 1000) -> str | None:
    """A human guess at what a checkpoint is, from its keys and shapes, or None: said when a file
    does not fit the model it is loaded into, or is no member of the family at all."""
    if any(k.startswith(("resnet.embedder", "embedder.")) for k in state):
        return "a Hugging Face transformers ResNet (different key names; convert it to torchvision's)"
    if "conv1.0.weight" in state:
        return "a ResNet with a deep 3-conv stem (timm's ResNet-C/D variants)"
    if any(".se." in k or ".attn." in k for k in state):
        return "a ResNet with squeeze-and-excitation or attention modules (timm's seresnet/ecaresnet), not a plain one"
    depths = stage_depths(state)
    if not any(depths):
        return "not a ResNet (no layer1..layer4 keys)"
    bottleneck = any(k.endswith(".conv3.weight") for k in state)
    name = _NAMED_DEPTHS.get((bottleneck, depths))
    conv2 = _shape(state, "layer1.0.conv2.weight")
    conv1 = _shape(state, "layer1.0.conv1.weight")
    if name and bottleneck and conv1 and conv2 and len(conv2) == 4 and conv2[1] != conv1[0]:
        name = name.replace("ResNet", "ResNeXt") + " (grouped 3x3 convolutions)"
    elif name and bottleneck and conv1 and conv1[0] != STAGE_PLANES[0]:
        name = "Wide " + name + " (wider bottlenecks)"
    fc = _shape(state, "fc.weight")
    if name and fc is not None and len(fc) == 2 and fc[0] != num_classes:
        return f"a {name} fine-tuned for {fc[0]} classes (this model has {num_classes})"
    if name:
        return f"a {name} checkpoint"
    kind = "bottleneck" if bottleneck else "basic-block"
    return f"a {kind} ResNet with {'-'.join(map(str, depths))} blocks per stage"
