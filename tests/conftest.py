"""Shared test setup: Qt runs offscreen on a virtual 1600x1000 screen (the size the layout's
targets are set for), so geometry tests measure what a person would see on such a screen."""

import json
import os
import tempfile
from pathlib import Path

SCREEN = {"width": 1600, "height": 1000}


def _offscreen_with_a_screen() -> str:
    config = Path(tempfile.mkdtemp(prefix="qt-screen-")) / "screen.json"
    screen = {"name": "test", "x": 0, "y": 0, **SCREEN, "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}
    config.write_text(json.dumps({"screens": [screen]}))
    return f"offscreen:configfile={config}"


if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    os.environ["QT_QPA_PLATFORM"] = _offscreen_with_a_screen()
