"""Fetch a file into torch.hub's cache (``torch.hub.get_dir()/checkpoints``, shared with
torchvision), the way ``torch.hub.download_url_to_file`` does it: stream into a ``.partial`` file
beside the target, check the SHA-256 prefix (and, where the caller gives one, the content), and move
it into place only when complete, so a broken transfer never leaves a file that looks usable. The
bytes stage of loading (``explorer.core.loading.fetch``) calls it.

A partial file is locked while its download runs (``flock``, where the system has it); one of this
app's partials that no live download holds and that is older than :data:`PARTIAL_GRACE_S` is
removed by the next download into the folder, so a process killed mid-transfer (SIGTERM, SIGHUP,
SIGKILL) leaves nothing behind for long. torch.hub's own partials are never touched.

Core layer, standard library + torch (for the cache's location). Written out rather than calling
``download_url_to_file`` because that function has no timeout, no progress callback and no cancel.
Here the network is read on a daemon thread in pieces of at most :data:`CHUNK_BYTES`, while the
calling thread writes the file, reports progress and every :data:`POLL_S` checks the cancel flag and
two deadlines: no answer at all for ``timeout`` seconds, and too few bytes in a window of
``stall_window`` seconds (a server that trickles one byte a second never trips a socket timeout).
A stopped download never waits for the network: the reader thread is left to end on its own.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import queue
import re
import socket
import stat
import threading
import time
import uuid
from pathlib import Path
from typing import IO, Callable
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

import torch

try:  # POSIX: a download holds a lock on its partial file, so a sweep can tell a live one from a dead one
    import fcntl
except ImportError:  # Windows: a file that is open cannot be removed, which protects a live download
    fcntl = None  # type: ignore[assignment]

from explorer.core.files import sha256_of
from explorer.core.text import first_line, one_line, os_reason, shown

CHUNK_BYTES = 1 << 16
# Name lookup, connecting and the wait for an answer each get this long, and so does any silence
# during the transfer: offline or with a dead server a download fails in about this time.
TIMEOUT_S = 6.0
POLL_S = 0.1  # cancel and the deadlines are checked this often
# Progress deadline: fewer bytes than this in any window of STALL_WINDOW_S fails the download
# (6.4 kB/s: a 100 MB checkpoint would take over four hours).
STALL_WINDOW_S = 10.0
MIN_WINDOW_BYTES = 1 << 16
_QUEUED_PIECES = 64  # at most 4 MiB read ahead of the writer
_DIGITS = re.compile(r"[0-9]+")
# This app's partial files: "<target name>.<32 hex digits>.resnet-explorer.partial" (torch.hub's are
# "<target name>.<32 hex digits>.partial": those belong to it).
PARTIAL_SUFFIX = ".resnet-explorer.partial"
_PARTIAL = re.compile(r".+\.[0-9a-f]{32}" + re.escape(PARTIAL_SUFFIX))
# A partial younger than this is never swept: a download creates its file a moment before it locks it.
PARTIAL_GRACE_S = 60.0

Progress = Callable[[int, int], None]  # (bytes so far, total bytes or 0 when the server does not say)
Cancel = Callable[[], bool]


class DownloadError(RuntimeError):
    """The download failed; ``str(e)`` is one line with the reason. Nothing was written to the cache."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


class DownloadCancelled(DownloadError):
    """The cancel callback asked to stop; the partial file was removed."""


class HashMismatch(DownloadError):
    """The server answered, but the file's SHA-256 is not the one its name promises; nothing was kept."""


class CacheError(DownloadError):
    """The cache cannot be read or written (read-only, ``TORCH_HOME`` pointing at a file, a folder
    where the file should be); not a network problem."""


def cache_dir() -> Path:
    """Where checkpoints live: torch.hub's cache (``$TORCH_HOME/hub/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def fetch(
    url: str,
    filename: str,
    sha256_prefix: str | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    timeout: float = TIMEOUT_S,
    stall_window: float = STALL_WINDOW_S,
    min_window_bytes: int = MIN_WINDOW_BYTES,
    check: Callable[[Path], object] | None = None,
) -> Path:
    """Return the cached ``filename``, downloading it from ``url`` first if it is missing or its
    hash does not match ``sha256_prefix``. Stale partial files of earlier downloads are removed first.

    Args:
        check: called with the complete download (still under its partial name) before it is moved
            into the cache; whatever it raises propagates, and nothing is kept.

    Raises:
        DownloadError: network failure, timeout, a stalled or malformed transfer.
        HashMismatch: the file's SHA-256 does not start with ``sha256_prefix``.
        CacheError: the cache cannot be written.
        DownloadCancelled: ``cancel()`` returned True (checked every :data:`POLL_S`).
    """
    target = cache_dir() / filename
    if _cached(target, sha256_prefix):
        return target
    host = urlsplit(url).hostname
    if not host:
        raise DownloadError(f"not a download URL: {shown(url)}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        sweep_partials(target.parent)
        partial = target.with_name(f"{target.name}.{uuid.uuid4().hex}{PARTIAL_SUFFIX}")
        out = partial.open("xb")
    except OSError as exc:
        raise CacheError(f"cannot write to the cache folder {shown(target.parent)} ({os_reason(exc)})") from None
    try:
        with out:
            _lock(out)
            digest = _Transfer(url, host, timeout, stall_window, min_window_bytes).into(out, progress, cancel)
            if sha256_prefix is not None and not digest.startswith(sha256_prefix):
                raise HashMismatch(
                    f"{shown(url)}: downloaded file has SHA-256 {digest[:16]}..., expected it to start with {sha256_prefix} "
                    "(corrupted or replaced on the server); nothing was kept"
                )
            if check is not None:
                try:
                    out.flush()
                except OSError as exc:
                    raise CacheError(f"cannot write {shown(partial)} ({os_reason(exc)})") from None
                check(partial)
        try:
            os.replace(partial, target)  # atomic on one file system: the target is whole or absent
        except OSError as exc:
            raise CacheError(f"cannot write {shown(target)} ({os_reason(exc)})") from None
    finally:
        _remove_quietly(partial)
    return target


def _cached(target: Path, sha256_prefix: str | None) -> bool:
    """True when a usable copy is in the cache; CacheError when something unusable is in the way."""
    try:
        if target.is_dir():
            raise CacheError(f"{shown(target)} is a folder where the downloaded file belongs; remove it")
        if not target.is_file():
            return False
        return sha256_prefix is None or sha256_of(target).startswith(sha256_prefix)
    except OSError as exc:
        raise CacheError(f"cannot read the cache at {shown(target)} ({os_reason(exc)})") from None


def sweep_partials(folder: Path) -> None:
    """Remove this app's partial files in ``folder`` that no live download holds (see the module
    docstring); anything else, and anything that cannot be examined, is left alone."""
    now = time.time()
    try:
        entries = list(folder.iterdir())
    except OSError:  # a folder that cannot be listed: the download itself will say what is wrong
        return
    for entry in entries:
        if not _PARTIAL.fullmatch(entry.name):
            continue
        try:
            info = entry.lstat()
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode) and now - info.st_mtime > PARTIAL_GRACE_S and not _held(entry):
            _remove_quietly(entry)


def _lock(out: IO[bytes]) -> None:
    if fcntl is not None:
        try:
            fcntl.flock(out.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # a file system without locks: the grace period alone protects this download
            pass


def _held(path: Path) -> bool:
    """True when a live download holds ``path`` (or when that cannot be told: then it is kept)."""
    if fcntl is None:
        return False  # Windows refuses to remove a file that is open
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except OSError:  # BlockingIOError: locked by a live download; anything else: cannot tell
        return True
    finally:
        os.close(fd)  # releases the probe's lock too


def _remove_quietly(path: Path) -> None:
    # Cleanup must never hide the error being raised: on a read-only file system even unlinking a
    # file that was never created fails (EROFS), which would replace the real message.
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


class _Transfer:
    """One HTTP GET read on a daemon thread; :meth:`into` consumes it on the calling thread."""

    def __init__(self, url: str, host: str, timeout: float, stall_window: float, min_window_bytes: int) -> None:
        self.url, self.host, self.timeout = url, host, timeout
        self.stall_window, self.min_window_bytes = stall_window, min_window_bytes
        self.events: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=_QUEUED_PIECES)
        self.stop = threading.Event()

    def into(self, out: IO[bytes], progress: Progress | None, cancel: Cancel | None) -> str:
        """Write the body to ``out``; the SHA-256 hex digest of what was written."""
        reader = threading.Thread(target=self._read, name=f"download-{self.host}", daemon=True)
        reader.start()
        try:
            return self._consume(out, progress, cancel)
        finally:
            self.stop.set()  # the reader ends after its current read; nobody waits for it

    def _consume(self, out: IO[bytes], progress: Progress | None, cancel: Cancel | None) -> str:
        digest = hashlib.sha256()
        phase, total, received = "resolve", 0, 0
        last_event = window_start = time.monotonic()
        window_bytes, window_needed = 0, self.min_window_bytes
        while True:
            if cancel is not None and cancel():
                raise DownloadCancelled(f"download of {shown(self.url)} cancelled")
            try:
                kind, value = self.events.get(timeout=POLL_S)
            except queue.Empty:
                kind, value = "", None
            now = time.monotonic()
            if kind == "error":
                raise value  # type: ignore[misc] - a DownloadError made by the reader
            if kind == "resolved":
                phase = "answer"
            elif kind == "headers":
                phase, total = "body", int(value)  # type: ignore[arg-type]
                window_start, window_needed = now, min(self.min_window_bytes, total or self.min_window_bytes)
                if progress:
                    progress(0, total)
            elif kind == "data":
                piece: bytes = value  # type: ignore[assignment]
                try:
                    out.write(piece)
                except OSError as exc:
                    raise CacheError(f"cannot write {shown(getattr(out, 'name', 'the partial file'))} ({os_reason(exc)})") from None
                digest.update(piece)
                received += len(piece)
                window_bytes += len(piece)
                if progress:
                    progress(received, total)
            elif kind == "end":
                break
            if kind:
                last_event = now
            elif now - last_event > self.timeout:
                raise DownloadError(self._silence(phase))
            if phase == "body" and now - window_start >= self.stall_window:
                if window_bytes < window_needed:
                    raise DownloadError(
                        f"{shown(self.url)}: stalled: {window_bytes} bytes in the last {self.stall_window:g} s "
                        f"(at least {window_needed} expected; server too slow or stuck)"
                    )
                remaining = total - received if total else self.min_window_bytes
                window_start, window_bytes, window_needed = now, 0, min(self.min_window_bytes, max(remaining, 1))
        if total and received != total:
            raise DownloadError(f"{shown(self.url)}: transfer interrupted after {received} of {total} bytes")
        return digest.hexdigest()

    def _silence(self, phase: str) -> str:
        if phase == "resolve":
            return f"cannot resolve {shown(self.host)} within {self.timeout:g} s"
        if phase == "answer":
            return f"{shown(self.url)}: no answer within the timeout ({self.timeout:g} s)"
        return f"{shown(self.url)}: no data for {self.timeout:g} s (server stalled)"

    # -- the reader thread ---------------------------------------------------------------------

    def _put(self, kind: str, value: object = None) -> bool:
        """Queue an event for the consumer; False once the consumer has stopped listening."""
        while not self.stop.is_set():
            try:
                self.events.put((kind, value), timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _read(self) -> None:
        try:
            try:
                socket.getaddrinfo(self.host, None)
            except OSError as exc:
                raise DownloadError(f"cannot resolve {shown(self.host)} ({_reason(exc, self.timeout)})") from None
            if not self._put("resolved"):
                return
            request = Request(self.url, headers={"User-Agent": "resnet-explorer"})
            with urlopen(request, timeout=self.timeout) as response:
                if not self._put("headers", _content_length(self.url, response.headers.get_all("Content-Length"))):
                    return
                while not self.stop.is_set():
                    piece = response.read1(CHUNK_BYTES)  # returns what has arrived, at most CHUNK_BYTES
                    if not piece:
                        break
                    if not self._put("data", piece):
                        return
            self._put("end")
        except DownloadError as exc:
            self._put("error", exc)
        except HTTPError as exc:
            self._put("error", DownloadError(f"{shown(self.url)}: HTTP {exc.code} {one_line(exc.reason)}"))
        except URLError as exc:
            self._put("error", DownloadError(f"{shown(self.url)}: {_reason(exc.reason, self.timeout)}"))
        except (OSError, http.client.HTTPException, ValueError) as exc:  # timeouts, resets, bad answers
            self._put("error", DownloadError(f"{shown(self.url)}: {_reason(exc, self.timeout)}"))


def _content_length(url: str, values: list[str] | None) -> int:
    """The announced size, 0 when the server does not say. RFC 9110 section 8.6: a list of equal
    values counts as one; anything else that is not a non-negative integer is refused."""
    if not values:
        return 0
    parts = [p.strip() for value in values for p in value.split(",")]
    if not all(_DIGITS.fullmatch(p) for p in parts) or len({int(p) for p in parts}) != 1:
        raise DownloadError(f"{shown(url)}: the server sent an invalid Content-Length ({one_line(', '.join(values))[:60]})")
    return int(parts[0])


def _reason(reason: object, timeout: float) -> str:
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return f"no answer within the timeout ({timeout:g} s)"
    if isinstance(reason, socket.gaierror):
        return one_line(str(reason.strerror or reason)).lower()
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, http.client.HTTPException):
        return f"not a valid HTTP answer ({type(reason).__name__}: {first_line(reason)})"
    if isinstance(reason, OSError) and reason.errno is not None:
        return os_reason(reason)
    if isinstance(reason, BaseException):
        return first_line(reason)
    return one_line(reason) or type(reason).__name__
