"""Importing on a worker without holding the GUI thread (ui/quiet_import.py): an extension module
imported inside ``quietly_importing`` is linked first through the C library's ``dlopen`` (a ctypes
call, made with the interpreter lock released) with the flags the import itself uses, and so is a
library that ``ctypes.CDLL`` links there, with ctypes' own handles and errors; the garbage
collector waits meanwhile and finds everything imported frozen afterwards; the import machinery is
as it was. Each case runs in a fresh interpreter: freezing is for a process's lifetime. While it
imports, the importing thread shares one CPU with the main thread, and every thread has its CPUs
back afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

from explorer.ui import quiet_import

# Extension modules of the standard library that nothing imports at start-up; the first one this
# interpreter has as a shared library (not built in) is imported inside.
CANDIDATES = ("_csv", "_bz2", "_lzma", "_decimal", "_statistics", "_zoneinfo")

PROLOGUE = f"""
import gc, importlib, importlib.machinery, json, sys
from explorer.ui import quiet_import
name = next((n for n in {CANDIDATES!r} if n not in sys.modules
             and isinstance(getattr(importlib.machinery.PathFinder.find_spec(n), "loader", None),
                            importlib.machinery.ExtensionFileLoader)), None)
if name is None:
    print(json.dumps(None)); sys.exit(0)
origin = importlib.machinery.PathFinder.find_spec(name).origin
finders = list(sys.meta_path)
"""

# Every dlopen the quiet import makes, recorded as [path, flags] in ``linked`` (Linux only).
SPY = """
real_dlopen, real_dlerror = quiet_import._libc_linker()
linked = []
def spy(path, flags):
    linked.append([path.decode(), flags])
    return real_dlopen(path, flags)
quiet_import._libc_linker = lambda: (spy, real_dlerror)
"""


def run(body: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROLOGUE + body], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    if result is None:
        pytest.skip("this interpreter has no standard extension module left to import as a shared library")
    return result


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="linking outside the lock is done on Linux only")
def test_an_extension_module_is_linked_first_with_the_imports_flags_and_everything_is_put_back():
    result = run(SPY + """
with quiet_import.quietly_importing():
    collecting_inside = gc.isenabled()
    module = importlib.import_module(name)
print(json.dumps({"linked": linked, "origin": origin, "flags": sys.getdlopenflags(), "imported": module.__spec__.origin,
                  "collecting_inside": collecting_inside, "collecting_after": gc.isenabled(),
                  "finders_restored": sys.meta_path == finders, "frozen": gc.get_freeze_count()}))
""")
    assert [result["origin"], result["flags"]] in result["linked"]
    assert result["imported"] == result["origin"]
    assert not result["collecting_inside"] and result["collecting_after"]
    assert result["finders_restored"]
    assert result["frozen"] > 1000


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="linking outside the lock is done on Linux only")
def test_ctypes_links_through_the_same_dlopen_inside_with_ctypes_own_handles_and_errors():
    """torch's CUDA build preloads cuBLAS with ctypes.CDLL, whose own linking holds the lock (56 ms)."""
    result = run(SPY + """
import ctypes, ctypes.util
own = ctypes._dlopen
libm = ctypes.util.find_library("m")
with quiet_import.quietly_importing():
    cos = ctypes.CDLL(libm).cos
    cos.restype, cos.argtypes = ctypes.c_double, (ctypes.c_double,)
    value = cos(0.0)
    same_handle = ctypes.CDLL(libm)._handle == ctypes.CDLL(libm, mode=ctypes.RTLD_GLOBAL)._handle
    try:
        ctypes.CDLL("libno-such-library-here.so")
        missing = None
    except OSError as error:
        missing = str(error)
print(json.dumps({"libm": libm, "linked": [path for path, _ in linked], "value": value, "same_handle": same_handle, "missing": missing,
                  "restored": ctypes._dlopen is own}))
""")
    assert result["libm"] in result["linked"] and result["value"] == 1.0 and result["same_handle"]
    assert "libno-such-library-here.so" in result["missing"] and "libno-such-library-here.so" in result["linked"]
    assert result["restored"]


def test_without_a_dlopen_to_call_the_import_links_as_usual():
    result = run("""
quiet_import._libc_linker = lambda: None
with quiet_import.quietly_importing():
    same_finders = sys.meta_path == finders
    module = importlib.import_module(name)
print(json.dumps({"same_finders": same_finders, "imported": module.__spec__.origin, "origin": origin,
                  "collecting_after": gc.isenabled()}))
""")
    assert result["same_finders"] and result["imported"] == result["origin"] and result["collecting_after"]


def test_a_collector_switched_off_before_stays_off():
    result = run("""
gc.disable()
with quiet_import.quietly_importing():
    importlib.import_module(name)
print(json.dumps({"collecting_after": gc.isenabled()}))
""")
    assert result["collecting_after"] is False


def test_a_failed_import_inside_still_puts_everything_back():
    result = run("""
try:
    with quiet_import.quietly_importing():
        importlib.import_module("explorer.no_such_module")
except ModuleNotFoundError as error:
    failed = str(error)
print(json.dumps({"failed": failed, "finders_restored": sys.meta_path == finders, "collecting_after": gc.isenabled()}))
""")
    assert "explorer.no_such_module" in result["failed"]
    assert result["finders_restored"] and result["collecting_after"]



def test_the_part_modules_are_imported_quietly_once_per_process():
    """The window's parts job freezes what its import made; a second window (the test suite opens
    hundreds) must not freeze again, keeping every garbage cycle alive then for good."""
    import gc
    import importlib

    from explorer.ui.startup import PART_MODULES, import_part_modules

    for name in PART_MODULES:
        importlib.import_module(name)
    frozen, collecting = gc.get_freeze_count(), gc.isenabled()
    import_part_modules(None)
    assert gc.get_freeze_count() == frozen and gc.isenabled() == collecting


SETS_CPUS = hasattr(os, "sched_setaffinity") and os.path.isdir("/proc/self/task") and len(os.sched_getaffinity(0)) > 1


def cpus_seen_from_a_worker(body) -> dict:  # noqa: ANN001
    """``body(sharing, seen)`` run on a worker thread inside a ``_CpuSharing``; then the CPUs of the
    worker, the main thread and a thread the worker started inside, as sets."""
    main = threading.main_thread().native_id
    seen: dict = {}
    release = threading.Event()

    def work() -> None:
        with quiet_import._CpuSharing() as sharing:
            seen["inside"] = (os.sched_getaffinity(0), os.sched_getaffinity(main))
            born = threading.Thread(target=release.wait)  # a thread started meanwhile takes its creator's CPUs
            born.start()
            seen["born inside"] = os.sched_getaffinity(born.native_id)
            body(sharing, seen)
        seen["after"] = (os.sched_getaffinity(0), os.sched_getaffinity(main), os.sched_getaffinity(born.native_id))
        release.set()
        born.join()

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    return seen


@pytest.mark.skipif(not SETS_CPUS, reason="needs Linux's per-thread CPU sets and two CPUs")
def test_the_importing_thread_shares_one_cpu_with_the_main_thread_then_every_thread_has_its_cpus_back():
    """Against the lock's convoy (quiet_import's docstring): one CPU for the importer and the main
    thread while it imports; after, both have the CPUs they had, and so has a thread started inside."""
    before = os.sched_getaffinity(threading.main_thread().native_id)
    seen = cpus_seen_from_a_worker(lambda sharing, seen: None)
    own, main = seen["inside"]
    assert len(own) == 1 and own == main and seen["born inside"] == own
    assert seen["after"] == (before, before, before)


@pytest.mark.skipif(not SETS_CPUS, reason="needs Linux's per-thread CPU sets and two CPUs")
def test_cpus_that_cannot_be_set_leave_every_thread_as_it_was(monkeypatch):
    before = os.sched_getaffinity(threading.main_thread().native_id)

    def refused(tid, cpus):  # noqa: ANN001
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_setaffinity", refused)
    seen = cpus_seen_from_a_worker(lambda sharing, seen: None)
    assert seen["inside"] == (before, before) and seen["after"] == (before, before, before)


def test_on_the_main_thread_nothing_is_pinned():
    before = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    with quiet_import._CpuSharing():
        inside = os.sched_getaffinity(0) if before is not None else None
    assert inside == before


@pytest.mark.skipif(not SETS_CPUS, reason="needs Linux's per-thread CPU sets and two CPUs")
def test_a_library_is_linked_with_the_workers_own_cpus_and_another_threads_link_changes_nothing():
    """A library's set-up may count the CPUs it is linked on (libgomp's default thread count)."""
    before = os.sched_getaffinity(0)

    def body(sharing, seen) -> None:  # noqa: ANN001
        seen["linking"] = sharing.linking(lambda path, flags: seen.setdefault("cpus", os.sched_getaffinity(0)))(b"lib", 0)
        seen["then"] = os.sched_getaffinity(0)
        other = threading.Thread(target=sharing.linking(lambda path, flags: seen.setdefault("other", os.sched_getaffinity(0))),
                                 args=(b"lib", 0))  # started inside: on the shared CPU, and left there
        other.start()
        other.join()

    seen = cpus_seen_from_a_worker(body)
    assert seen["cpus"] == before and seen["linking"] == before  # dlopen's own return value comes back
    assert len(seen["then"]) == 1 and seen["other"] == seen["then"] and seen["after"] == (before, before, before)


@pytest.mark.skipif(not SETS_CPUS, reason="needs Linux's per-thread CPU sets and two CPUs")
def test_torch_imported_quietly_keeps_its_default_thread_count():
    """libgomp, linked with torch, takes its default thread count from the CPUs it is linked on: an
    import on the one shared CPU left torch with 1 thread."""
    code = """
import json, sys, threading
from explorer.ui.quiet_import import quietly_importing
def load():
    if sys.argv[1] == "quiet":
        with quietly_importing():
            import torch
    else:
        import torch
worker = threading.Thread(target=load)
worker.start()
worker.join()
import torch
print(json.dumps(torch.get_num_threads()))
"""
    counts = {}
    for how in ("quiet", "plain"):
        done = subprocess.run([sys.executable, "-c", code, how], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        counts[how] = json.loads(done.stdout)
    assert counts["quiet"] == counts["plain"] > 1
