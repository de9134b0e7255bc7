"""One module per CLI subcommand; each exposes ``register(subparsers)`` and sets ``func`` to its runner.

What must be known before anything else is imported lives here (the launcher's Ctrl+C handler uses
it while the heavy imports run): the program's name, the exit codes and the command names.

Exit codes, the same in every command:

- ``EXIT_OK`` (0): everything was done;
- ``EXIT_FAILED`` (1): an input, the weights, the device (a valid name this machine lacks), an output
  file or the machine's memory failed; one line on stderr names it;
- ``EXIT_USAGE`` (2): a malformed command line (argparse's usage error), unknown device names included;
- ``EXIT_INTERRUPTED`` (130): Ctrl+C.
"""

from __future__ import annotations

import pkgutil

PROG = "resnet-explorer"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

GUI = "gui"  # the default command
# These come first in --help, the rest follow alphabetically.
_ORDER = (GUI, "summary", "classify", "grads", "signal", "paths", "erf", "cam", "lesion", "activations", "bench")
_SHARED = "common"  # the module every command shares, not a command; so is any named "_*"


def command_names() -> list[str]:
    """Every subcommand, in --help order: the modules of this package except the shared ones
    (``common``, and those whose name starts with an underscore)."""
    names = {m.name for m in pkgutil.iter_modules(__path__) if m.name != _SHARED and not m.name.startswith("_")}
    return sorted(names, key=lambda n: (_ORDER.index(n) if n in _ORDER else len(_ORDER), n))


def command_of(argv: list[str]) -> str:
    """The command ``argv`` (without the program name) runs: its first word when that names one,
    else the window (``gui``), as the parser decides; for messages written before parsing is done."""
    return argv[0] if argv and argv[0] in command_names() else GUI
