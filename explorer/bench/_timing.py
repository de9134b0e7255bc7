"""Timing helpers shared by the benchmark suites (a leading underscore: not a suite itself)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import torch


def timed_ms(fn: Callable[[], Any], device: torch.device | None = None) -> float:
    """Wall time of ``fn`` in milliseconds; on CUDA the queued kernels are waited for on both sides."""
    cuda = device is not None and device.type == "cuda"
    if cuda:
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if cuda:
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) * 1000


def median_min(samples: list[float], digits: int = 3) -> dict[str, float]:
    """``{"median", "min"}`` of the samples, rounded."""
    return {"median": round(statistics.median(samples), digits), "min": round(min(samples), digits)}
