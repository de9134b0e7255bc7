"""The shape of the core's long calls: a progress callback, a cancel flag polled between steps and the
exception a cancelled call raises. Core layer, pure Python; the UI's job runner passes its own
callables of these shapes (napari/superqt's workers stop long jobs the same way, between steps).
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, float], None]  # (what is happening, fraction done 0..1)
Cancel = Callable[[], bool]  # True once the caller wants the call to stop


class Cancelled(Exception):
    """Raised between steps of a long call when its ``cancel`` callback returned True."""


def check(cancel: Cancel | None, what: str) -> None:
    """Raise :class:`Cancelled` (``"<what> cancelled"``) if ``cancel`` says so."""
    if cancel is not None and cancel():
        raise Cancelled(f"{what} cancelled")


class Steps:
    """A long call's steps: each call reports ``text`` and the fraction done, and raises
    :class:`Cancelled` first when ``cancel`` says so; :meth:`check` only polls."""

    def __init__(self, total: int, progress: Progress | None, cancel: Cancel | None) -> None:
        self.total, self.done, self.progress, self.cancel = total, 0, progress, cancel

    def check(self) -> None:
        if self.cancel is not None and self.cancel():
            raise Cancelled(f"cancelled after {self.done} of {self.total} steps")

    def __call__(self, text: str) -> None:
        self.check()
        self.done += 1
        if self.progress is not None:
            self.progress(text, min(1.0, self.done / self.total))
