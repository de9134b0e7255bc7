"""ResNet-50 weights: torchvision's published ImageNet checkpoints and ``http(s)://`` URLs (downloaded
into torch.hub's cache), local ``.pth``/``.pt``/``.bin``/``.safetensors`` files, or a seeded random
initialisation.

Core layer, pure PyTorch (+ safetensors). Pickled checkpoints are read with
``torch.load(weights_only=True)`` only, so a file cannot run code. Loading is atomic: every key, shape,
dtype and value is checked, and the candidate weights must give a finite forward pass, before the
model is touched; a mismatch is explained in one line with a guess at what the file is. timm's ``resnet50`` uses torchvision's key names (checked against timm
1.x), so timm checkpoints load like torchvision's; DataParallel/DDP/``torch.compile`` prefixes and
``state_dict``/``model`` nesting are unwrapped.
"""

from __future__ import annotations

import math
import pickle
import re
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import torch

from explorer.core import download
from explorer.core.files import file_problem
from explorer.core.model import ResNet50
from explorer.core.sources import (  # noqa: F401 (re-exported: the sources are defined torch-free there)
    CHECKPOINT_SUFFIXES,
    DEFAULT_CROP,
    DEFAULT_RESIZE,
    DEFAULT_SOURCE,
    WEIGHT_SOURCES,
    WeightSource,
    hub_sha256_prefix,
    is_url,
    url_filename,
)
from explorer.core.stages import MIN_INPUT_SIZE
from explorer.core.text import first_line, one_line, os_reason, shown


class WeightsError(ValueError):
    """Weights could not be loaded; the model is unchanged. ``str(e)`` is one line."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


class WeightsCancelled(WeightsError):
    """The download was cancelled by the caller."""


# Containers that training scripts wrap a state_dict in (Lightning/timm: state_dict; torchvision's
# reference scripts: model), tried in this order.
_WRAPPER_KEYS = ("state_dict", "model", "model_state_dict", "module")
# Prefixes added by DataParallel/DDP (module.), torch.compile (_orig_mod.) and Lightning (model.).
_PREFIXES = ("module.", "_orig_mod.", "model.")
# The seeded test input that candidate weights must map to finite outputs: two images (batch
# statistics need two values per channel) of the smallest side, a few ms of compute.
_TEST_INPUT_SIZE = MIN_INPUT_SIZE


@dataclass(frozen=True)
class WeightsInfo:
    """What is loaded, as plain values for display: ``trained=False`` means show "untrained"."""

    source: str  # a WEIGHT_SOURCES name, the file path or the URL
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
    """Load ``source`` (a name in :data:`WEIGHT_SOURCES`, a checkpoint path or an ``http(s)://``
    URL) into ``model``, which must be on the CPU.

    A URL is downloaded into the same cache as the named checkpoints; a file name of the form
    ``name-<hex>.ext`` has its SHA-256 prefix checked (torch.hub's convention).

    Args:
        progress: called with (bytes so far, total or 0) while downloading.
        cancel: polled while downloading; True stops with :class:`WeightsCancelled`.
        seed: seed of the ``random`` initialisation.

    Raises:
        WeightsError: on any problem, before ``model`` is modified; among the checks, a forward
            pass of the candidate weights on a test input must give finite outputs.
    """
    spec = WEIGHT_SOURCES.get(source)
    if spec is not None and spec.url is None:
        model.initialize("he", seed=seed)  # also resets every BN's running statistics
        return WeightsInfo(source, f"random (untrained, seed {seed})", False, spec.resize, spec.crop, None)
    if spec is not None:
        assert spec.url is not None and spec.filename is not None
        path = _fetch(f"{source} weights", spec.url, spec.filename, spec.sha256_prefix, progress, cancel)
    elif is_url(source):
        try:
            filename = url_filename(source)
        except ValueError as exc:
            raise WeightsError(f"{shown(source)}: {exc}") from None
        path = _fetch(shown(source), source, filename, hub_sha256_prefix(filename), progress, cancel)
    else:
        path = Path(source)
    state, sha256 = read_checkpoint(path)
    checked = _check_against(model, state, path)
    with torch.no_grad():
        model.load_state_dict(checked, strict=True)
    if spec is not None:
        return WeightsInfo(source, spec.label, True, spec.resize, spec.crop, sha256)
    known = next((name for name, s in WEIGHT_SOURCES.items() if s.sha256_prefix and sha256.startswith(s.sha256_prefix)), None)
    if known is not None:  # a renamed copy of an official file still gets its own transform
        s = WEIGHT_SOURCES[known]
        return WeightsInfo(source, f"{shown(path.name)} (= {s.label})", True, s.resize, s.crop, sha256)
    return WeightsInfo(source, shown(path.name), True, DEFAULT_RESIZE, DEFAULT_CROP, sha256)


def _fetch(
    what: str,
    url: str,
    filename: str,
    sha256_prefix: str | None,
    progress: Callable[[int, int], None] | None,
    cancel: Callable[[], bool] | None,
) -> Path:
    try:
        return download.fetch(url, filename, sha256_prefix, progress, cancel)
    except download.DownloadCancelled as exc:
        raise WeightsCancelled(str(exc)) from None
    except download.CacheError as exc:
        raise WeightsError(
            f"cannot store {what}: {exc}. Set TORCH_HOME to a writable folder, or load a local checkpoint file"
        ) from None
    except download.DownloadError as exc:
        raise WeightsError(
            f"cannot download {what}: {exc}. Offline? Load a local checkpoint file ({', '.join(CHECKPOINT_SUFFIXES)}), "
            f"copy {shown(filename)} into {shown(download.cache_dir())}, or use 'random' (untrained)"
        ) from None


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], str]:
    """The flat, prefix-free tensor dict in a checkpoint file and the file's SHA-256 hex digest.

    Raises:
        WeightsError: missing, unreadable, empty, not a checkpoint, truncated, a TorchScript archive,
            or a pickle with code in it.
    """
    path = Path(path)
    name = shown(path)
    problem = file_problem(path)
    if problem:
        raise WeightsError(f"{name}: {problem}; give a checkpoint file, an http(s):// URL or one of {', '.join(WEIGHT_SOURCES)}")
    try:
        with path.open("rb") as f:
            head = f.read(16)
        if not head:
            raise WeightsError(f"{name}: empty file")
        if _looks_like_safetensors(head):
            loaded: Any = _load_safetensors(path)
        elif head.startswith(b"PK\x03\x04") or head[0] == 0x80:  # torch.save's zip format, or a legacy pickle
            loaded = _load_torch(path)
        else:
            raise WeightsError(f"{name}: not a PyTorch ({', '.join(CHECKPOINT_SUFFIXES[:3])}) or safetensors checkpoint")
        return normalize_state_dict(loaded, path), download.sha256_of(path)
    except OSError as exc:  # unreadable after all, or it vanished
        raise WeightsError(f"{name}: cannot read ({os_reason(exc)})") from None


def _looks_like_safetensors(head: bytes) -> bool:
    # Format: 8-byte little-endian header length, then a JSON header starting with "{".
    return len(head) >= 9 and head[8:9] == b"{" and 2 <= int.from_bytes(head[:8], "little") < 100_000_000


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except Exception as exc:  # SafetensorError, OSError, ...: all mean a bad file
        raise WeightsError(f"{shown(path)}: unreadable safetensors file ({first_line(exc)})") from None


def _load_torch(path: Path) -> Any:
    if _is_torchscript(path):
        raise WeightsError(
            f"{shown(path)}: a TorchScript archive (torch.jit.save), not a checkpoint; save the model's "
            "state_dict() with torch.save instead"
        )
    try:
        with warnings.catch_warnings():  # e.g. "Detected pickle protocol": nothing the user can act on
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only" in str(exc).lower():
            raise WeightsError(
                f"{shown(path)}: refused: the file holds Python objects besides tensors, and unpickling them could "
                "run code (only weights_only checkpoints are accepted)"
            ) from None
        raise WeightsError(f"{shown(path)}: truncated or corrupt checkpoint ({first_line(exc)})") from None
    except Exception as exc:  # RuntimeError (bad zip), EOFError, ValueError, ... on damaged files
        raise WeightsError(f"{shown(path)}: truncated or corrupt checkpoint ({first_line(exc)})") from None


def _is_torchscript(path: Path) -> bool:
    """torch.jit.save writes a zip with ``constants.pkl`` and compiled ``code/``; torch.save never does."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any(n.rsplit("/", 1)[-1] == "constants.pkl" or "/code/" in n for n in archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):  # not a (readable) zip: torch.load will say so
        return False


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
        raise WeightsError(f"{shown(path)}: holds a {type(loaded).__name__}, not a state_dict")
    state = {str(k): v for k, v in loaded.items() if isinstance(v, torch.Tensor)}
    if not state:
        raise WeightsError(f"{shown(path)}: contains no tensors")
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
        raise WeightsError(f"{shown(path)}: does not fit ResNet-50{f'; looks like {guess}' if guess else ''}: {'; '.join(problems)}")
    checked: dict[str, torch.Tensor] = {}
    for key, target in expected.items():
        value = state.get(key)
        if value is None:
            checked[key] = torch.zeros_like(target)
            continue
        problem = _dtype_problem(value, target)
        if problem:
            raise WeightsError(f"{shown(path)}: {shown(key)} {problem}")
        checked[key] = value.to(dtype=target.dtype)
    _check_values(model, checked, path)
    return checked


def _dtype_problem(value: torch.Tensor, target: torch.Tensor) -> str | None:
    """Why a tensor cannot stand in for ``target`` (layout, dtype), or None."""
    if value.is_quantized:
        return f"is quantised ({value.dtype}); quantised checkpoints are not supported"
    if value.layout != torch.strided:
        return f"is a sparse tensor ({value.layout}); save dense weights (tensor.to_dense())"
    if not target.is_floating_point():
        return None  # a counter such as num_batches_tracked: any real number converts
    if value.is_complex():
        return f"has complex values ({value.dtype}) where real floating-point weights belong"
    if value.dtype == torch.bool:
        return "has boolean values where floating-point weights belong"
    if not value.is_floating_point():
        return f"has integer values ({value.dtype}) where floating-point weights belong"
    return None


def _check_values(model: ResNet50, checked: dict[str, torch.Tensor], path: Path) -> None:
    """Finite values, non-negative BN variances, and a finite forward pass of the candidate weights
    on a seeded test input (run through ``torch.func.functional_call``: the model's tensors are not
    touched, though forward hooks registered on it, if any, see the test input)."""
    # The max-abs norm is NaN or inf exactly when some element is; one fused call over all tensors is
    # much cheaper than an isfinite() mask per tensor.
    floats = [k for k, v in checked.items() if v.is_floating_point()]
    peaks = [float(p) for p in torch._foreach_norm([checked[k] for k in floats], float("inf"))]
    bad = next((k for k, peak in zip(floats, peaks) if not math.isfinite(peak)), None)
    if bad is not None:
        raise WeightsError(f"{shown(path)}: {shown(bad)} contains NaN or infinite values")
    negative = next((k for k in floats if k.endswith("running_var") and bool((checked[k] < 0).any())), None)
    if negative is not None:
        raise WeightsError(f"{shown(path)}: {shown(negative)} has negative values (a variance cannot be negative)")
    x = torch.randn(2, 3, _TEST_INPUT_SIZE, _TEST_INPUT_SIZE, generator=torch.Generator().manual_seed(0))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = torch.func.functional_call(model, checked, (x,))
    finally:
        model.train(was_training)
    if not bool(torch.isfinite(out).all()):
        largest = max(zip(peaks, floats))
        raise WeightsError(
            f"{shown(path)}: the weights give NaN or infinite outputs on a test input "
            f"(largest magnitude {largest[0]:.3g}, in {shown(largest[1])})"
        )


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


def _some(items: list[str], count: int = 3) -> str:
    more = f" and {len(items) - count} more" if len(items) > count else ""
    return ", ".join(shown(item) for item in items[:count]) + more
