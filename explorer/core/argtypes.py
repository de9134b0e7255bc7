"""Argument types for command-line parsers (argparse), shared by the commands and the benchmark
suites: bounded numbers and a device name. Torch-free, so a parser is built without
importing torch.

Core layer, pure Python (argparse only for its ``ArgumentTypeError``).
"""

from __future__ import annotations

import argparse
import re
from typing import Callable

DEVICE_NAMES = "auto, cpu, cuda, cuda:N or mps"
_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def bounded(kind: type[int] | type[float], low: float | None = None, high: float | None = None) -> Callable[[str], float]:
    """An argparse type: ``kind(text)`` within ``[low, high]``, else argparse's usage error (exit 2)."""

    def parse(text: str):  # noqa: ANN202 - int or float, as ``kind``
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole number' if kind is int else 'number'}") from None
        if value != value:  # NaN passes every comparison below
            raise argparse.ArgumentTypeError(f"{text!r} is not a number")
        if low is not None and high is not None and not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} must be from {low} to {high}")
        if low is not None and value < low:
            raise argparse.ArgumentTypeError(f"{value} must be at least {low}" if low else f"{value} must be 0 or more")
        return value

    return parse


positive_int = bounded(int, 1)
non_negative_int = bounded(int, 0)


def device_name(text: str) -> str:
    """argparse type: a device this program can run on, by name (whether this machine has it is
    checked when the command runs: that is not a usage error)."""
    name = text.strip().lower()
    if not _DEVICE.fullmatch(name):
        raise argparse.ArgumentTypeError(f"unknown device {text!r} (choose {DEVICE_NAMES})")
    return name
