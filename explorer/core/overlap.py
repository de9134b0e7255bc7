"""Two pieces of one call run at once: one on a helper thread, the other on the caller's, both to
the end before the call goes on. For waits that let go of the GIL (hashing or writing a file beside
a runtime's compile); no thread outlives the call. Threads that live on, the app's jobs, are
``explorer/ui/jobs.py``'s.

Core layer, standard library only.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Background = TypeVar("Background")
Foreground = TypeVar("Foreground")


def overlapped(background: Callable[[], Background], foreground: Callable[[], Foreground]) -> tuple[Background, Foreground]:
    """Run ``background()`` on a helper thread while ``foreground()`` runs on this one; return both
    results once both have ended. An exception of either is raised after both have ended (the
    foreground's when both raise)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        behind = pool.submit(background)
        ahead = foreground()  # on an exception, leaving the block still waits for the helper
        return behind.result(), ahead
