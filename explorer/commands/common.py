"""Argument types and error printing shared by the subcommands."""

from __future__ import annotations

import argparse
import sys
from typing import Callable


def bounded(kind: type[int] | type[float], low: float | None = None, high: float | None = None) -> Callable[[str], float]:
    """An argparse type: ``kind(text)`` within ``[low, high]``, else argparse's usage error (exit 2)."""

    def parse(text: str):  # noqa: ANN202 - int or float, as ``kind``
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole number' if kind is int else 'number'}") from None
        if low is not None and high is not None and not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} must be from {low} to {high}")
        if low is not None and value < low:
            raise argparse.ArgumentTypeError(f"{value} must be at least {low}" if low else f"{value} must be 0 or more")
        return value

    return parse


positive_int = bounded(int, 1)
non_negative_int = bounded(int, 0)


def error(command: str, message: str) -> None:
    """Print one error line to stderr, prefixed with the command, never a traceback."""
    print(f"resnet-explorer {command}: error: {message}", file=sys.stderr)
