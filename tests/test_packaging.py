"""The desktop entry and the AppStream metainfo declare every model file type that the
shared-mime-info file defines, beside the image types, so file managers open checkpoints with the app."""

from __future__ import annotations

import xml.etree.ElementTree as ET
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
