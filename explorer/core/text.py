"""One-line text for messages: names shown with control characters escaped (a newline as ``\\n``, an
ANSI escape as ``\\x1b``), any library's message folded onto one line, an OSError said in words.

Core layer, pure Python. Every error the core raises is built with these, so that the CLI prints it
as one line and the GUI can put it in a status bar.
"""

from __future__ import annotations

import errno
import os

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Reasons for the errors a file system gives, in the words of the messages around them.
_OS_REASONS = {
    errno.ENOENT: "no such file or folder",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENAMETOOLONG: "file name too long",
    errno.EISDIR: "is a folder",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on the device",
    errno.EEXIST: "already exists",
    errno.ELOOP: "too many levels of symbolic links",
}


def shown(name: object) -> str:
    """``str(name)`` with every non-printable character escaped, so it cannot split a line or
    reach a terminal as a control sequence."""
    text = os.fsdecode(name) if isinstance(name, bytes) else str(name)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _ESCAPES.get(c) or _code(c) for c in text)


def one_line(text: object) -> str:
    """Whitespace runs (line breaks included) folded to single spaces, other control characters
    escaped."""
    return shown(" ".join(str(text).split()))


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (libraries append context below it), escaped; the
    exception's type name when it has no message."""
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return one_line(lines[0]) if lines else type(exc).__name__


def os_reason(exc: OSError) -> str:
    """An OSError in words, without its errno number or the path (the caller names the path)."""
    if exc.errno in _OS_REASONS:
        return _OS_REASONS[exc.errno]
    if exc.strerror:
        return one_line(exc.strerror[:1].lower() + exc.strerror[1:])
    return first_line(exc)


def _code(c: str) -> str:
    point = ord(c)
    return f"\\x{point:02x}" if point < 0x100 else f"\\u{point:04x}" if point < 0x10000 else f"\\U{point:08x}"
