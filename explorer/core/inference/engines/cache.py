"""The disk cache of exported models: one ONNX file per architecture and set of weights, in a folder
beside torch.hub's (``$TORCH_HOME/resnet-explorer/engines``, by default ``~/.cache/torch/...``),
or wherever ``RESNET_EXPLORER_ENGINE_CACHE`` points.

Core layer, pure PyTorch. The key hashes what the file is made from: the exporter's version, the
model's torch.fx graph (its forward as traced), the class and plain settings of every module
(kernels, strides, groups, the model's own switches) and every tensor of its state_dict. The file
itself does not depend on the engine, the precision or the input size (its dimensions are
symbolic): onnxruntime and OpenVINO both read it and optimise it for this CPU when they load it.
Writes are atomic, the newest :data:`KEEP` files are kept, and a folder that cannot be written
only costs the cache, with one note per process: the model is then exported again on each load.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import torch
from torch import nn

from explorer.core.inference.engines.onnx_graph import EXPORTER_VERSION
from explorer.core.inference.quick import ENV_VAR, cache_dir  # noqa: F401 - also this module's API
from explorer.core.text import os_reason, shown

KEEP = 8  # ResNet-50's file is 100 MB, ResNet-152's 240 MB
SUFFIX = ".onnx"
_told: set[Path] = set()  # folders already reported unwritable in this process


def model_key(model: nn.Module, traced_code: str) -> str:
    """``<architecture digest>-<weights digest>`` of ``model``, whose torch.fx code is ``traced_code``."""
    architecture = hashlib.sha256(f"exporter {EXPORTER_VERSION}\0{traced_code}\0".encode())
    for name, module in model.named_modules():
        architecture.update(f"{name} {type(module).__module__}.{type(module).__qualname__} {_settings(module)}\0".encode())
    weights = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        flat = tensor.detach().to("cpu").contiguous().reshape(-1)
        weights.update(f"{name} {flat.dtype} {tuple(tensor.shape)}\0".encode())
        weights.update(memoryview(flat.view(torch.uint8).numpy()))  # about 0.1 s for ResNet-50's 100 MB
    return f"{architecture.hexdigest()[:16]}-{weights.hexdigest()[:32]}"


def _settings(module: nn.Module) -> list[tuple[str, object]]:
    """A module's plain public attributes: a conv's kernel, stride, padding and groups, a BatchNorm's
    eps, the model's own switches (a block's shortcut, a BatchNorm's mode), ``training``."""
    plain = (bool, int, float, str, tuple, type(None))
    return sorted((k, v) for k, v in vars(module).items() if not k.startswith("_") and isinstance(v, plain))


class Store:
    """The cache folder as seen by one load; problems writing it go to ``notes`` (once per process)."""

    def __init__(self, notes: list[str], folder: Path | None = None) -> None:
        self.folder = folder or cache_dir()
        self._notes = notes

    def path(self, key: str) -> Path:
        return self.folder / f"{key}{SUFFIX}"

    def read(self, key: str) -> bytes | None:
        """The cached file's bytes, or None when there is none (or it cannot be read)."""
        path = self.path(key)
        try:
            data = path.read_bytes()
            os.utime(path)  # recently used: kept longest
        except OSError:
            return None
        return data

    def write(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` atomically, then keep only the newest :data:`KEEP` files."""
        temp: Path | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=self.folder)
            temp = Path(name)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(temp, self.path(key))
            temp = None
        except OSError as exc:
            if self.folder not in _told:
                _told.add(self.folder)
                self._notes.append(f"engine cache {shown(self.folder)} cannot be written ({os_reason(exc)}); "
                                   "exported models are kept in memory only")
        finally:
            if temp is not None:
                temp.unlink(missing_ok=True)
        self._prune()

    def discard(self, key: str) -> None:
        """Remove a damaged entry (quietly: a folder that cannot be written is reported on write)."""
        try:
            self.path(key).unlink(missing_ok=True)
        except OSError:
            pass

    def _prune(self) -> None:
        try:  # another process may be pruning too: a file gone meanwhile is no problem
            stamped = [(p.stat().st_mtime, p) for p in self.folder.glob(f"*{SUFFIX}")]
            for _, old in sorted(stamped, reverse=True)[KEEP:]:
                old.unlink(missing_ok=True)
        except OSError:
            pass
