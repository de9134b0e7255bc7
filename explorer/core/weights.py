"""ResNet-50 weights: torchvision's published ImageNet checkpoints (downloaded into torch.hub's
cache), local ``.pth``/``.pt``/``.bin``/``.safetensors`` files, or a seeded random initialisation.

Core layer, pure PyTorch (+ safetensors). Pickled checkpoints are read with
``torch.load(weights_only=True)`` only, so a file cannot run code. Loading is atomic: every key, shape,
dtype and value is checked before the model is touched, and a mismatch is explained in one line with a
guess at what the file is. timm's ``resnet50`` uses torchvision's key names (checked against timm
1.x), so timm checkpoints load like torchvision's; DataParallel/DDP/``torch.compile`` prefixes and
``state_dict``/``model`` nesting are unwrapped.
"""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import torch

from explorer.core import download
from explorer.core.model import ResNet50


class WeightsError(ValueError):
    """Weights could not be loaded; the model is unchanged. ``str(e)`` is one line."""


class WeightsCancelled(WeightsError):
    """The download was cancelled by the caller."""


@dataclass(frozen=True)
class WeightSource:
    """A named source: where to fetch it and the eval transform its accuracy was measured with."""

    label: str
    url: str | None  # None: random initialisation
    filename: str | None
    sha256_prefix: str | None  # torchvision's convention: the part of the file name after the dash
    resize: int
    crop: int


# torchvision's ResNet50_Weights.IMAGENET1K_V2 / _V1 (URLs, transforms and accuracies from its docs).
WEIGHT_SOURCES: dict[str, WeightSource] = {
    "imagenet-v2": WeightSource(
        "ImageNet IMAGENET1K_V2 (torchvision, 80.858% top-1)",
        "https://download.pytorch.org/models/resnet50-11ad3fa6.pth",
        "resnet50-11ad3fa6.pth",
        "11ad3fa6",
        232,
        224,
    ),
    "imagenet-v1": WeightSource(
        "ImageNet IMAGENET1K_V1 (torchvision, 76.13% top-1)",
        "https://download.pytorch.org/models/resnet50-0676ba61.pth",
        "resnet50-0676ba61.pth",
        "0676ba61",
        256,
        224,
    ),
    "random": WeightSource("random initialisation (untrained)", None, None, None, 256, 224),
}
DEFAULT_SOURCE = "imagenet-v2"
CHECKPOINT_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors")
# Containers that training scripts wrap a state_dict in (Lightning/timm: state_dict; torchvision's
# reference scripts: model), tried in this order.
_WRAPPER_KEYS = ("state_dict", "model", "model_state_dict", "module")
# Prefixes added by DataParallel/DDP (module.), torch.compile (_orig_mod.) and Lightning (model.).
_PREFIXES = ("module.", "_orig_mod.", "model.")


@dataclass(frozen=True)
class WeightsInfo:
    """What is loaded, as plain values for display: ``trained=False`` means show "untrained"."""

    source: str  # a WEIGHT_SOURCES name or the file path
    label: str
    trained: bool
    resize: int
    crop: int
    sha256: str | None


def load_weights(
    model: ResNet50,
    source: str,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    seed: int = 0,
) -> WeightsInfo:
    """Load ``source`` (a name in :data:`WEIGHT_SOURCES` or a checkpoint path) into ``model``.

    Args:
        progress: called with (bytes so far, total or 0) while downloading.
        cancel: polled between download chunks; True stops with :class:`WeightsCancelled`.
        seed: seed of the ``random`` initialisation.

    Raises:
        WeightsError: on any problem, before ``model`` is modified.
    """
    spec = WEIGHT_SOURCES.get(source)
    if spec is not None and spec.url is None:
        model.initialize("he", seed=seed)  # also resets every BN's running statistics
        return WeightsInfo(source, f"random (untrained, seed {seed})", False, spec.resize, spec.crop, None)
    path = _fetch(source, spec, progress, cancel) if spec is not None else Path(source)
    state, sha256 = read_checkpoint(path)
    checked = _check_against(model, state, path)
    with torch.no_grad():
        model.load_state_dict(checked, strict=True)
    if spec is not None:
        return WeightsInfo(source, spec.label, True, spec.resize, spec.crop, sha256)
    known = next((name for name, s in WEIGHT_SOURCES.items() if s.sha256_prefix and sha256.startswith(s.sha256_prefix)), None)
    if known is not None:  # a renamed copy of an official file still gets its own transform
        s = WEIGHT_SOURCES[known]
        return WeightsInfo(str(path), f"{path.name} (= {s.label})", True, s.resize, s.crop, sha256)
    return WeightsInfo(str(path), path.name, True, 256, 224, sha256)


def _fetch(
    name: str, spec: WeightSource, progress: Callable[[int, int], None] | None, cancel: Callable[[], bool] | None
) -> Path:
    assert spec.url is not None and spec.filename is not None
    try:
        return download.fetch(spec.url, spec.filename, spec.sha256_prefix, progress, cancel)
    except download.DownloadCancelled as exc:
        raise WeightsCancelled(str(exc)) from None
    except download.DownloadError as exc:
        raise WeightsError(
            f"cannot download {name} weights ({exc}). Offline? Load a local checkpoint file "
            f"({', '.join(CHECKPOINT_SUFFIXES)}), copy {spec.filename} into {download.cache_dir()}, "
            f"or use 'random' (untrained)"
        ) from None


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], str]:
    """The flat, prefix-free tensor dict in a checkpoint file and the file's SHA-256 hex digest.

    Raises:
        WeightsError: missing, empty, not a checkpoint, truncated, or a pickle with code in it.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such file (or a folder); give a checkpoint file or one of {', '.join(WEIGHT_SOURCES)}")
    with path.open("rb") as f:
        head = f.read(16)
    if not head:
        raise WeightsError(f"{path}: empty file")
    if _looks_like_safetensors(head):
        loaded: Any = _load_safetensors(path)
    elif head.startswith(b"PK\x03\x04") or head[0] == 0x80:  # torch.save's zip format, or a legacy pickle
        loaded = _load_torch(path)
    else:
        raise WeightsError(f"{path}: not a PyTorch ({', '.join(CHECKPOINT_SUFFIXES[:3])}) or safetensors checkpoint")
    return normalize_state_dict(loaded, path), download.sha256_of(path)


def _looks_like_safetensors(head: bytes) -> bool:
    # Format: 8-byte little-endian header length, then a JSON header starting with "{".
    return len(head) >= 9 and head[8:9] == b"{" and 2 <= int.from_bytes(head[:8], "little") < 100_000_000


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except Exception as exc:  # SafetensorError, OSError, ...: all mean a bad file
        raise WeightsError(f"{path}: unreadable safetensors file ({_first_line(exc)})") from None


def _load_torch(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only" in str(exc).lower():
            raise WeightsError(
                f"{path}: refused: the file holds Python objects besides tensors, and unpickling them could "
                "run code (only weights_only checkpoints are accepted)"
            ) from None
        raise WeightsError(f"{path}: truncated or corrupt checkpoint ({_first_line(exc)})") from None
    except Exception as exc:  # RuntimeError (bad zip), EOFError, ValueError, ... on damaged files
        raise WeightsError(f"{path}: truncated or corrupt checkpoint ({_first_line(exc)})") from None


def normalize_state_dict(loaded: Any, path: str | Path = "<checkpoint>") -> dict[str, torch.Tensor]:
    """Unwrap ``state_dict``/``model`` nesting, keep the tensors, strip prefixes shared by all keys."""
    for _ in range(len(_WRAPPER_KEYS) + 1):
        if not isinstance(loaded, Mapping):
            break
        inner = next((loaded[k] for k in _WRAPPER_KEYS if isinstance(loaded.get(k), Mapping)), None)
        if inner is None:
            break
        loaded = inner
    if not isinstance(loaded, Mapping):
        raise WeightsError(f"{path}: holds a {type(loaded).__name__}, not a state_dict")
    state = {str(k): v for k, v in loaded.items() if isinstance(v, torch.Tensor)}
    if not state:
        raise WeightsError(f"{path}: contains no tensors")
    stripped = True
    while stripped:
        stripped = False
        for prefix in _PREFIXES:
            if all(k.startswith(prefix) for k in state):
                state = {k[len(prefix):]: v for k, v in state.items()}
                stripped = True
    return state


def _check_against(model: ResNet50, state: dict[str, torch.Tensor], path: Path) -> dict[str, torch.Tensor]:
    """A complete state_dict for ``model`` converted to its dtypes, or WeightsError saying what is off."""
    expected = model.state_dict()
    # Checkpoints saved before PyTorch 0.4.1 (torchvision's V1 file among them) have no
    # num_batches_tracked; it only matters for momentum=None training, so 0 is fine.
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    misshaped = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    if missing or unexpected or misshaped:
        problems = []
        if missing:
            problems.append(f"{len(missing)} missing ({_some(missing)})")
        if unexpected:
            problems.append(f"{len(unexpected)} unexpected ({_some(unexpected)})")
        if misshaped:
            shapes = [f"{k} {list(state[k].shape)} vs {list(expected[k].shape)}" for k in misshaped]
            problems.append(f"{len(misshaped)} mis-shaped ({_some(shapes)})")
        guess = guess_architecture(state, model.num_classes)
        raise WeightsError(f"{path}: does not fit ResNet-50{f'; looks like {guess}' if guess else ''}: {'; '.join(problems)}")
    checked: dict[str, torch.Tensor] = {}
    for key, target in expected.items():
        value = state.get(key)
        if value is None:
            checked[key] = torch.zeros_like(target)
            continue
        if target.is_floating_point() and not value.is_floating_point():
            raise WeightsError(f"{path}: {key} has dtype {value.dtype} (quantised checkpoints are not supported)")
        checked[key] = value.to(dtype=target.dtype)
    # The max-abs norm is NaN or inf exactly when some element is; one fused call over all tensors is
    # much cheaper than an isfinite() mask per tensor.
    floats = [k for k, v in checked.items() if v.is_floating_point()]
    peaks = torch._foreach_norm([checked[k] for k in floats], float("inf"))
    bad = next((k for k, peak in zip(floats, peaks) if not torch.isfinite(peak)), None)
    if bad is not None:
        raise WeightsError(f"{path}: {bad} contains NaN or infinite values")
    return checked


def guess_architecture(state: Mapping[str, torch.Tensor], num_classes: int = 1000) -> str | None:
    """A human guess at what a non-fitting checkpoint is, from its keys and shapes, or None."""
    if any(k.startswith(("resnet.embedder", "embedder.")) for k in state):
        return "a Hugging Face transformers ResNet (different key names; convert it to torchvision's)"
    if "conv1.0.weight" in state:
        return "a ResNet with a deep 3-conv stem (timm's ResNet-C/D variants)"
    depths = []
    for stage in range(1, 5):
        indices = {int(m.group(1)) for k in state if (m := re.match(rf"layer{stage}\.(\d+)\.", k))}
        depths.append(max(indices) + 1 if indices else 0)
    if not any(depths):
        return "not a ResNet (no layer1..layer4 keys)"
    bottleneck = any(k.endswith(".conv3.weight") for k in state)
    names = {
        (False, (2, 2, 2, 2)): "a ResNet-18 checkpoint",
        (False, (3, 4, 6, 3)): "a ResNet-34 checkpoint",
        (True, (3, 4, 23, 3)): "a ResNet-101 checkpoint",
        (True, (3, 8, 36, 3)): "a ResNet-152 checkpoint",
    }
    name = names.get((bottleneck, tuple(depths)))
    if name:
        return name
    if bottleneck and tuple(depths) == (3, 4, 6, 3):
        conv2 = state.get("layer1.0.conv2.weight")
        if conv2 is not None and conv2.shape[1] != conv2.shape[0]:
            return "a ResNeXt-50 (grouped 3x3 convolutions)"
        if conv2 is not None and conv2.shape[0] != 64:
            return "a Wide ResNet-50 (wider bottlenecks)"
        fc = state.get("fc.weight")
        if fc is not None and fc.dim() == 2 and fc.shape[0] != num_classes:
            return f"a ResNet-50 fine-tuned for {fc.shape[0]} classes (this model has {num_classes})"
    kind = "bottleneck" if bottleneck else "basic-block"
    return f"a {kind} ResNet with {'-'.join(map(str, depths))} blocks per stage"


def _some(items: list[str], shown: int = 3) -> str:
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
