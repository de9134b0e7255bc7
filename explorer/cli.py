"""Command-line front end: ``resnet-explorer gui|summary|classify|grads|signal|paths|erf|cam|lesion|activations|race|bench``.

Bare ``resnet-explorer`` and ``resnet-explorer [GUI OPTIONS] IMAGE...`` open the window (GUI options
before or after the paths); an argument that is neither a command nor an existing path is a usage
error with a suggestion. Every subcommand prints plain text by default and one JSON object with
``--json``; exit codes are defined in ``explorer.commands.common`` (0 done, 1 a failure named in one
line, 2 usage, 130 interrupted).

Building the parser imports no torch: each command module imports what it computes with inside its
``run``, so ``--help`` and usage errors answer at once. Ctrl+C anywhere in :func:`main` (parsing,
the imports, the work) is one line, ``resnet-explorer COMMAND: error: interrupted``, exit 130; the
launcher (explorer.__main__) says the same while this module is still being imported. With
``--json`` only the JSON reaches standard output (:func:`explorer.commands.common.json_only_stdout`).
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import signal
import sys
import threading
import warnings
from contextlib import nullcontext
from typing import Any

from explorer import __version__
from explorer.commands import GUI, command_names, command_of, common
from explorer.commands.common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, PROG
from explorer.core.text import first_line, one_line, shown


def build_parser() -> argparse.ArgumentParser:
    """The full parser, every subcommand included; imports no torch."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Explore ResNet-50 and the rest of the ResNet family (--arch): architecture summary, classification, gradient lab, "
        "theory lab (signal propagation, paths, effective receptive field), Grad-CAM, lesions, activations, benchmarks. With no command (or only image paths and GUI options) the desktop app opens.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in command_names():
        importlib.import_module(f"explorer.commands.{name}").register(sub)
        sub.choices[name].set_defaults(_parser=sub.choices[name])  # for the command's own usage errors
    return parser


def command_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Each subcommand's own parser in ``parser`` (from :func:`build_parser`), by name."""
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(actions[0].choices) if actions else {}


def _gui_parser(prog: str) -> argparse.ArgumentParser:
    from explorer.commands import gui

    parser = argparse.ArgumentParser(prog=prog, description="Open the desktop app and classify IMAGE... at start.")
    gui.add_arguments(parser)
    return parser


def _parse_gui(argv: list[str], explicit: bool) -> argparse.Namespace:
    """``[gui] [OPTIONS] IMAGE...`` with options anywhere. A path that does not exist is a usage
    error: at once when it looks like a mistyped command, otherwise once a window could open (without
    a display the gui command says that first)."""
    from explorer.commands.gui import display_problem

    if not explicit and argv and not argv[0].startswith("-"):
        _refuse_mistyped_command(argv[0])  # before the options: `raec --steps 5` names the command
    args = _gui_parser(f"{PROG} gui" if explicit else PROG).parse_intermixed_args(argv)
    missing = [path for path in args.images if not os.path.exists(path)]
    for path in missing:
        if not explicit:
            _refuse_mistyped_command(path)
        if display_problem() is None:
            what = "not an existing file or folder" if explicit else "neither a command nor an existing file or folder"
            build_parser().error(f"'{shown(path)}' is {what}")
    return args


def _refuse_mistyped_command(word: str) -> None:
    """A usage error with a suggestion when ``word`` is no file or folder but close to a command."""
    close = [] if os.path.exists(word) else difflib.get_close_matches(word, command_names(), n=1, cutoff=0.6)
    if close:
        build_parser().error(f"'{shown(word)}' is neither a command nor an existing file or folder; did you mean '{close[0]}'?")


def _parse(argv: list[str]) -> argparse.Namespace:
    if argv and argv[0] in ("-h", "--help", "--version") or (argv and argv[0] in command_names() and argv[0] != GUI):
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if extra:  # the command's own usage, not the top-level one (`activations a.jpg b.jpg`)
            args._parser.error(f"unrecognized arguments: {' '.join(shown(e) for e in extra)}")
        return args
    explicit = argv[:1] == [GUI]
    args = _parse_gui(argv[1:] if explicit else argv, explicit)
    args.command = GUI
    return args


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001 - warnings' API
    """Any library warning that reaches the user is one line, like every other message."""
    print(f"{PROG}: warning: {category.__name__}: {one_line(message)}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command, handler, previous = command_of(argv), None, warnings.showwarning
    try:
        handler = _interruptible()
        warnings.showwarning = _one_line_warning
        args = _parse(argv)
        command = args.command
        with common.json_only_stdout() if getattr(args, "json", False) else nullcontext():
            status = int(args.func(args) or EXIT_OK)
        common.write_stdout(sys.stdout.flush)  # a full disk behind `> file` is said here, not at exit
        return status
    except KeyboardInterrupt:
        common.error(command, "interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `resnet-explorer summary | head`: stop quietly, also at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except common.OutputError as exc:
        common.error(command, str(exc))
        return EXIT_FAILED
    except MemoryError:
        common.error(args.command, "out of memory")
        return EXIT_FAILED
    except Exception as exc:  # a bug: still one line, never a traceback
        common.error(args.command, f"unexpected {type(exc).__name__}: {first_line(exc)} (please report this)")
        return EXIT_FAILED
    finally:
        warnings.showwarning = previous
        if handler is not None:
            signal.signal(signal.SIGINT, handler)


def _interruptible() -> Any:
    """Let Ctrl+C raise KeyboardInterrupt while :func:`main` runs (so that the work stops where it
    is, temporary files are removed and one line is said), whatever handler was there; returns that
    handler to put back, None off the main thread or for a handler not set from Python."""
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGINT)
    if previous is None:
        return None
    signal.signal(signal.SIGINT, signal.default_int_handler)
    return previous

