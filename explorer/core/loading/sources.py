"""Stage 1 of loading (``explorer.core.loading.pipeline``), the source: where weights come from, as
plain data. Every torchvision ImageNet checkpoint of the ResNet family (URL, file name, SHA-256
prefix, eval transform, published top-1), ``random``, a checkpoint file or an ``http(s)://`` URL;
torch.hub's file-name convention for hashes; and :func:`locate`, which turns what the user typed
into an :class:`Origin` (what to fetch, under which cache name, with which hash) before anything is
read or downloaded.

Core layer, pure Python (no torch), so that parsers and menus can list the sources without importing
torch. The table was generated once from torchvision's weight enums
(``torchvision.models.get_model_weights``); ``tests/core/test_weight_table.py`` compares it with
them entry by entry, so the app itself never imports torchvision.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from explorer.core.files import file_problem
from explorer.core.loading.errors import WeightsError
from explorer.core.network.stages import DEFAULT_ARCH, RESNETS
from explorer.core.text import shown


@dataclass(frozen=True)
class WeightSource:
    """A named source: where to fetch it, the network it is for and the eval transform its accuracy
    was measured with."""

    label: str
    url: str | None  # None: random initialisation
    filename: str | None
    sha256_prefix: str | None  # torchvision's convention: the part of the file name after the dash
    resize: int
    crop: int
    arch: str | None = None  # the member it belongs to (RESNETS); None: random, for any member
    top1: float | None = None  # published ImageNet-1K top-1 (%), from torchvision's weight table


# torchvision's ImageNet weights of the family: (builder, enum name, URL, resize, crop, acc@1), as
# torchvision 0.29 publishes them (models/resnet.py: ResNet*_Weights.IMAGENET1K_V1/_V2).
TORCHVISION_WEIGHTS: tuple[tuple[str, str, str, int, int, float], ...] = (
    ("resnet18", "IMAGENET1K_V1", "https://download.pytorch.org/models/resnet18-f37072fd.pth", 256, 224, 69.758),
    ("resnet34", "IMAGENET1K_V1", "https://download.pytorch.org/models/resnet34-b627a593.pth", 256, 224, 73.314),
    ("resnet50", "IMAGENET1K_V1", "https://download.pytorch.org/models/resnet50-0676ba61.pth", 256, 224, 76.13),
    ("resnet50", "IMAGENET1K_V2", "https://download.pytorch.org/models/resnet50-11ad3fa6.pth", 232, 224, 80.858),
    ("resnet101", "IMAGENET1K_V1", "https://download.pytorch.org/models/resnet101-63fe2227.pth", 256, 224, 77.374),
    ("resnet101", "IMAGENET1K_V2", "https://download.pytorch.org/models/resnet101-cd907fc2.pth", 232, 224, 81.886),
    ("resnet152", "IMAGENET1K_V1", "https://download.pytorch.org/models/resnet152-394f9c45.pth", 256, 224, 78.312),
    ("resnet152", "IMAGENET1K_V2", "https://download.pytorch.org/models/resnet152-f82ba261.pth", 232, 224, 82.284),
    ("resnext50_32x4d", "IMAGENET1K_V1", "https://download.pytorch.org/models/resnext50_32x4d-7cdf4587.pth", 256, 224, 77.618),
    ("resnext50_32x4d", "IMAGENET1K_V2", "https://download.pytorch.org/models/resnext50_32x4d-1a0047aa.pth", 232, 224, 81.198),
    ("resnext101_32x8d", "IMAGENET1K_V1", "https://download.pytorch.org/models/resnext101_32x8d-8ba56ff5.pth", 256, 224, 79.312),
    ("resnext101_32x8d", "IMAGENET1K_V2", "https://download.pytorch.org/models/resnext101_32x8d-110c445d.pth", 232, 224, 82.834),
    ("resnext101_64x4d", "IMAGENET1K_V1", "https://download.pytorch.org/models/resnext101_64x4d-173b62eb.pth", 232, 224, 83.246),
    ("wide_resnet50_2", "IMAGENET1K_V1", "https://download.pytorch.org/models/wide_resnet50_2-95faca4d.pth", 256, 224, 78.468),
    ("wide_resnet50_2", "IMAGENET1K_V2", "https://download.pytorch.org/models/wide_resnet50_2-9ba9bcbe.pth", 232, 224, 81.602),
    ("wide_resnet101_2", "IMAGENET1K_V1", "https://download.pytorch.org/models/wide_resnet101_2-32ee1156.pth", 256, 224, 78.848),
    ("wide_resnet101_2", "IMAGENET1K_V2", "https://download.pytorch.org/models/wide_resnet101_2-d733dc28.pth", 232, 224, 82.51),
)


def _named(arch: str, tag: str, url: str, resize: int, crop: int, top1: float) -> tuple[str, WeightSource]:
    filename = url.rsplit("/", 1)[-1]
    label = f"{RESNETS[arch].title} ImageNet {tag} (torchvision, {top1}% top-1)"
    source = WeightSource(label, url, filename, hub_sha256_prefix(filename), resize, crop, arch, top1)
    return f"{arch}-imagenet-{tag.rsplit('_', 1)[-1].lower()}", source


# Every torchvision checkpoint of the family by name: "resnet18-imagenet-v1" ... "wide_resnet101_2-imagenet-v2".
NAMED_WEIGHTS: dict[str, WeightSource] = {}
RANDOM = "random"
# The short names from before the family, kept because users' settings hold them: ResNet-50's two
# checkpoints and random. The window's menus list these (filled in below, after the hash rule).
WEIGHT_SOURCES: dict[str, WeightSource] = {}
DEFAULT_SOURCE = "imagenet-v2"
_ALIASES = {"imagenet-v2": "resnet50-imagenet-v2", "imagenet-v1": "resnet50-imagenet-v1"}
CHECKPOINT_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors")
# The transform of a checkpoint that is not a known file: torchvision's classic 256/224.
DEFAULT_RESIZE, DEFAULT_CROP = 256, 224
URL_SCHEMES = ("http", "https")
# torch.hub's convention (docs of load_state_dict_from_url, check_hash): a file name
# "name-<sha256>.ext" carries the first eight or more hex digits of its SHA-256.
_HUB_HASH = re.compile(r"-([a-f0-9]{8,64})\.")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# A cache name keyed by its URL keeps this much of the file name's stem, so that it and the download's
# temporary name stay within the 255 bytes a file name may have.
_KEPT_STEM = 120


def is_url(source: str) -> bool:
    """True for anything that looks like a URL (``scheme://``), supported scheme or not."""
    return _URL.match(source) is not None


def needs_download(source: str) -> bool:
    """True for sources that are fetched over the network: the named checkpoints and URLs."""
    spec = weight_source(source)
    return (spec is not None and spec.url is not None) or (spec is None and is_url(source))


def url_filename(url: str) -> str:
    """The cache file name of a checkpoint URL: the last path segment, as torch.hub names it.

    Raises:
        ValueError: not an http(s) URL, or a URL whose path names no file.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in URL_SCHEMES or not parts.hostname:
        raise ValueError(f"only {' and '.join(s + '://' for s in URL_SCHEMES)} URLs can be downloaded")
    name = unquote(parts.path.rsplit("/", 1)[-1])
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        raise ValueError("the URL names no file (its path must end with the checkpoint's file name)")
    return name


def hub_sha256_prefix(filename: str) -> str | None:
    """The SHA-256 prefix a file name carries by torch.hub's convention, or None (then unchecked)."""
    match = _HUB_HASH.search(filename)
    return match.group(1) if match else None


NAMED_WEIGHTS.update(_named(*row) for row in TORCHVISION_WEIGHTS)
WEIGHT_SOURCES.update({alias: NAMED_WEIGHTS[name] for alias, name in _ALIASES.items()})
WEIGHT_SOURCES[RANDOM] = WeightSource("random initialisation (untrained)", None, None, None, 256, 224)
SOURCES_TEXT = f"{', '.join(WEIGHT_SOURCES)}, ARCH-imagenet-v1/-v2 (e.g. resnet18-imagenet-v1)"


def weight_source(name: str) -> WeightSource | None:
    """The named source ``name`` (a short name or any ``ARCH-imagenet-vN``), or None."""
    return WEIGHT_SOURCES.get(name) or NAMED_WEIGHTS.get(name)


def known_sources() -> dict[str, WeightSource]:
    """Every named source, short names first; a file with one of their hashes is recognised."""
    return {**WEIGHT_SOURCES, **NAMED_WEIGHTS}


def weights_for(arch: str) -> list[str]:
    """The names of a member's torchvision checkpoints, oldest first (``[..."-imagenet-v1", ..."-v2"]``)."""
    return [name for name, source in NAMED_WEIGHTS.items() if source.arch == arch]


def menu_sources(arch: str) -> list[str]:
    """The named sources a menu offers for a member, newest first: its torchvision checkpoints
    (ResNet-50's by their short names, which users' settings hold) and random."""
    named = list(_ALIASES) if arch == DEFAULT_ARCH else list(reversed(weights_for(arch)))
    return [*named, RANDOM]


def default_weights(arch: str = DEFAULT_ARCH) -> str:
    """The best published checkpoint of a member: V2 where torchvision has one, else V1
    (``imagenet-v2`` for ResNet-50, the default source); random for a member with none (the CIFAR
    networks)."""
    if arch == DEFAULT_ARCH:
        return DEFAULT_SOURCE
    published = weights_for(arch)
    return published[-1] if published else RANDOM


def source_arch(source: str) -> str | None:
    """The member a named source is for; None for random, files and URLs (a file says its own)."""
    named = weight_source(source)
    return named.arch if named is not None else None


def member_weights(source: str, arch: str) -> str:
    """``source`` for ``arch``: itself when it is that member's (or random, a file, an address),
    else the member's own best checkpoint (ResNet-50's ``imagenet-v1`` becomes ResNet-18's V1), or
    random for a member with no published weights (the CIFAR networks)."""
    if source_arch(source) in (None, arch):
        return source
    return default_weights(arch)


def arch_problem(arch: str | None, source: str) -> str | None:
    """Why ``--arch`` contradicts a named weights source, in one line, or None."""
    implied = source_arch(source)
    if arch is None or implied is None or implied == arch:
        return None
    theirs, ours = RESNETS[implied].title, RESNETS[arch].title
    return f"--weights {source} are {theirs}'s, not {ours}'s (--arch {arch}); use {default_weights(arch)}"


def weights_problem(arch: str | None, init: str, weights: str | None) -> str | None:
    """Why a lab's initialisation ``init`` with ``weights`` cannot run on ``arch``, in one line, or
    None: ``init="weights"`` needs a source, and a named one must be ``arch``'s (:func:`arch_problem`)."""
    if init != "weights":
        return None
    if not weights:
        return "init 'weights' needs a weights source (a named source, random, a file or a URL)"
    return arch_problem(arch, weights)


@dataclass(frozen=True)
class Origin:
    """A weights source, located: ``random`` (``named.url`` is None), a named checkpoint or a URL to
    fetch into the cache (``url``, ``cache_name``, ``sha256_prefix``), or a local ``path``."""

    source: str  # as given
    named: WeightSource | None = None
    url: str | None = None
    cache_name: str | None = None  # the file's name in torch.hub's cache
    sha256_prefix: str | None = None  # what the file's SHA-256 must start with, when its name says
    path: Path | None = None  # a local checkpoint file
    name: str = ""  # the file's own name, for labels ("model.pth")

    @property
    def random(self) -> bool:
        return self.named is not None and self.named.url is None


def locate(source: str) -> Origin:
    """Stage 1: what ``source`` names (a named source, an ``http(s)://`` URL or a file path) and,
    for a download, the name it gets in the cache (:func:`url_cache_name`). Nothing is read.

    Raises:
        WeightsError: a URL that cannot be downloaded (another scheme, no file name).
    """
    named = weight_source(source)
    if named is not None:
        if named.url is None:
            return Origin(source, named)
        assert named.filename is not None
        return Origin(source, named, named.url, named.filename, named.sha256_prefix, name=named.filename)
    if is_url(source):
        try:
            filename = url_filename(source)
        except ValueError as exc:
            raise WeightsError(f"{shown(source)}: {exc}") from None
        return Origin(source, None, source, url_cache_name(source), hub_sha256_prefix(filename), name=filename)
    return Origin(source, path=Path(source), name=Path(source).name)


def url_cache_name(url: str) -> str:
    """The cache file of a checkpoint URL. A file name that carries its SHA-256 prefix (torch.hub's
    convention) is kept, so torchvision and torch.hub share the file; any other is keyed by the
    whole URL (``model.pth`` -> ``model.url-<16 hex digits>.pth``), so that ``.../a/model.pth`` and
    ``.../b/model.pth`` never share an entry."""
    filename = url_filename(url)
    if hub_sha256_prefix(filename) is not None:
        return filename
    key = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    pure = PurePosixPath(filename)
    return f"{pure.stem[:_KEPT_STEM]}.url-{key}{pure.suffix}"


def source_problem(source: str) -> str | None:
    """What is wrong with a weights source before anything is built or downloaded (a missing,
    unreadable or folder path, an unsupported URL), as one line naming it; None when it may be
    tried. The loader says the same words if the file changes in between."""
    try:
        origin = locate(source)
    except WeightsError as exc:
        return str(exc)
    problem = file_problem(origin.path) if origin.path is not None else None
    if problem:
        return f"{shown(source)}: {problem}; give a checkpoint file, an http(s):// URL or one of {SOURCES_TEXT}"
    return None
