"""Stage 2 of loading (``explorer.core.loading.pipeline``), the bytes: the local file an
:class:`~explorer.core.loading.sources.Origin` names. A path is taken as it is; a named checkpoint
or a URL comes from torch.hub's cache, downloaded into it first when missing
(``explorer.core.loading.download``). A file whose name carries its SHA-256 prefix is checked by the
hash; one without must read as a checkpoint (``explorer.core.loading.checkpoints``) before it enters
the cache, so a login page answered with 200 or a body cut to a lying Content-Length is never kept.

Core layer, standard library + torch; every failure is a WeightsError in one line that says what
the user can do (a network problem: work offline; a full or read-only cache: TORCH_HOME).
"""

from __future__ import annotations

from pathlib import Path

from explorer.core.loading import download
from explorer.core.loading.checkpoints import read_checkpoint
from explorer.core.loading.errors import WeightsCancelled, WeightsError
from explorer.core.loading.sources import CHECKPOINT_SUFFIXES, Origin
from explorer.core.text import shown


def checkpoint_file(origin: Origin, progress: download.Progress | None = None, cancel: download.Cancel | None = None) -> Path:
    """Stage 2: the local file of a checkpoint source (not ``random``).

    Args:
        progress: called with (bytes so far, total or 0) while downloading.
        cancel: polled while downloading; True stops with :class:`WeightsCancelled`.

    Raises:
        WeightsError: the download failed, its hash or content is wrong, or the cache cannot be
            written; nothing is kept in the cache then.
    """
    if origin.path is not None:
        return origin.path
    assert origin.url is not None and origin.cache_name is not None, "random has no file"
    what = f"{origin.source} weights" if origin.named is not None else shown(origin.source)
    try:
        if origin.sha256_prefix is not None:  # the hash in the name says whether it is the right file
            return download.fetch(origin.url, origin.cache_name, origin.sha256_prefix, progress, cancel)
        url = shown(origin.url)
        return download.fetch(origin.url, origin.cache_name, None, progress, cancel, check=lambda partial: _readable(partial, url))
    except download.DownloadCancelled as exc:
        raise WeightsCancelled(str(exc)) from None
    except download.CacheError as exc:
        raise WeightsError(
            f"cannot store {what}: {exc}. Set TORCH_HOME to a writable folder, or load a local checkpoint file"
        ) from None
    except download.HashMismatch as exc:  # the server answered: not a matter of being offline
        raise WeightsError(f"cannot use the download of {what}: {exc}") from None
    except download.DownloadError as exc:
        raise WeightsError(
            f"cannot download {what}: {exc}. Offline? Load a local checkpoint file ({', '.join(CHECKPOINT_SUFFIXES)}), "
            f"save the file as {shown(download.cache_dir() / origin.cache_name)}, or use 'random' (untrained)"
        ) from None


def _readable(partial: Path, url: str) -> None:
    """A finished download that carries no hash must read as a checkpoint to enter the cache."""
    try:
        read_checkpoint(partial, name=url)
    except WeightsError as exc:
        raise WeightsError(f"{exc}; the download was not kept") from None
