"""Packaging: the wheel ships the whole source tree, and the desktop entry and the AppStream metainfo
declare every model file type that the shared-mime-info file defines, beside the image types, so file
managers open checkpoints with the app."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

PACKAGING = Path(__file__).resolve().parents[1] / "packaging"
APP = "io.github.resnet_explorer.ResNetExplorer"
NS = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}


def test_model_types_are_defined_and_declared():
    mime = ET.parse(PACKAGING / f"{APP}.mime.xml").getroot()
    defined = {t.get("type"): {g.get("pattern") for g in t.findall("m:glob", NS)} for t in mime.findall("m:mime-type", NS)}
    assert set().union(*defined.values()) == {"*.pth", "*.pt", "*.bin", "*.safetensors"}
    desktop = (PACKAGING / f"{APP}.desktop").read_text()
    declared = next(line for line in desktop.splitlines() if line.startswith("MimeType=")).split("=", 1)[1].split(";")
    assert set(defined) <= set(declared) and "image/jpeg" in declared
    assert "Exec=resnet-explorer %F" in desktop
    metainfo = ET.parse(PACKAGING / f"{APP}.metainfo.xml").getroot()
    assert set(defined) <= {m.text for m in metainfo.iter("mediatype")}


def test_the_wheel_ships_every_package_and_the_bundled_data(tmp_path):
    """A non-editable install gets what the source tree has: every package under explorer/ (found by
    setuptools, not listed by hand: a hand-written list once left out explorer.core.engines) and every
    bundled file (class names, icon, samples, digits)."""
    root = PACKAGING.parent
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(root)],
        capture_output=True, text=True, timeout=600,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("resnet_explorer-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    sources = {p.relative_to(root).as_posix() for p in (root / "explorer").rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert sources and sources <= shipped, sorted(sources - shipped)
    packages = {p.parent.relative_to(root).as_posix() for p in (root / "explorer").rglob("__init__.py")}
    assert {"explorer/core/inference/engines", "explorer/resources"} <= packages
