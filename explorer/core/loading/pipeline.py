"""Loading a network with its weights, top to bottom: every command and the window come here.

    1 source        sources.locate          a named checkpoint, random, a file or an http(s) URL
    2 bytes         fetch.checkpoint_file   the file, or the cache (downloaded, hash or content checked)
    3 state dict    checkpoints.read_checkpoint   safe readers only (weights_only pickles, safetensors),
                                                  not a file larger than the memory limit
    4 architecture  architecture.architecture_of  inferred from keys and shapes, then every key checked
    5 checks        checks.check_memory, checks.checked_state   memory of that network; dtypes, values
    6 model         build.new_model, build.put_weights   built, then loaded once a test pass is finite

Each stage is a function of plain inputs (a string, a path, a dict of tensors, an
:class:`~explorer.core.loading.architecture.Architecture`) tested on its own; this module only
chains them, names the file in every error and describes the result (:class:`WeightsInfo`): the
class names (``labels``) and the eval transform of a known checkpoint. Nothing is built before
stage 5 has passed, and a given model is not touched until stage 6 succeeds.

Core layer, pure PyTorch. timm's plain ``resnet*``, ``resnext*`` and ``wide_resnet*`` use
torchvision's key names (checked against timm 1.0), so timm checkpoints of those load like
torchvision's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from explorer.core.loading import download
from explorer.core.loading.architecture import Architecture, ArchitectureError, architecture_of, check_keys
from explorer.core.loading.build import new_model, put_weights
from explorer.core.loading.checkpoints import Checkpoint, read_checkpoint
from explorer.core.loading.checks import check_memory, checked_state
from explorer.core.loading.errors import ArchitectureMismatch, WeightsCancelled, WeightsError
from explorer.core.loading.fetch import checkpoint_file
from explorer.core.loading.labels import LabelsError, class_labels
from explorer.core.loading.sources import DEFAULT_CROP, DEFAULT_RESIZE, Origin, arch_problem, known_sources, locate
from explorer.core.network.model import ResNet
from explorer.core.network.stages import DEFAULT_ARCH, RESNETS, ResNetSpec, resnet_spec
from explorer.core.progress import Cancelled, Progress
from explorer.core.text import shown


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


def load_model(
    source: str,
    arch: str | ResNetSpec | None = None,
    progress: download.Progress | None = None,
    cancel: download.Cancel | None = None,
    seed: int = 0,
    labels: str | Path | None = None,
    template: ResNet | None = None,
) -> tuple[ResNet, WeightsInfo]:
    """Build the member ``source`` holds and load it: a named checkpoint's own architecture, a
    file's read from its state dict (any head), ``random`` of ``arch`` (default: the template's,
    else ResNet-50). The model is on the CPU, in train mode as built.

    Args:
        arch: the member asked for; weights of another one raise :class:`ArchitectureMismatch`.
        progress: called with (bytes so far, total or 0) while downloading.
        cancel: polled while downloading; True stops with ``WeightsCancelled``.
        seed: seed of the ``random`` initialisation.
        labels: a file of class names, one per line (default: a labels.txt or classes.txt beside
            the checkpoint, ImageNet's names for 1000 classes, else "class 0" ...).
        template: a model whose deep copy is used when the architecture and classes are its own
            (cheaper than a fresh build, which initialises every weight); never modified.

    Raises:
        WeightsError: on any problem, in one line naming the file, before anything is built.
    """
    wanted = resnet_spec(arch) if arch is not None else None
    origin = locate(source)  # 1
    if origin.random:
        spec = wanted or (template.spec if template is not None else resnet_spec(DEFAULT_ARCH))
        classes = template.num_classes if template is not None and template.spec == spec else spec.default_classes
        return _random(Architecture(spec, classes), origin, seed, labels, template)
    if origin.named is not None and wanted is not None and origin.named.arch != wanted.name:
        raise ArchitectureMismatch(arch_problem(wanted.name, source) or f"{source}: not {wanted.title} weights")
    path = checkpoint_file(origin, progress, cancel)  # 2
    name = shown(path)
    checkpoint = read_checkpoint(path)  # 3
    found = _architecture(checkpoint, name)  # 4
    if wanted is not None and found.spec != wanted:
        raise ArchitectureMismatch(f"{name}: holds {found.spec.title}, not {wanted.title} (the file decides; drop --arch)")
    check_memory(found, name)  # 5
    checked = checked_state(checkpoint.state, found, name)
    names = _labels(found.num_classes, labels, origin)
    model = new_model(found, template)  # 6
    put_weights(model, checked, name)
    return model, _info(origin, path, checkpoint.sha256, found, names)


def load_weights(
    model: ResNet,
    source: str,
    progress: download.Progress | None = None,
    cancel: download.Cancel | None = None,
    seed: int = 0,
    labels: str | Path | None = None,
) -> WeightsInfo:
    """Load ``source`` into ``model``, which must be on the CPU and of the source's architecture
    (:func:`load_model` builds the right one instead): the same stages, with the model's own
    architecture in place of the inferred one, so a file that does not fit is explained (missing,
    unexpected and mis-shaped keys, and a guess at what it is). Arguments as for :func:`load_model`.

    Raises:
        WeightsError: on any problem, before ``model`` is modified.
    """
    own = Architecture(model.spec, model.num_classes)
    origin = locate(source)
    named = origin.named
    if named is not None and named.arch not in (None, model.spec.name):
        raise WeightsError(f"{source}: {RESNETS[named.arch].title} weights, but the model is {model.spec.title}")
    if origin.random:
        return _initialize(model, origin, seed, _labels(own.num_classes, labels, origin))
    path = checkpoint_file(origin, progress, cancel)
    name = shown(path)
    checkpoint = read_checkpoint(path)
    try:
        check_keys(checkpoint.state, own.spec, own.num_classes)
    except ArchitectureError as exc:
        raise WeightsError(f"{name}: {exc}") from None
    check_memory(own, name)
    checked = checked_state(checkpoint.state, own, name)
    names = _labels(own.num_classes, labels, origin)
    put_weights(model, checked, name)
    return _info(origin, path, checkpoint.sha256, own, names)


def load_for_lab(
    source: str, arch: str | None, seed: int, progress: Progress | None = None, cancel: download.Cancel | None = None
) -> tuple[ResNet, float]:
    """:func:`load_model` as the labs (gradient, theory) call it: the member ``source`` holds, which
    must be ``arch`` when given, and the resize/crop ratio its weights were evaluated with
    (torchvision's 256/224, 232/224 for imagenet-v2), so that images are prepared the way those
    weights expect. A download reports as a lab step (``progress(text, 0.0)``).

    Raises:
        Cancelled: ``cancel`` returned True during a download.
        ValueError: weights of another member than ``arch``.
        WeightsError: any other problem with the weights, one line naming the file.
    """

    def downloading(done: int, total: int) -> None:
        if progress is not None:
            progress(f"downloading weights: {done / 2**20:.0f}" + (f" of {total / 2**20:.0f} MiB" if total else " MiB"), 0.0)

    try:
        model, info = load_model(source, arch, downloading, cancel, seed)
    except WeightsCancelled as exc:
        raise Cancelled(str(exc)) from None
    except ArchitectureMismatch as exc:
        raise ValueError(str(exc)) from None
    return model, info.resize / info.crop


def checkpoint_architecture(
    source: str | Path, progress: download.Progress | None = None, cancel: download.Cancel | None = None
) -> Architecture:
    """The member and head a source holds, through stage 5's memory check and nothing built: a
    named checkpoint's from the table (nothing fetched), a file's or URL's read from its state dict
    (a URL is downloaded into the cache) with every key and shape checked. Raises WeightsError, one
    line naming the file."""
    origin = locate(str(source))
    if origin.named is not None and origin.named.arch is not None:
        return Architecture(RESNETS[origin.named.arch], 1000)
    path = checkpoint_file(origin, progress, cancel)
    found = _architecture(read_checkpoint(path), shown(path))
    check_memory(found, shown(path))
    return found


def _architecture(checkpoint: Checkpoint, name: str) -> Architecture:
    try:
        return architecture_of(checkpoint.state)
    except ArchitectureError as exc:
        raise WeightsError(f"{name}: {exc}") from None


def _random(
    found: Architecture, origin: Origin, seed: int, labels: str | Path | None, template: ResNet | None
) -> tuple[ResNet, WeightsInfo]:
    check_memory(found, origin.source)
    names = _labels(found.num_classes, labels, origin)
    return new_model(found, template, seed), _random_info(found, origin, seed, names)


def _initialize(model: ResNet, origin: Origin, seed: int, names: tuple[str, ...]) -> WeightsInfo:
    model.initialize("he", seed=seed)  # also resets every BN's running statistics
    return _random_info(Architecture(model.spec, model.num_classes), origin, seed, names)


def _random_info(found: Architecture, origin: Origin, seed: int, names: tuple[str, ...]) -> WeightsInfo:
    assert origin.named is not None
    return WeightsInfo(
        origin.source, f"random (untrained, seed {seed})", False, origin.named.resize, origin.named.crop, None,
        found.spec.name, found.num_classes, names,
    )


def _labels(count: int, labels: str | Path | None, origin: Origin) -> tuple[str, ...]:
    """The head's class names: from ``labels``, else a labels file beside a local checkpoint."""
    try:
        return class_labels(count, labels, origin.path)
    except LabelsError as exc:
        raise WeightsError(str(exc)) from None


def _info(origin: Origin, path: Path, sha256: str, found: Architecture, names: tuple[str, ...]) -> WeightsInfo:
    """What was loaded: a named source's label and transform; a file with the hash of a known one (a
    renamed copy of an official file) gets that one's transform; any other torchvision's 256/224."""
    fields = (found.spec.name, found.num_classes, names)
    if origin.named is not None:
        named = origin.named
        return WeightsInfo(origin.source, named.label, True, named.resize, named.crop, sha256, *fields)
    label = shown(origin.name or path.name)
    known = next((s for s in known_sources().values() if s.sha256_prefix and sha256.startswith(s.sha256_prefix)), None)
    if known is not None:
        return WeightsInfo(origin.source, f"{label} (= {known.label})", True, known.resize, known.crop, sha256, *fields)
    return WeightsInfo(origin.source, label, True, DEFAULT_RESIZE, DEFAULT_CROP, sha256, *fields)
