"""Command-line front end: ``resnet-explorer summary|classify|grads|bench``, or the GUI.

Bare ``resnet-explorer`` and ``resnet-explorer IMAGE...`` open the window; every subcommand prints
plain text by default and one JSON object with ``--json``. Usage errors exit 2 (argparse's own).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from explorer import __version__

# Each module in explorer.commands with a register() function is a subcommand; these come first in
# --help, the rest follow alphabetically.
_ORDER = ("gui", "summary", "classify", "grads", "bench")


def _command_names() -> list[str]:
    import explorer.commands as package

    names = {m.name for m in pkgutil.iter_modules(package.__path__) if m.name != "common"}
    return sorted(names, key=lambda n: (_ORDER.index(n) if n in _ORDER else len(_ORDER), n))


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or with ``only`` one subcommand (the GUI starts without importing the
    other commands, which import torch: its window must show within 1.5 s)."""
    parser = argparse.ArgumentParser(
        prog="resnet-explorer",
        description="Explore ResNet-50: architecture summary, classification, gradient lab. "
        "With no subcommand (or only image paths) the desktop app opens.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in [only] if only else _command_names():
        importlib.import_module(f"explorer.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `resnet-explorer` and `resnet-explorer photo.jpg ...` open the window.
    if not argv or (argv[0] not in _command_names() and not argv[0].startswith("-")):
        argv = ["gui", *argv]
    args = build_parser(only="gui" if argv[0] == "gui" else None).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `resnet-explorer summary | head`
        return 0
