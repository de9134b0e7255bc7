"""Shared test setup: Qt runs offscreen on a virtual 1600x1000 screen (the size the layout's
targets are set for), so geometry tests measure what a person would see on such a screen; each
CPU's precision path runs on any machine (the ``native_bf16`` and ``no_native_bf16`` fixtures, the
``cpu_kind`` marker)."""

import json
import os
import tempfile
from pathlib import Path

import pytest

from explorer.core.devices import NATIVE_BF16_ENV

SCREEN = {"width": 1600, "height": 1000}


def _offscreen_with_a_screen() -> str:
    config = Path(tempfile.mkdtemp(prefix="qt-screen-")) / "screen.json"
    screen = {"name": "test", "x": 0, "y": 0, **SCREEN, "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}
    config.write_text(json.dumps({"screens": [screen]}))
    return f"offscreen:configfile={config}"


if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    os.environ["QT_QPA_PLATFORM"] = _offscreen_with_a_screen()


# Engines export each set of weights into a disk cache (100 MB for ResNet-50): the tests, and the
# commands they start, use a folder of their own inside pytest's temporary folder, never the user's.
# It goes with that folder (at the end of a passed run; a failed run's is kept for two runs).


@pytest.fixture(scope="session", autouse=True)
def engine_cache(tmp_path_factory):
    folder = tmp_path_factory.mktemp("engine-cache")
    os.environ["RESNET_EXPLORER_ENGINE_CACHE"] = str(folder)
    yield folder
    del os.environ["RESNET_EXPLORER_ENGINE_CACHE"]


# A CPU with native bf16 (AMX, AVX512-BF16) runs the classifier in bf16 by default, one without in
# fp32: different code paths (the sample-photo check, notes, fallbacks, each engine's choice). These
# fixtures make the precision facts those of the other kind of CPU (PyTorch runs bf16 on any x86 CPU,
# only slower; OpenVINO asks the hardware itself). Tests whose path follows the CPU without such a
# fixture are marked ``cpu_kind``; CI runs them again as the other kind of CPU (see .ci/run).


@pytest.fixture
def native_bf16(monkeypatch):
    """Precision facts as on a CPU that runs bf16 natively, whatever this one is."""
    monkeypatch.setenv(NATIVE_BF16_ENV, "1")


@pytest.fixture
def no_native_bf16(monkeypatch):
    """Precision facts as on a CPU without native bf16 (AVX2 only), whatever this one is."""
    monkeypatch.setenv(NATIVE_BF16_ENV, "0")
