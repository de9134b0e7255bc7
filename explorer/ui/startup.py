"""What the window needs before its parts exist: the torch-backed part modules it imports on a worker
once it is on screen, the architecture summary of the network shown (cached per member and head),
and the app's icon.

UI layer, no Qt and no torch at import: the window imports this before anything loads torch.
"""

from __future__ import annotations

import functools
import gc
import importlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from explorer.core.network.stages import DEFAULT_ARCH, MEMBERS

if TYPE_CHECKING:
    from explorer.core.network.summary import ModelSummary

PARTS_LANE = "parts"
# The torch-backed modules that build_parts imports (the modules only: no widget is created off the
# GUI thread). The diagram is not among them: it is torch-free and drawn at once (build_diagram).
PART_MODULES = (
    "explorer.ui.classify.panel",
    "explorer.ui.gradient_lab.panel",
    "explorer.ui.insight.panel",
    "explorer.ui.inspector.panel",
    "explorer.ui.race.panel",
    "explorer.ui.theory.panel",
)


@functools.lru_cache(maxsize=4)
def cached_summary(arch: str = DEFAULT_ARCH, num_classes: int = 1000) -> "ModelSummary":
    """The summary of a member behind ``resnet-explorer summary``, at the side it was built for (224,
    32 for the CIFAR networks), computed once per network and head per process (milliseconds: a
    torch-free layer table), always on a worker thread."""
    from explorer.core.network.summary import summarize

    side = MEMBERS[arch].image_size if arch in MEMBERS else 224  # a checkpoint's own shape is an ImageNet one
    return summarize((side, side), num_classes=num_classes, arch=arch)


def import_part_modules(ctx: object) -> None:
    """Import the part modules (a job: torch loads off the GUI thread, without holding it: quiet_import).
    Nothing happens once they are imported: the freeze at the end of a quiet import is for what it
    made, and a second one would keep every garbage cycle alive then for good (a process that opens
    a second window, the test suite's)."""
    from explorer.ui.quiet_import import quietly_importing

    missing = [name for name in PART_MODULES if name not in sys.modules]
    if not missing:
        return
    with quietly_importing():
        for name in missing:
            importlib.import_module(name)


def freeze_long_lived_objects() -> None:
    """Take every object alive now out of the cyclic garbage collector's scans (``gc.freeze``): once
    torch, the views and their modules are loaded (some 250,000 objects), a full collection scanned
    them all each time and held every thread for 100-290 ms, the longest stalls of the GUI thread in
    a race and a network switch (bench --suite ui: the race's 195 ms, the switch's 130 ms, to 82-107
    and 84-89 ms). Frozen objects are still freed when their last reference goes; a reference cycle
    among them that is garbage already stays (the app calls this when its window shows and when its
    parts are built)."""
    gc.freeze()


def icon_path() -> Path | None:
    """The app's icon as installed, or None."""
    from importlib import resources

    try:
        path = Path(str(resources.files("explorer.resources") / "icon.svg"))
    except ModuleNotFoundError:
        return None
    return path if path.is_file() else None


def run_in_steps(steps: Iterator[None], then: Callable[[], None]) -> None:
    """Take one step of ``steps`` per turn of the event loop (a repaint, a timer between two), then
    call ``then``: how the window builds its parts without holding the GUI thread long. Each step
    is a 1 ms timer, not a 0 ms one: those run ahead of the loop's other timers, which then waited
    for two or three steps in a row (bench --suite ui's heartbeat: 55-60 ms, against single steps
    of 15-35 ms). The first step too: called from a job's result, it ran in the turn that had just
    handled another result and painted it (a switch's weights, then its summary: 42 ms)."""
    from PySide6.QtCore import QTimer

    def next_step() -> None:
        if next(steps, StopIteration) is not StopIteration:
            QTimer.singleShot(1, next_step)
        else:
            then()

    QTimer.singleShot(1, next_step)
