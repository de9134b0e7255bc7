"""Stage 3 of loading (``explorer.core.loading.pipeline``), the state dict: a checkpoint file read
into a flat tensor dict without running anything. torch.save's zip and legacy pickle formats go
through ``torch.load(weights_only=True)`` only, safetensors through its own reader (the format is
detected from the content, not the suffix); TorchScript archives, pickles with code, web pages and
damaged files are refused in one line; ``state_dict``/``model`` nesting and DataParallel, DDP,
``torch.compile`` and Lightning prefixes are unwrapped.

Core layer, pure PyTorch (+ safetensors). Nothing here looks at what the tensors hold: the
architecture stage reads their shapes, the checks their sizes and values.
"""

from __future__ import annotations

import os
import pickle
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch

from explorer.core.files import file_problem
from explorer.core.loading.download import sha256_of
from explorer.core.loading.errors import WeightsError
from explorer.core.loading.sources import CHECKPOINT_SUFFIXES, SOURCES_TEXT
from explorer.core.network.memory import MemoryLimitError, check_fits, gib
from explorer.core.text import first_line, os_reason, shown


# Containers that training scripts wrap a state_dict in (Lightning/timm: state_dict; torchvision's
# reference scripts: model), tried in this order.
_WRAPPER_KEYS = ("state_dict", "model", "model_state_dict", "module")
# Prefixes added by DataParallel/DDP (module.), torch.compile (_orig_mod.) and Lightning (model.).
_PREFIXES = ("module.", "_orig_mod.", "model.")
# What torch's weights-only unpickler says about a reference to code (torch/_weights_only_unpickler.py).
_CODE_SIGNS = ("unsupported global", "is blocked", "unrecognized function", "can only build", "can only create new object")
# How web pages and other text begin (an HTML login wall answered with 200, an error page).
_TEXT_STARTS = (b"<", b"{", b"\xef\xbb\xbf<")


@dataclass(frozen=True)
class Checkpoint:
    """What a file holds: its flat, prefix-free tensors and its SHA-256 hex digest."""

    state: dict[str, torch.Tensor]
    sha256: str


def read_checkpoint(path: str | Path, name: str | None = None) -> Checkpoint:
    """Stage 3: the tensors in a checkpoint file and the file's SHA-256.

    Args:
        name: how messages name the file (default: the path, escaped); a download being checked
            before it enters the cache is named by its URL.

    Raises:
        WeightsError: missing, unreadable, empty, not a checkpoint (a web page among them),
            truncated or damaged, a TorchScript archive, or a pickle with code in it.
    """
    path = Path(path)
    name = name if name is not None else shown(path)
    problem = file_problem(path)
    if problem:
        raise WeightsError(f"{name}: {problem}; give a checkpoint file, an http(s):// URL or one of {SOURCES_TEXT}")
    try:
        with path.open("rb") as f:
            head = f.read(16)
            size = os.fstat(f.fileno()).st_size
        if not head:
            raise WeightsError(f"{name}: empty file")
        try:  # every reader holds the whole file's tensors: a file larger than memory is refused unread
            check_fits(f"{name}: a file of {gib(size)}", size)
        except MemoryLimitError as exc:
            raise WeightsError(str(exc)) from None
        if _looks_like_safetensors(head):
            loaded: Any = _load_safetensors(path, name)
        elif head.startswith(b"PK\x03\x04") or head[0] == 0x80:  # torch.save's zip format, or a legacy pickle
            loaded = _load_torch(path, name)
        else:
            kind = " (it is a web page or other text)" if head.lstrip().startswith(_TEXT_STARTS) else ""
            raise WeightsError(f"{name}: not a PyTorch ({', '.join(CHECKPOINT_SUFFIXES[:3])}) or safetensors checkpoint{kind}")
        return Checkpoint(normalize_state_dict(loaded, name), sha256_of(path))
    except OSError as exc:  # unreadable after all, or it vanished
        raise WeightsError(f"{name}: cannot read ({os_reason(exc)})") from None


def _looks_like_safetensors(head: bytes) -> bool:
    # Format: 8-byte little-endian header length, then a JSON header starting with "{".
    return len(head) >= 9 and head[8:9] == b"{" and 2 <= int.from_bytes(head[:8], "little") < 100_000_000


def _load_safetensors(path: Path, name: str) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except Exception as exc:  # SafetensorError, OSError, ...: all mean a bad file
        raise WeightsError(f"{name}: unreadable safetensors file ({first_line(exc)})") from None


def _load_torch(path: Path, name: str) -> Any:
    if _is_torchscript(path):
        raise WeightsError(
            f"{name}: a TorchScript archive (torch.jit.save), not a checkpoint; save the model's "
            "state_dict() with torch.save instead"
        )
    try:
        with warnings.catch_warnings():  # e.g. "Detected pickle protocol": nothing the user can act on
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's weights-only unpickler names a function, class or module outside its allowlist
        # when the file refers to one: that is code. Anything else (an unknown opcode such as the 0
        # of a zero-filled file, a broken stream) is a damaged pickle, not a dangerous one.
        if any(sign in str(exc).lower() for sign in _CODE_SIGNS):
            raise WeightsError(
                f"{name}: refused: the file holds Python objects besides tensors, and unpickling them could "
                "run code (only weights_only checkpoints are accepted)"
            ) from None
        raise WeightsError(f"{name}: damaged or not a checkpoint (not a valid pickle: {_pickle_reason(exc)})") from None
    except Exception as exc:  # RuntimeError (bad zip), EOFError, ValueError, ... on damaged files
        raise WeightsError(f"{name}: truncated or corrupt checkpoint ({first_line(exc)})") from None


def _pickle_reason(exc: Exception) -> str:
    """The unpickler's own reason (``Unsupported operand 0``) without torch's advice around it."""
    lines = [line.strip() for line in str(exc).splitlines()]
    return next((line for line in lines if line.lower().startswith("unsupported")), first_line(exc))


def _is_torchscript(path: Path) -> bool:
    """torch.jit.save writes a zip with ``constants.pkl`` and compiled ``code/``; torch.save never does."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any(n.rsplit("/", 1)[-1] == "constants.pkl" or "/code/" in n for n in archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):  # not a (readable) zip: torch.load will say so
        return False


def normalize_state_dict(loaded: Any, name: str | Path = "<checkpoint>") -> dict[str, torch.Tensor]:
    """Unwrap ``state_dict``/``model`` nesting, keep the tensors, strip prefixes shared by all keys."""
    for _ in range(len(_WRAPPER_KEYS) + 1):
        if not isinstance(loaded, Mapping):
            break
        inner = next((loaded[k] for k in _WRAPPER_KEYS if isinstance(loaded.get(k), Mapping)), None)
        if inner is None:
            break
        loaded = inner
    if not isinstance(loaded, Mapping):
        raise WeightsError(f"{shown(name)}: holds a {type(loaded).__name__}, not a state_dict")
    state = {str(k): v for k, v in loaded.items() if isinstance(v, torch.Tensor)}
    if not state:
        raise WeightsError(f"{shown(name)}: contains no tensors")
    stripped = True
    while stripped:
        stripped = False
        for prefix in _PREFIXES:
            if all(k.startswith(prefix) for k in state):
                state = {k[len(prefix):]: v for k, v in state.items()}
                stripped = True
    return state
