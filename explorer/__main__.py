"""``python -m explorer`` and the ``resnet-explorer`` command: the command line (explorer.cli) with
Ctrl+C one line from the first moment to the last.

Importing the command line takes a noticeable fraction of a second, and explorer.cli's ``main`` can
only catch what happens inside it; a Ctrl+C while it is being imported, or in the instants around
the call, would otherwise print a KeyboardInterrupt traceback. So everything runs inside one
``try`` here, which says ``resnet-explorer COMMAND: error: interrupted`` and exits 130, and once the
work is done (output flushed) a Ctrl+C during the interpreter's shutdown is ignored (a handler set
from Python is reset to the default during shutdown, which would kill the process with the signal).
A Ctrl+C that lands in a callback Python runs for itself (a weak reference's, during an import),
where an exception cannot propagate and Python would print "Exception ignored" with a traceback and
carry on, is raised again in the main thread, where the ``try`` sees it.
"""

import _thread
import signal
import sys


def main() -> int:
    sys.unraisablehook = _interrupt_again(sys.unraisablehook)
    try:
        from explorer.cli import main as run_command_line

        return run_command_line()
    except KeyboardInterrupt:
        return _interrupted()
    finally:
        _quiet_from_now_on()


def _interrupt_again(previous):  # noqa: ANN001, ANN202 - sys.unraisablehook's type
    def hook(unraisable) -> None:  # noqa: ANN001
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            _thread.interrupt_main()  # as if the signal came now: raised at the next instruction
        else:
            previous(unraisable)

    return hook


def _interrupted() -> int:
    from explorer.commands import EXIT_INTERRUPTED, PROG, command_of  # tiny; imported again if cut short

    print(f"{PROG} {command_of(sys.argv[1:])}: error: interrupted", file=sys.stderr, flush=True)
    return EXIT_INTERRUPTED


def _quiet_from_now_on() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more to say there
            pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)


if __name__ == "__main__":
    sys.exit(main())
