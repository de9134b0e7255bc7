"""Fetch a checkpoint into torch.hub's cache (``torch.hub.get_dir()/checkpoints``, shared with
torchvision), the way ``torch.hub.download_url_to_file`` does it: stream into a ``.partial`` file
beside the target, check the SHA-256 prefix, and move it into place only when complete, so a broken
transfer never leaves a file that looks usable.

Core layer, standard library + torch. Written out rather than calling ``download_url_to_file``
because that function has no network timeout (offline it can hang for minutes), no progress callback
and no way to cancel; here every socket operation times out, progress is reported per chunk and a
cancel flag is checked between chunks.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import threading
import uuid
from pathlib import Path
from typing import Callable
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

import torch

CHUNK_BYTES = 1 << 17
# Name lookup and each socket operation (connect, every read) get this long, so an offline machine
# or a dead server fails in about 2 x this, well under 15 s.
TIMEOUT_S = 6.0

Progress = Callable[[int, int], None]  # (bytes so far, total bytes or 0 when the server does not say)
Cancel = Callable[[], bool]


class DownloadError(RuntimeError):
    """The download failed; ``str(e)`` is one line with the reason. Nothing was written to the cache."""


class DownloadCancelled(DownloadError):
    """The cancel callback asked to stop; the partial file was removed."""


def cache_dir() -> Path:
    """Where checkpoints live: torch.hub's cache (``$TORCH_HOME/hub/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def fetch(
    url: str,
    filename: str,
    sha256_prefix: str | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    timeout: float = TIMEOUT_S,
) -> Path:
    """Return the cached ``filename``, downloading it from ``url`` first if it is missing or its
    hash does not match ``sha256_prefix``.

    Raises:
        DownloadError: network failure, timeout, HTTP error, short transfer or wrong hash.
        DownloadCancelled: ``cancel()`` returned True.
    """
    target = cache_dir() / filename
    if target.is_file() and (sha256_prefix is None or sha256_of(target).startswith(sha256_prefix)):
        return target
    host = urlsplit(url).hostname
    if not host:
        raise DownloadError(f"not a download URL: {url}")
    _resolve_within(host, timeout)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{uuid.uuid4().hex}.partial")
    try:
        digest = _stream(url, partial, progress, cancel, timeout)
        if sha256_prefix is not None and not digest.startswith(sha256_prefix):
            raise DownloadError(
                f"{url}: downloaded file has SHA-256 {digest[:16]}..., expected it to start with {sha256_prefix} "
                "(corrupted or replaced on the server)"
            )
        os.replace(partial, target)  # atomic on one file system: the target is whole or absent
    finally:
        partial.unlink(missing_ok=True)
    return target


def _stream(url: str, partial: Path, progress: Progress | None, cancel: Cancel | None, timeout: float) -> str:
    digest = hashlib.sha256()
    received = 0
    try:
        request = Request(url, headers={"User-Agent": "resnet-explorer"})
        with urlopen(request, timeout=timeout) as response, partial.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            if progress:
                progress(0, total)
            while True:
                if cancel is not None and cancel():
                    raise DownloadCancelled(f"download of {url} cancelled")
                chunk = response.read(CHUNK_BYTES)
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                if progress:
                    progress(received, total)
    except DownloadError:
        raise
    except HTTPError as exc:
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except URLError as exc:
        raise DownloadError(f"{url}: {_reason(exc.reason)}") from None
    except http.client.IncompleteRead as exc:
        raise DownloadError(f"{url}: transfer interrupted after {received + len(exc.partial)} bytes") from None
    except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, a full disk
        raise DownloadError(f"{url}: {_reason(exc)}") from None
    if total and received != total:
        raise DownloadError(f"{url}: transfer interrupted after {received} of {total} bytes")
    return digest.hexdigest()


def _resolve_within(host: str, timeout: float) -> None:
    """Name lookup ignores socket timeouts and can block for a long time offline; bound it."""
    failure: list[OSError] = []

    def lookup() -> None:
        try:
            socket.getaddrinfo(host, None)
        except OSError as exc:
            failure.append(exc)

    worker = threading.Thread(target=lookup, name="resolve-" + host, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise DownloadError(f"cannot resolve {host} within {timeout:.0f} s (offline?)")
    if failure:
        raise DownloadError(f"cannot resolve {host} ({_reason(failure[0])}; offline?)")


def _reason(reason: object) -> str:
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "no answer within the timeout (offline or server down?)"
    text = " ".join(str(reason).split())
    return text or type(reason).__name__
