"""Measuring helpers shared by the benchmark suites (a leading underscore: not a suite itself): wall
time, CPU time and peak memory of a call, and median/min summaries. Torch is imported only when a
CUDA device is measured, so the parser that lists the suites' options needs no torch.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


def _cuda(device: torch.device | str | None) -> bool:
    return device is not None and str(device).startswith("cuda")


def _sync(device: torch.device | str | None) -> None:
    if _cuda(device):
        import torch

        torch.cuda.synchronize(device)


def timed_ms(fn: Callable[[], Any], device: torch.device | str | None = None) -> float:
    """Wall time of ``fn`` in milliseconds; on CUDA the queued kernels are waited for on both sides."""
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    return (time.perf_counter() - start) * 1000


def median_min(samples: list[float], digits: int = 3) -> dict[str, float]:
    """``{"median", "min"}`` of the samples, rounded."""
    return {"median": round(statistics.median(samples), digits), "min": round(min(samples), digits)}


@dataclass(frozen=True)
class Measurement:
    """One call: wall and process CPU seconds (CPU time is steadier on a shared machine) and the peak
    memory during the call in bytes (None where it cannot be read)."""

    wall_s: float
    cpu_s: float
    peak_bytes: int | None


def measure(fn: Callable[[], Any], device: torch.device | str | None = None) -> Measurement:
    """Wall time, CPU time and peak memory of ``fn()``: the process's peak RSS on the CPU (the
    allocator keeps freed pages, so a difference from the start would undercount), torch's peak
    allocation on CUDA."""
    reset_peak(device)
    _sync(device)
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    _sync(device)
    return Measurement(time.perf_counter() - wall, time.process_time() - cpu, peak_bytes(device))


def peak_rss_bytes() -> int | None:
    """The process's peak resident memory (``VmHWM`` of /proc/self/status; Linux only, else None)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def reset_peak(device: torch.device | str | None = None) -> None:
    if _cuda(device):
        import torch

        torch.cuda.reset_peak_memory_stats(device)
        return
    try:  # writing 5 resets VmHWM to the current RSS (Linux >= 4.0)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_bytes(device: torch.device | str | None = None) -> int | None:
    if _cuda(device):
        import torch

        return torch.cuda.max_memory_allocated(device)
    return peak_rss_bytes()


def memory_source(device: torch.device | str | None = None) -> str:
    """Where :func:`peak_bytes` reads from, for the report."""
    return "torch.cuda.max_memory_allocated" if _cuda(device) else "peak RSS of the process (/proc/self/status VmHWM)"
