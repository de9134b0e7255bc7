"""Importing torch on a worker without stalling the GUI thread.

A worker thread's import still stops every other thread wherever CPython holds the global
interpreter lock in C: while it links a shared library (``dlopen``: 190-280 ms for torch's
``_C``, which pulls libtorch and its CUDA libraries; 56 ms for the cuBLAS that torch's CUDA
build preloads through ctypes) and while the cyclic garbage collector scans the objects the
import has made so far (45-75 ms a collection, several per import). Inside
:func:`quietly_importing` the libraries are linked with the lock released (``dlopen`` called
through ctypes, which releases it for a foreign call: first for an extension module the import is
about to load, and for ``ctypes.CDLL``, whose own linking holds the lock) and the collector waits
until the import ends.
Measured on a quiet 2-core EPYC, a 5 ms heartbeat thread beside a thread importing torch (CUDA
build): longest gap 207-281 ms plain, 0-32 ms inside; the import itself 1.07-1.17 s either way.

Linking outside the lock is safe because the libraries' constructors never call into Python
(checked under gdb: no Python API is entered while torch's libraries are linked), so a thread
that holds the lock never waits on one that is linking. Anything unusual (no ``dlopen`` in the
C library, a library that does not link) falls back to what the import does by itself: the
library is then linked by the import, under the lock, as always.

The importing thread also shares one CPU with the main thread while it imports (with its own CPUs
back while it links a library, whose set-up may count them). CPython 3.11's lock has a convoy: a
thread that runs Python and lets the lock go only for short system calls (torch's import registers
its operators through ``inspect``, a ``stat`` or ``open`` every 0.1-1 ms) takes it back before a
waiting thread, woken on the other CPU, can run, and the waiter's timed request to have it handed
over is never made because the lock changed hands meanwhile. The GUI thread then waited 35-120 ms
for it in one launch in three or four. On one CPU the woken thread runs first. Measured here (quiet
2-core EPYC), a 5 ms heartbeat beside a thread that runs 0.1-6 ms of Python between two ``stat``
calls: longest gap 140-4,500 ms on two CPUs, 10-12 ms on one.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib.abc
import importlib.machinery
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence


Dlopen = Callable[[bytes | None, int], int | None]


def _libc_linker() -> tuple[Dlopen, Callable[[], bytes | None]] | None:
    """The C library's ``dlopen`` and ``dlerror`` as ctypes functions (a call releases the lock), or
    None: not Linux, or not found there."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        dlopen, dlerror = libc.dlopen, libc.dlerror
    except (AttributeError, OSError):
        return None
    dlopen.restype, dlopen.argtypes = ctypes.c_void_p, (ctypes.c_char_p, ctypes.c_int)
    dlerror.restype, dlerror.argtypes = ctypes.c_char_p, ()
    return dlopen, dlerror


def _ctypes_loader(dlopen: Dlopen, dlerror: Callable[[], bytes | None]) -> Callable[..., int]:
    """What ``ctypes.CDLL`` calls to link a library (``_ctypes.dlopen``, which holds the lock),
    made over ``dlopen``: the same flags, handle and ``OSError``."""

    def load(name: str | None, mode: int = ctypes.DEFAULT_MODE) -> int:
        handle = dlopen(None if name is None else os.fsencode(name), mode | os.RTLD_NOW)
        if not handle:
            raise OSError((dlerror() or b"dlopen failed").decode(errors="replace"))
        return handle

    return load


class _LinkExtensionsFirst(importlib.abc.MetaPathFinder):
    """Ahead of the usual finders: an extension module about to be imported is linked first with
    the lock released, so that the import's own ``dlopen`` finds it loaded (a reference count).
    It finds nothing itself: the usual finders then find and load the module as always."""

    def __init__(self, dlopen: Dlopen) -> None:
        self._dlopen = dlopen

    def find_spec(self, name: str, path: Sequence[str] | None, target: object = None) -> None:
        try:
            spec = importlib.machinery.PathFinder.find_spec(name, path)
        except Exception:  # whatever the usual finders make of it, they say it themselves next
            return None
        if spec is not None and isinstance(spec.loader, importlib.machinery.ExtensionFileLoader) and spec.origin:
            self._dlopen(os.fsencode(spec.origin), sys.getdlopenflags())  # NULL: the import's own dlopen says why
        return None


def _threads() -> set[int]:
    """The process's threads' ids (Linux's task ids)."""
    return {int(tid) for tid in os.listdir("/proc/self/task")}


class _CpuSharing:
    """Entered on a worker: it and the main thread on one CPU (the convoy, above). A library linked
    meanwhile must count the worker's own CPUs (libgomp takes its default thread count from them:
    torch's was 1 after an import on one CPU), so :meth:`linking` gives them back for each link. On
    exit the two, and every thread started meanwhile (it took its creator's one CPU), have their
    CPUs back. Not on Linux, on the main thread itself, or where CPUs cannot be set: nothing."""

    def __init__(self) -> None:
        self._own = threading.get_native_id()
        self._masks: dict[int, set[int]] = {}  # each thread's own CPUs, while shared
        self._shared: set[int] = set()
        self._before: set[int] = set()

    def __enter__(self) -> _CpuSharing:
        if not hasattr(os, "sched_setaffinity") or threading.current_thread() is threading.main_thread():
            return self
        pair = (threading.main_thread().native_id, self._own)
        try:
            masks = {tid: os.sched_getaffinity(tid) for tid in pair}
            self._before, self._shared = _threads(), {min(masks[pair[0]] & masks[pair[1]])}
        except (OSError, ValueError):  # no /proc, no CPU in common: as without
            return self
        self._masks = masks
        try:
            for tid in pair:
                os.sched_setaffinity(tid, self._shared)
        except OSError:  # not allowed: as without
            self.__exit__()
        return self

    def __exit__(self, *_: object) -> None:
        if not self._masks:
            return
        everywhere = set().union(*self._masks.values())
        for tid, mask in [*self._masks.items(), *((tid, everywhere) for tid in _threads() - self._before)]:
            with contextlib.suppress(OSError):  # a thread that has ended meanwhile
                os.sched_setaffinity(tid, mask)
        self._masks = {}

    def linking(self, dlopen: Dlopen) -> Dlopen:
        """``dlopen`` called with the worker on its own CPUs (another thread calls it as it is)."""

        def link(path: bytes | None, flags: int) -> int | None:
            own = self._masks.get(self._own)
            if own is None or threading.get_native_id() != self._own:
                return dlopen(path, flags)
            with contextlib.suppress(OSError):
                os.sched_setaffinity(0, own)
            try:
                return dlopen(path, flags)
            finally:
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(0, self._shared)

        return link


@contextlib.contextmanager
def quietly_importing() -> Iterator[None]:
    """Import inside this (on a worker) without holding the other threads: shared libraries are
    linked with the interpreter lock released, the worker shares the main thread's CPU, and the
    garbage collector waits until the end, when everything the import made is frozen out of its
    scans (``gc.freeze``: modules live as long as the process). Not reentrant; one import at a
    time (the parts lane's only job does this)."""
    linker = _libc_linker()
    sharing = _CpuSharing() if linker is not None else None  # every library then links through it
    dlopen = sharing.linking(linker[0]) if sharing is not None else None
    finder = _LinkExtensionsFirst(dlopen) if dlopen is not None else None
    ctypes_own = getattr(ctypes, "_dlopen", None)  # ctypes.CDLL links through this module global
    ctypes_load = _ctypes_loader(dlopen, linker[1]) if dlopen is not None and ctypes_own is not None else None
    collecting = gc.isenabled()
    gc.disable()
    if finder is not None:
        sys.meta_path.insert(0, finder)
    if ctypes_load is not None:
        ctypes._dlopen = ctypes_load
    try:
        with sharing or contextlib.nullcontext():
            yield
    finally:
        if ctypes_load is not None:
            ctypes._dlopen = ctypes_own
        if finder is not None:
            sys.meta_path.remove(finder)
        gc.freeze()
        if collecting:
            gc.enable()
