"""Checks on paths before they are opened or written, answered in words and never raised (a path
that is missing, a folder, unreadable, too long for the file system, a folder that cannot be
written, a device), the one writer every output goes through, and the one way files are hashed
(SHA-256 in pieces). Python 3.11's ``Path.exists``/``is_dir`` raise ``OSError`` on a 300-byte name;
these do not.

Core layer, standard library only. The writer (:func:`write_atomically`, and
:func:`write_atomically_named` for libraries that open the file themselves) never replaces what is
not a regular file (``/dev/full``, a FIFO, a socket: renaming over them would destroy the node),
writes through a symbolic link to its target, fills a temporary file beside the target and renames
it over the target only when complete (a reader never sees half a file, a failure leaves the old
one), and keeps an existing file's mode and owner; a new file gets the umask's mode, as ``open``
would give it.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO

from explorer.core.text import os_reason, shown

_NAME_MAX = 255  # where the file system does not say (pathconf)
_SUFFIX_KEPT = 16  # bytes of the target's suffix the temporary name keeps (exporters choose the format by it)


class OutputError(ValueError):
    """An output that cannot be written; ``str(e)`` is ``"<path>: cannot write (<reason>)"`` on one
    line, ``reason`` the words alone. Any earlier file at the path is untouched."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{shown(self.path)}: cannot write ({reason})")


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


def folder_problem(folder: str | Path, writable: bool = True) -> str | None:
    """Why ``folder`` cannot be listed, or with ``writable`` have files created in it ("no such
    folder", "not a folder", "not writable (permission denied)", "file name too long", ...), or None."""
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
    if writable and not os.access(folder, os.W_OK | os.X_OK):
        return "not writable (permission denied)"
    if not writable and not os.access(folder, os.R_OK | os.X_OK):
        return "not readable (permission denied)"
    return None


def is_folder(path: str | Path) -> bool:
    """``Path.is_dir`` that answers False instead of raising (long names, NUL bytes, permissions)."""
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def check_output(path: str | Path) -> None:
    """Raise OutputError when ``path`` cannot be written, by the rules :func:`write_atomically`
    applies: checked before any work is done."""
    reason = _output_reason(path)
    if reason is not None:
        raise OutputError(path, reason)


def output_problem(path: str | Path) -> str | None:
    """:func:`check_output`'s refusal in words (``"<path>: cannot write (<reason>)"``), or None."""
    try:
        check_output(path)
    except OutputError as exc:
        return str(exc)
    return None


def _output_reason(path: str | Path) -> str | None:
    text = os.fspath(path)
    if not text:
        return "no file name"
    if "\0" in text:
        return "the name contains a NUL character"
    target = _destination(path)
    try:
        mode: int | None = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:  # too long a name, a loop of links, a file where a folder should be
        return os_reason(exc)
    if mode is not None and stat.S_ISDIR(mode):
        return "it is a folder"
    if mode is not None and not stat.S_ISREG(mode):
        return "not a regular file: a device, pipe or socket is never replaced"
    shown_folder = target.parent if os.path.islink(text) else Path(text).parent  # the folder as the user named it
    reason = folder_problem(target.parent)
    if reason:
        return f"folder {shown(shown_folder)}: {reason}"
    if len(os.fsencode(target.name)) > _name_max(target.parent):
        return "file name too long"
    return None


def write_atomically(path: str | Path, write: Callable[[IO], None], text: bool = False, durable: bool = True) -> None:
    """Call ``write`` on a temporary file beside ``path`` (utf-8 text with ``text``), then move it
    into place, as the module says; with ``durable`` the bytes reach the disk before the rename (so
    a crash leaves the old file or the new one, never an empty one).

    Raises:
        OutputError: the destination is refused or the file system failed; nothing was replaced.
    """

    def fill(fd: int, _temp: str) -> None:
        with os.fdopen(fd, "w" if text else "wb", **({"newline": "", "encoding": "utf-8"} if text else {})) as f:
            write(f)
            f.flush()
            if durable:
                os.fsync(f.fileno())

    _replace(path, fill)


def write_atomically_named(path: str | Path, write: Callable[[str], None]) -> None:
    """:func:`write_atomically` for a library that opens the file by name itself (pyqtgraph's
    exporters, Qt's SVG generator): ``write(temp_name)``; the temporary name ends with ``path``'s
    suffix, since such writers choose the format by it. A file that comes out empty (a silent
    failure of the library) is refused.
    """

    def fill(fd: int, temp: str) -> None:
        os.close(fd)
        write(temp)
        with open(temp, "rb") as f:
            if os.fstat(f.fileno()).st_size == 0:
                raise OSError("the file came out empty")
            os.fsync(f.fileno())

    _replace(path, fill)


def _replace(path: str | Path, fill: Callable[[int, str], None]) -> None:
    check_output(path)
    target = _destination(path)
    try:
        before = os.stat(target)
    except FileNotFoundError:
        before = None
    except OSError as exc:
        raise OutputError(path, os_reason(exc)) from None
    temp = None
    try:
        fd, temp = _temporary_beside(target)
        fill(fd, temp)
        if before is not None:
            _keep_mode_and_owner(temp, before)
        os.replace(temp, target)
        temp = None
    except OSError as exc:
        raise OutputError(path, os_reason(exc)) from None
    finally:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)


def _destination(path: str | Path) -> Path:
    """Where the bytes go: a symbolic link's target (a link is written through, never replaced)."""
    return Path(os.path.realpath(path))


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return _NAME_MAX


def _temporary_beside(target: Path) -> tuple[int, str]:
    """A new hidden file ``.<name>.<random><suffix>`` beside ``target``, opened for writing with mode
    0666 less the umask, its name cut to fit the file system's limit (a 255-byte target name still
    gets one)."""
    limit = _name_max(target.parent)
    suffix = target.suffix if len(os.fsencode(target.suffix)) <= _SUFFIX_KEPT else ""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    while True:
        token = secrets.token_hex(4)
        room = limit - len(f"..{token}") - len(os.fsencode(suffix))
        name = f".{os.fsdecode(os.fsencode(target.name)[:room])}.{token}{suffix}"
        temp = str(target.parent / name)
        try:
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:  # another writer's temporary file: draw again
            continue


def _keep_mode_and_owner(temp: str, before: os.stat_result) -> None:
    """The replaced file's owner (where this process may give it, e.g. as root) and mode."""
    if (before.st_uid, before.st_gid) != (os.geteuid(), os.getegid()):
        try:
            os.chown(temp, before.st_uid, before.st_gid)
        except OSError:  # only root may give a file away: it stays this user's
            pass
    os.chmod(temp, stat.S_IMODE(before.st_mode))


def sha256_of(path: str | Path) -> str:
    """The SHA-256 hex digest of a regular file's bytes (a link is followed), read in pieces of
    1 MiB (hashlib lets other threads run meanwhile).

    Raises:
        RefusedFile: a pipe, socket or device (a pipe would block the open, a device never end).
        OSError: it could not be read.
    """
    with os.fdopen(open_regular(path, follow_links=True), "rb") as f:
        return sha256_of_open(f)


def sha256_of_open(f: IO[bytes]) -> str:
    """The SHA-256 hex digest of what is left to read in ``f`` (such as a descriptor from
    :func:`open_regular`: the very file that was checked), read in pieces of 1 MiB."""
    digest = hashlib.sha256()
    while block := f.read(1 << 20):
        digest.update(block)
    return digest.hexdigest()


class RefusedFile(OSError):
    """A file :func:`open_regular` would not open: ``why`` says what it is instead, in words."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def open_regular(path: str | Path, follow_links: bool = False, limit: int | None = None,
                 too_large: str = "more than expected") -> int:
    """A descriptor open for reading on ``path`` when it is a regular file (of at most ``limit``
    bytes): opened without blocking, so a pipe is refused rather than waited on.

    Raises:
        FileNotFoundError: there is none.
        RefusedFile: a symbolic link (unless ``follow_links``), a pipe, socket or device, or larger
            than ``limit`` (``too_large`` ends the reason: "6,144 MiB, <too_large> (221 MiB)").
        OSError: it could not be opened.
    """
    nofollow = 0 if follow_links else getattr(os, "O_NOFOLLOW", 0)
    flags = os.O_RDONLY | nofollow | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_links:  # O_NOFOLLOW met a symbolic link
            raise RefusedFile("a symbolic link, not a file this app wrote") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RefusedFile("not a regular file (a pipe, socket or device)")
        if limit is not None and info.st_size > limit:
            raise RefusedFile(f"{info.st_size / 2**20:,.0f} MiB, {too_large} ({limit / 2**20:,.0f} MiB)")
    except BaseException:
        os.close(fd)
        raise
    return fd
