"""The first prediction without torch: an index beside the engine cache says which cached graph a
request (weights source, network, engine and precision choice, device) was last served with, so that
the app can classify its command-line images from that graph with onnxruntime or OpenVINO while
torch is still being imported.

Core layer, torch-free (numpy, Pillow, the runtimes). The index never serves other weights than the
request's: an entry is written only by a load that built and checked that engine
(:meth:`~explorer.core.inference.classifier.Classifier.load`); its key holds the request, the CPU's
features and the versions of the project, torch and the runtimes (a random initialisation depends on
torch's); a checkpoint file must still have the SHA-256 the entry names (hashed in full on every
use, about 0.1 s for ResNet-50), and the graph file (a regular file, never a link or pipe) the
SHA-256 it had when it was checked, hashed while the runtime reads it from its path. Anything else
(no entry, a changed file, a pipe in a file's place, a runtime that is gone) answers None and the
app takes the normal path. A graph swapped between the hash and the runtime's read would need write
access to the cache folder, where the index itself lies.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
from PIL import Image

from explorer.core.files import open_regular, sha256_of, sha256_of_open, write_atomically
from explorer.core.images import load_image, preprocess_array
from explorer.core.inference.prediction import Prediction, top_classes
from explorer.core.inference.runtimes import RUNTIMES
from explorer.core.loading.labels import class_labels
from explorer.core.loading.sources import is_url, weight_source
from explorer.core.overlap import overlapped

ENV_VAR = "RESNET_EXPLORER_ENGINE_CACHE"
INDEX = "index.json"
KEEP_ENTRIES = 32
_VERSIONED = ("resnet-explorer", "torch", "onnxruntime", "openvino")


def cache_dir() -> Path:
    """The engine cache: ``$RESNET_EXPLORER_ENGINE_CACHE`` if set, else ``resnet-explorer/engines``
    beside torch.hub's folder, found as torch.hub finds it (``$TORCH_HOME``, else
    ``$XDG_CACHE_HOME/torch``, else ``~/.cache/torch``) without importing torch."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override)
    cache_home = os.environ.get("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    torch_home = os.path.expanduser(os.environ.get("TORCH_HOME", os.path.join(cache_home, "torch")))
    return Path(torch_home) / "resnet-explorer" / "engines"


def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as Linux names them (``avx2``, ``avx512_bf16``, ``amx_bf16``...);
    empty where /proc/cpuinfo cannot be read."""
    try:
        with open("/proc/cpuinfo") as f:
            line = next((line for line in f if line.startswith(("flags", "Features"))), "")
    except OSError:
        return frozenset()
    return frozenset(line.partition(":")[2].split())


@dataclass(frozen=True)
class Request:
    """What the user asked for: the source as given (a name, path or URL), the member for random
    weights, their seed, the engine and precision choices (``auto`` included) and the device."""

    source: str
    arch: str | None
    seed: int
    engine: str
    precision: str
    device: str

    def key(self) -> str:
        text = json.dumps([vars(self), _context()], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def request(source: str, arch: str | None, seed: int, engine: str, precision: str, device: str) -> Request:
    """The request for these choices; a local file is named by its absolute path (the same relative
    path from another folder is another file)."""
    if weight_source(source) is None and not is_url(source):
        source = str(Path(source).absolute())
    return Request(source, arch, seed, engine, precision, device)


@dataclass(frozen=True)
class Served:
    """How a request was served: the checkpoint file and its SHA-256 (None for random weights), the
    network, the transform, the engine and precision used after any fallback, and the graph file."""

    file: str | None
    sha256: str | None
    arch: str
    num_classes: int
    resize: int
    crop: int
    trained: bool
    engine: str
    precision: str
    device: str
    graph: str  # the graph's file name in the cache folder
    graph_sha256: str
    graph_bytes: int  # its size: nothing else (a pipe, a link, a larger file) is read in its place


def remember(request: Request, served: Served, folder: Path | None = None) -> None:
    """Record how ``request`` was served (the newest :data:`KEEP_ENTRIES` requests are kept); a
    cache folder that cannot be written only costs the quick start."""
    path = (folder or cache_dir()) / INDEX
    entries = _entries(path)
    entries.pop(request.key(), None)
    entries[request.key()] = vars(served)
    kept = dict(list(entries.items())[-KEEP_ENTRIES:])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda f: json.dump(kept, f), text=True)
    except OSError:
        pass


def served(request: Request, folder: Path | None = None) -> Served | None:
    """The recorded service of ``request``, or None."""
    entry = _entries((folder or cache_dir()) / INDEX).get(request.key())
    try:
        return Served(**entry) if entry is not None else None
    except TypeError:  # an entry of another version of the index
        return None


class QuickClassifier:
    """Classifies with the engine a request was last served with, torch-free. Build it with
    :meth:`open`, which answers None whenever that cannot be done exactly."""

    def __init__(self, service: Served, engine: object, labels: tuple[str, ...]) -> None:
        self.service, self._engine, self._labels = service, engine, labels

    @classmethod
    def open(cls, request: Request, folder: Path | None = None) -> QuickClassifier | None:
        folder = folder or cache_dir()
        service = served(request, folder)
        if service is None or service.device != "cpu" or service.engine not in RUNTIMES:
            return None
        graph = folder / service.graph
        try:
            labels = class_labels(service.num_classes, None, service.file)
            opened = open_regular(graph, limit=service.graph_bytes)  # never a link, pipe or larger file
            # The runtime reads the graph from its file (half the time of reading it from bytes)
            # while the files are hashed beside it: 0.45 s, where one after the other took 0.75 s.
            unchanged, engine = overlapped(lambda: _unchanged(service, opened),
                                           lambda: RUNTIMES[service.engine].make(graph, service.precision))
        except Exception:  # a file gone, unreadable or not a file, labels changed, a runtime missing or broken
            return None
        if not unchanged:
            return None  # a file changed since: its weights are not the graph's
        return cls(service, engine, labels)

    def classify(self, image: Image.Image, name: str, topk: int = 5) -> Prediction:
        """Top-``topk`` classes of a decoded image, preprocessed exactly as the Classifier does."""
        s = self.service
        batch = preprocess_array(image, s.resize, s.crop)[np.newaxis]
        start = time.perf_counter()
        logits = self._engine.run(batch)  # type: ignore[attr-defined]
        latency_ms = (time.perf_counter() - start) * 1000
        top = top_classes(logits[0], self._labels, topk)
        return Prediction(name, top, s.device, latency_ms, s.trained, s.precision, s.engine)

    def classify_path(self, path: str | Path, topk: int = 5) -> Prediction:
        """Decode (raises ImageError, full decode as the Classifier's default) and classify a file."""
        return self.classify(load_image(path), str(path), topk)


def _unchanged(service: Served, graph: int) -> bool:
    """Whether the checkpoint and the graph (open on the descriptor ``graph``, closed here) still
    have the SHA-256 they had when the entry was written."""
    with os.fdopen(graph, "rb") as f:
        if service.file is not None and sha256_of(service.file) != service.sha256:
            return False
        return os.fstat(f.fileno()).st_size == service.graph_bytes and sha256_of_open(f) == service.graph_sha256


def _entries(path: Path) -> dict[str, dict]:
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return entries if isinstance(entries, dict) else {}


@functools.lru_cache(maxsize=1)
def _context() -> tuple[dict[str, str | None], list[str]]:
    """What else decides how a request is served: the installed versions and the CPU's features."""
    versions = {}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions, sorted(cpu_flags())
