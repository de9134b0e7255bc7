"""Checks on paths before they are opened or written, answered in words and never raised: a path
that is missing, a folder, unreadable, too long for the file system, or a folder that cannot be
written. Python 3.11's ``Path.exists``/``is_dir`` raise ``OSError`` on a 300-byte name; these do not.
Also the two ways files are written and hashed everywhere: atomically, and SHA-256 in pieces.

Core layer, standard library only.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from explorer.core.text import os_reason


def file_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be read as a file ("no such file or folder", "is a folder, not a file",
    "not a regular file", "permission denied", "file name too long", ...), or None when it can be
    opened."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return os_reason(exc)
    except ValueError:  # an embedded NUL byte
        return "the name contains a NUL character"
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if not stat.S_ISREG(mode):  # opening a pipe would wait for a writer forever
        return "not a regular file (a pipe, socket or device)"
    if not os.access(path, os.R_OK):
        return "permission denied"
    return None


def folder_problem(folder: str | Path) -> str | None:
    """Why files cannot be created in ``folder`` ("no such folder", "not a folder", "not writable
    (permission denied)", ...), or None when they can."""
    try:
        mode = os.stat(folder).st_mode
    except FileNotFoundError:
        return "no such folder"
    except OSError as exc:
        return os_reason(exc)
    except ValueError:
        return "the name contains a NUL character"
    if not stat.S_ISDIR(mode):
        return "not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return "not writable (permission denied)"
    return None


def is_folder(path: str | Path) -> bool:
    """``Path.is_dir`` that answers False instead of raising (long names, NUL bytes, permissions)."""
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def write_atomically(path: Path, write: Callable[[IO], None], text: bool = False) -> None:
    """Call ``write`` on a temporary file beside ``path`` and move it into place, so a reader never
    sees a half-written file and a failure leaves any earlier file intact."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w" if text else "wb", **({"newline": "", "encoding": "utf-8"} if text else {})) as f:
            write(f)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def sha256_of(path: str | Path) -> str:
    """The SHA-256 hex digest of a file's bytes, read in pieces of 1 MiB (hashlib lets other threads
    run meanwhile)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
