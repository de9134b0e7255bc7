"""Importing on a worker without holding the GUI thread (ui/quiet_import.py): an extension module
imported inside ``quietly_importing`` is linked first through the C library's ``dlopen`` (a ctypes
call, made with the interpreter lock released) with the flags the import itself uses, and so is a
library that ``ctypes.CDLL`` links there, with ctypes' own handles and errors; the garbage
collector waits meanwhile and finds everything imported frozen afterwards; the import machinery is
as it was. Each case runs in a fresh interpreter: freezing is for a process's lifetime."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

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
