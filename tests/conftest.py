"""Shared test setup: Qt runs offscreen on a virtual 1600x1000 screen (the size the layout's
targets are set for), so geometry tests measure what a person would see on such a screen."""

import json
import os
import shutil
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


# Engines export each set of weights into a disk cache (100 MB for ResNet-50): the tests, and the
# commands they start, use a folder of their own, removed at the end, never the user's.
_ENGINE_CACHE = tempfile.mkdtemp(prefix="engine-cache-")
os.environ["RESNET_EXPLORER_ENGINE_CACHE"] = _ENGINE_CACHE


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_ENGINE_CACHE, ignore_errors=True)
