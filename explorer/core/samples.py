"""The bundled sample photos (``explorer/resources/samples/*.jpg``), found through the package's resources
(importlib.resources), wherever the package is installed. Core layer, pure Python: benchmark suites
and menus can list them without importing torch."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def sample_images() -> list[Path]:
    """The bundled sample photos, sorted by name."""
    folder = files("explorer.resources").joinpath("samples")
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".jpg"))
