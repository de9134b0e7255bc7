"""What the main window loads besides its own widgets: the torch-backed part modules (imported on a
worker at launch, so the window keeps painting), the architecture summary (computed once per process
on a worker) and the window's icon. UI layer; imports neither Qt widgets nor torch at import time.
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from explorer.core.summary import ModelSummary

PARTS_LANE = "parts"
# The torch-backed modules that build_parts imports (the modules only: no widget is created off the
# GUI thread). The diagram is not among them: it is torch-free and drawn at once (build_diagram).
PART_MODULES = (
    "explorer.ui.classify.panel",
    "explorer.ui.gradient_lab.panel",
    "explorer.ui.insight.panel",
    "explorer.ui.inspector.panel",
    "explorer.ui.race.panel",
)


@functools.lru_cache(maxsize=1)
def cached_summary() -> "ModelSummary":
    """The 224x224, 1000-class summary behind ``resnet-explorer summary``; computed once per process
    (about two seconds), always on a worker thread."""
    from explorer.core.summary import summarize

    return summarize()


def import_part_modules(ctx: object) -> None:
    """A job (on :data:`PARTS_LANE`): import every module of :data:`PART_MODULES`."""
    for name in PART_MODULES:
        importlib.import_module(name)


def icon_path() -> Path | None:
    """The app's icon as installed (``explorer.resources/icon.svg``), or None."""
    from importlib import resources

    try:
        path = Path(str(resources.files("explorer.resources") / "icon.svg"))
    except ModuleNotFoundError:
        return None
    return path if path.is_file() else None
