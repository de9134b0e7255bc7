"""Argument types and error printing shared by the subcommands."""

from __future__ import annotations

import argparse
import sys


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1, else argparse's usage error (exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def error(command: str, message: str) -> None:
    """Print one error line to stderr, prefixed with the command, never a traceback."""
    print(f"resnet-explorer {command}: error: {message}", file=sys.stderr)
