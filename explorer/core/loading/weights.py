"""Weights of the ResNet family: torchvision's published ImageNet checkpoints and ``http(s)://`` URLs
(downloaded into torch.hub's cache), local ``.pth``/``.pt``/``.bin``/``.safetensors`` files, or a
seeded random initialisation. :func:`load_model` builds the member a source holds (a file's
architecture is read from its state dict, ``explorer.core.loading.architecture``); :func:`load_weights`
loads into a given model.

Core layer, pure PyTorch (+ safetensors). Pickled checkpoints are read with
``torch.load(weights_only=True)`` only, so a file cannot run code. Loading is atomic: every key, shape,
dtype and value is checked, and the candidate weights must give a finite forward pass, before the
model is touched; a mismatch is explained in one line with a guess at what the file is. timm's plain ``resnet*``,
``resnext*`` and ``wide_resnet*`` use torchvision's key names (checked against timm 1.0), so timm
checkpoints of those load like torchvision's; DataParallel/DDP/``torch.compile`` prefixes and
``state_dict``/``model`` nesting are unwrapped.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from explorer.core.loading import download
from explorer.core.loading.architecture import Architecture, ArchitectureError, guess_architecture, infer_architecture
from explorer.core.loading.checkpoints import WeightsError, normalize_state_dict, read_checkpoint  # noqa: F401 (re-exported)
from explorer.core.loading.labels import LabelsError, class_labels
from explorer.core.loading.sources import (  # noqa: F401 (re-exported: the sources are defined torch-free there)
    CHECKPOINT_SUFFIXES,
    DEFAULT_CROP,
    DEFAULT_RESIZE,
    DEFAULT_SOURCE,
    NAMED_WEIGHTS,
    SOURCES_TEXT,
    WEIGHT_SOURCES,
    WeightSource,
    arch_problem,
    hub_sha256_prefix,
    is_url,
    known_sources,
    url_filename,
    weight_source,
)
from explorer.core.network.model import ResNet
from explorer.core.network.stages import DEFAULT_ARCH, MIN_INPUT_SIZE, RESNETS, ResNetSpec, resnet_spec
from explorer.core.text import shown


class WeightsCancelled(WeightsError):
    """The download was cancelled by the caller."""


class ArchitectureMismatch(WeightsError):
    """The weights are of another member than the one asked for (``--arch``): a usage error."""


# The seeded test input that candidate weights must map to finite outputs: two images (batch
# statistics need two values per channel) of the smallest side, a few ms of compute.
_TEST_INPUT_SIZE = MIN_INPUT_SIZE


@dataclass(frozen=True)
class WeightsInfo:
    """What is loaded, as plain values for display: ``trained=False`` means show "untrained"."""

    source: str  # a named source (weight_source), the file path or the URL
    label: str
    trained: bool
    resize: int
    crop: int
    sha256: str | None
    arch: str = DEFAULT_ARCH  # the member's name (its spec's)
    num_classes: int = 1000
    labels: tuple[str, ...] = ()  # the head's class names, index i = output i


def load_weights(
    model: ResNet,
    source: str,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    seed: int = 0,
    labels: str | Path | None = None,
) -> WeightsInfo:
    """Load ``source`` (a named source, see :func:`~explorer.core.loading.sources.weight_source`, a
    checkpoint path or an ``http(s)://`` URL) into ``model``, which must be on the CPU and of the
    source's architecture (:func:`load_model` builds the right one instead).

    A URL is downloaded into the same cache as the named checkpoints; a file name of the form
    ``name-<hex>.ext`` has its SHA-256 prefix checked (torch.hub's convention).

    Args:
        progress: called with (bytes so far, total or 0) while downloading.
        cancel: polled while downloading; True stops with :class:`WeightsCancelled`.
        seed: seed of the ``random`` initialisation.
        labels: a file of class names, one per line (default: a labels.txt or classes.txt beside
            the checkpoint, ImageNet's names for 1000 classes, else "class 0" ...).

    Raises:
        WeightsError: on any problem, before ``model`` is modified; among the checks, a forward
            pass of the candidate weights on a test input must give finite outputs.
    """
    named = weight_source(source)
    if named is not None and named.arch not in (None, model.spec.name):
        raise WeightsError(f"{source}: {RESNETS[named.arch].title} weights, but the model is {model.spec.title}")
    if named is not None and named.url is None:
        names = _labels(model.num_classes, labels, None)
        model.initialize("he", seed=seed)  # also resets every BN's running statistics
        return _info(model, names, source, f"random (untrained, seed {seed})", False, named.resize, named.crop, None)
    path = _resolve(source, named, progress, cancel)
    state, sha256 = read_checkpoint(path)
    return _load_state(model, state, sha256, path, source, labels)


def load_model(
    source: str,
    arch: str | ResNetSpec | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    seed: int = 0,
    labels: str | Path | None = None,
    template: ResNet | None = None,
) -> tuple[ResNet, WeightsInfo]:
    """Build the member ``source`` holds and load it: a named checkpoint's own architecture, a
    file's read from its state dict (any head), ``random`` of ``arch`` (default: the template's,
    else ResNet-50). The model is on the CPU, in train mode as built.

    Args:
        arch: the member asked for; weights of another one raise :class:`ArchitectureMismatch`.
        template: a model whose deep copy is used when the architecture and classes are its own
            (cheaper than a fresh build, which initialises every weight); never modified.
        progress, cancel, seed, labels: as for :func:`load_weights`.

    Raises:
        WeightsError: as :func:`load_weights`, and for a file that is no member of the family.
    """
    wanted = resnet_spec(arch) if arch is not None else None
    named = weight_source(source)
    if named is not None and named.url is None:
        spec = wanted or (template.spec if template is not None else resnet_spec(DEFAULT_ARCH))
        classes = template.num_classes if template is not None and template.spec == spec else spec.default_classes
        model = _build(spec, classes, template)
        return model, load_weights(model, source, seed=seed, labels=labels)
    if named is not None and wanted is not None and named.arch != wanted.name:
        raise ArchitectureMismatch(arch_problem(wanted.name, source) or f"{source}: not {wanted.title} weights")
    path = _resolve(source, named, progress, cancel)
    state, sha256 = read_checkpoint(path)
    try:
        found = infer_architecture(state)
    except ArchitectureError as exc:
        raise WeightsError(f"{shown(path)}: {exc}") from None
    if wanted is not None and found.spec != wanted:
        raise ArchitectureMismatch(f"{shown(path)}: holds {found.spec.title}, not {wanted.title} (the file decides; drop --arch)")
    model = _build(found.spec, found.num_classes, template)
    return model, _load_state(model, state, sha256, path, source, labels)


def checkpoint_architecture(
    source: str | Path, progress: Callable[[int, int], None] | None = None, cancel: Callable[[], bool] | None = None
) -> Architecture:
    """The member and head a source holds: a named checkpoint's from the table (nothing fetched),
    a file's or URL's read from its state dict (a URL is downloaded into the cache; nothing is
    built). Raises WeightsError, one line naming the file."""
    named = weight_source(str(source))
    if named is not None and named.arch is not None:
        return Architecture(RESNETS[named.arch], 1000)
    path = _resolve(str(source), None, progress, cancel)
    state, _ = read_checkpoint(path)
    try:
        return infer_architecture(state)
    except ArchitectureError as exc:
        raise WeightsError(f"{shown(path)}: {exc}") from None


def _build(spec: ResNetSpec, num_classes: int, template: ResNet | None) -> ResNet:
    if template is not None and template.spec == spec and template.num_classes == num_classes:
        return copy.deepcopy(template)  # about 30 ms for ResNet-50; a fresh build initialises every weight
    return ResNet(spec, num_classes)


def _resolve(
    source: str, named: WeightSource | None, progress: Callable[[int, int], None] | None, cancel: Callable[[], bool] | None
) -> Path:
    """The local file of a named checkpoint or URL (downloaded into the cache) or a path."""
    if named is not None:
        assert named.url is not None and named.filename is not None
        return _fetch(f"{source} weights", named.url, named.filename, named.sha256_prefix, progress, cancel)
    if is_url(source):
        try:
            filename = url_filename(source)
        except ValueError as exc:
            raise WeightsError(f"{shown(source)}: {exc}") from None
        return _fetch(shown(source), source, filename, hub_sha256_prefix(filename), progress, cancel)
    return Path(source)


def _load_state(
    model: ResNet, state: dict[str, torch.Tensor], sha256: str, path: Path, source: str, labels: str | Path | None
) -> WeightsInfo:
    checked = _check_against(model, state, path)
    names = _labels(model.num_classes, labels, None if is_url(source) else path)
    with torch.no_grad():
        model.load_state_dict(checked, strict=True)
    named = weight_source(source)
    if named is not None:
        return _info(model, names, source, named.label, True, named.resize, named.crop, sha256)
    known = next((s for s in known_sources().values() if s.sha256_prefix and sha256.startswith(s.sha256_prefix)), None)
    if known is not None:  # a renamed copy of an official file still gets its own transform
        return _info(model, names, source, f"{shown(path.name)} (= {known.label})", True, known.resize, known.crop, sha256)
    return _info(model, names, source, shown(path.name), True, DEFAULT_RESIZE, DEFAULT_CROP, sha256)


def _labels(count: int, labels: str | Path | None, checkpoint: Path | None) -> tuple[str, ...]:
    try:
        return class_labels(count, labels, checkpoint)
    except LabelsError as exc:
        raise WeightsError(str(exc)) from None


def _info(model: ResNet, labels: tuple[str, ...], *fields: Any) -> WeightsInfo:
    return WeightsInfo(*fields, arch=model.spec.name, num_classes=model.num_classes, labels=labels)


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


def _check_against(model: ResNet, state: dict[str, torch.Tensor], path: Path) -> dict[str, torch.Tensor]:
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
        if guess == f"a {model.spec.title} checkpoint":  # the same member with other keys: no news
            guess = None
        looks = f"; looks like {guess}" if guess else ""
        raise WeightsError(f"{shown(path)}: does not fit {model.spec.title}{looks}: {'; '.join(problems)}")
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


def _check_values(model: ResNet, checked: dict[str, torch.Tensor], path: Path) -> None:
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


def _some(items: list[str], count: int = 3) -> str:
    more = f" and {len(items) - count} more" if len(items) > count else ""
    return ", ".join(shown(item) for item in items[:count]) + more
