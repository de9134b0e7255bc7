"""The disk cache of exported models: one ONNX file per architecture and set of weights, in a folder
beside torch.hub's (``$TORCH_HOME/resnet-explorer/engines``, by default ``~/.cache/torch/...``),
or wherever ``RESNET_EXPLORER_ENGINE_CACHE`` points.

Core layer, pure PyTorch. The key hashes what the file is made from: the exporter's version, the
model's torch.fx graph (its forward as traced), the class and plain settings of every module
(kernels, strides, groups, the model's own switches) and every tensor of its state_dict. The file
itself does not depend on the engine, the precision or the input size (its dimensions are
symbolic): onnxruntime and OpenVINO both read it and optimise it for this CPU when they load it.
Writes are atomic (explorer.core.files), the newest :data:`KEEP` files are kept, and a folder that
cannot be written only costs the cache, with one note per process: the model is then exported again
on each load. Only what this app wrote is ever deleted: files named by :func:`model_key`, in a folder
carrying the tag it writes when it creates the folder. A cache file is opened only when it is a
regular file no larger than the model can make (:func:`size_limit`), and read by the runtime from
its path; anything else is made again with a note, so a pipe, a link to a device or a huge sparse
file there neither hangs nor fills memory.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import torch
from torch import nn

from explorer.core.files import OutputError, RefusedFile, open_regular, write_atomically
from explorer.core.inference.engines.onnx_graph import EXPORTER_VERSION
from explorer.core.inference.quick import ENV_VAR, INDEX, cache_dir  # noqa: F401 - also this module's API
from explorer.core.network.counts import FLOAT32_BYTES
from explorer.core.text import os_reason, shown

KEEP = 8  # ResNet-50's file is 100 MB, ResNet-152's 240 MB
SUFFIX = ".onnx"
# The folder's tag, in the Cache Directory Tagging format (backup tools skip such folders); this
# app prunes only a folder whose tag it wrote, and there only names of _KEY_FILE's pattern.
TAG = "CACHEDIR.TAG"
TAG_TEXT = ("Signature: 8a477f597d28d172789f06886806bc55\n"
            "# This file is a cache directory tag created by resnet-explorer: exported engines, made again when missing.\n")
_KEY_FILE = re.compile(r"[0-9a-f]{16}-[0-9a-f]{32}" + re.escape(SUFFIX))  # model_key's form
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
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


def size_limit(model: nn.Module) -> int:
    """The most bytes a cache file of ``model`` may have: its tensors in float32 (folding BatchNorm
    only removes some) twice over, for the graph's own bytes and a margin, and 16 MiB. A larger file
    is not one this app wrote for this model, and is never read (ResNet-50: 221 MB; its file is 100 MB)."""
    elements = sum(t.numel() for t in model.state_dict().values())
    return 2 * FLOAT32_BYTES * elements + 16 * 2**20


class Store:
    """The cache folder as seen by one load; problems with it go to ``notes`` (a folder that cannot
    be written once per process)."""

    def __init__(self, notes: list[str], folder: Path | None = None) -> None:
        self.folder = folder or cache_dir()
        self._notes = notes

    def path(self, key: str) -> Path:
        return self.folder / f"{key}{SUFFIX}"

    def find(self, key: str, limit: int) -> Path | None:
        """The cached file, for the runtime to read (OpenVINO reads ResNet-152's 240 MB from a file
        in 0.3 s, from bytes in 0.5 s after 0.26 s of reading them here), or None when there is none
        (or it cannot be opened). An entry that is not a regular file of at most ``limit`` bytes (a
        link, a pipe that would block the open, a device or sparse giant that would fill the memory)
        is never opened by the runtime: it is removed, with a note, and the model exported again."""
        path = self.path(key)
        try:
            os.close(open_regular(path, limit=limit, too_large="more than a model of this architecture takes"))
            os.utime(path, follow_symlinks=False)  # recently used: kept longest
        except FileNotFoundError:
            return None
        except RefusedFile as exc:
            self._refuse(key, exc.why)
            return None
        except OSError:
            return None
        return path

    def write(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` atomically, then prune (:meth:`_prune`)."""
        try:
            self._own_folder()
            # Not made durable: a file torn by a crash fails the engine's check and is made again.
            write_atomically(self.path(key), lambda f: f.write(data), durable=False)
        except (OSError, OutputError) as exc:
            if self.folder not in _told:
                _told.add(self.folder)
                reason = exc.reason if isinstance(exc, OutputError) else os_reason(exc)
                self._notes.append(f"engine cache {shown(self.folder)} cannot be written ({reason}); "
                                   "exported models are kept in memory only")
        self._prune()

    def discard(self, key: str) -> None:
        """Remove an entry that is damaged or not a file (quietly: a folder that cannot be written is
        reported on write)."""
        try:
            self.path(key).unlink(missing_ok=True)
        except OSError:
            pass

    def _refuse(self, key: str, why: str) -> None:
        self.discard(key)
        self._notes.append(f"the cached engine file {shown(self.path(key))} is {why}; it was made again")

    def _own_folder(self) -> None:
        """Create the folder with the tag that marks it as this app's; tag an existing folder only
        when everything in it is this app's (empty, or an older version's cache)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self._owned() and all(_ours(name) for name in os.listdir(self.folder)):
            write_atomically(self.folder / TAG, lambda f: f.write(TAG_TEXT), text=True)

    def _owned(self) -> bool:
        try:
            with open(self.folder / TAG, encoding="utf-8", errors="replace") as f:
                return f.read(len(TAG_TEXT) + 1) == TAG_TEXT
        except OSError:
            return False

    def _prune(self) -> None:
        """Keep the newest :data:`KEEP` files of this app's name pattern, and only in a folder that
        carries its tag: whatever else the folder holds (a user's ``model.onnx``, the root of the
        file system behind a link) is never touched."""
        if not self._owned():
            return
        try:  # another process may be pruning too: a file gone meanwhile is no problem
            stamped = []
            for entry in os.scandir(self.folder):
                if _KEY_FILE.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                    stamped.append((entry.stat(follow_symlinks=False).st_mtime, entry.path))
            for _, old in sorted(stamped, reverse=True)[KEEP:]:
                os.unlink(old)
        except OSError:
            pass


def _ours(name: str) -> bool:
    return name in (TAG, INDEX) or _KEY_FILE.fullmatch(name) is not None
