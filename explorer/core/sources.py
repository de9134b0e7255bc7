"""Where weights come from, as plain data: torchvision's published ResNet-50 checkpoints (URL, file
name, SHA-256 prefix, eval transform), ``random``, a checkpoint file or an ``http(s)://`` URL, and
torch.hub's file-name convention for hashes.

Core layer, pure Python (no torch), so that parsers and menus can list the sources without importing
torch; ``explorer.core.weights`` loads them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from explorer.core.files import file_problem
from explorer.core.text import shown


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
# The transform of a checkpoint that is not a known file: torchvision's classic 256/224.
DEFAULT_RESIZE, DEFAULT_CROP = 256, 224
URL_SCHEMES = ("http", "https")
# torch.hub's convention (docs of load_state_dict_from_url, check_hash): a file name
# "name-<sha256>.ext" carries the first eight or more hex digits of its SHA-256.
_HUB_HASH = re.compile(r"-([a-f0-9]{8,64})\.")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(source: str) -> bool:
    """True for anything that looks like a URL (``scheme://``), supported scheme or not."""
    return _URL.match(source) is not None


def needs_download(source: str) -> bool:
    """True for sources that are fetched over the network: the named checkpoints and URLs."""
    spec = WEIGHT_SOURCES.get(source)
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


def source_problem(source: str) -> str | None:
    """What is wrong with a weights source before anything is built or downloaded (a missing,
    unreadable or folder path, an unsupported URL), as one line naming it; None when it may be
    tried. The loader says the same words if the file changes in between."""
    if source in WEIGHT_SOURCES:
        return None
    if is_url(source):
        try:
            url_filename(source)
        except ValueError as exc:
            return f"{shown(source)}: {exc}"
        return None
    problem = file_problem(source)
    if problem:
        return f"{shown(source)}: {problem}; give a checkpoint file, an http(s):// URL or one of {', '.join(WEIGHT_SOURCES)}"
    return None
