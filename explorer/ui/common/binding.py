"""A check of the Qt binding that runs before any window: PySide6 6.12.0 on CPython 3.11 and older
takes one reference off ``None`` on every Qt call that returns nothing, so a painting app dies with
``Fatal Python error: none_dealloc`` after a few thousand paints. CPython 3.12 made ``None``
immortal (PEP 683), so there the count cannot drift.

UI layer (QtCore only, no QApplication needed). pyproject.toml keeps pip from installing that
combination; this catches one installed by hand and says how to fix it, instead of a crash later.
"""

from __future__ import annotations

import sys

# Enough void calls to see a drift of one reference each, few enough that a leaking binding does not
# get anywhere near freeing None while we look (it holds thousands of references at start-up).
PROBE_CALLS = 200


def none_refcount_drift(calls: int = PROBE_CALLS) -> int:
    """How many references ``None`` gains (negative: loses) over ``calls`` rounds of three Qt
    calls that return nothing; 0 for a sound binding."""
    from PySide6.QtCore import QObject, QPointF, QRectF

    point, rect, obj = QPointF(), QRectF(), QObject()

    def void_calls(n: int) -> None:
        for i in range(n):
            point.setX(float(i))
            rect.setWidth(float(i))
            obj.setObjectName("probe")

    void_calls(3)  # first calls may cache method wrappers
    before = sys.getrefcount(None)
    void_calls(calls)
    return sys.getrefcount(None) - before


def binding_problem() -> str | None:
    """One line naming the fix when the installed binding corrupts None's reference count, else None."""
    drift = none_refcount_drift()
    if drift == 0:
        return None
    import PySide6

    python = ".".join(map(str, sys.version_info[:3]))
    return (
        f"PySide6 {PySide6.__version__} on Python {python} loses a reference to None on every Qt call "
        f"({drift:+d} over {3 * PROBE_CALLS} calls) and would crash the app within minutes; "
        "install another release: pip install 'PySide6-Essentials!=6.12.0' (or use Python 3.12+)"
    )
