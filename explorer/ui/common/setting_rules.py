"""The rules the rooms' settings models share (the gradient lab's, the theory lab's): a knob they do
not have, a choice outside its list, a count outside its spin box's range and a device this machine
lacks are refused, each in one line. UI layer, pure Python (the models are Qt-free).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any


def check_setting(
    room: str,
    known: Collection[str],
    choices: Mapping[str, Collection[str]],
    limits: Mapping[str, tuple[int, int]],
    devices: Callable[[], Collection[str]],
    name: str,
    value: Any,
) -> None:
    """Raise ValueError when ``value`` cannot be ``room``'s setting ``name`` (``devices()`` is asked
    only about a device)."""
    if name not in known:
        raise ValueError(f"the {room} has no setting {name!r}")
    if name in choices and value not in choices[name]:
        raise ValueError(f"{name} must be one of {', '.join(choices[name])}, got {value!r}")
    if name in limits:
        low, high = limits[name]
        if not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    if name == "device" and value not in devices():
        raise ValueError(f"device {value!r} is not available here")
