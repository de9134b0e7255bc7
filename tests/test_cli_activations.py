"""``resnet-explorer activations`` end to end: numbers equal the core (activation capture, Grad-CAM
shares, channel ranking) for a checkpoint and an image made here; failures are one line."""

import json

import numpy as np
import pytest

from explorer.cli import main
from explorer.core.images import load_image, preprocess
from explorer.core.insight.activations import capture_activations, top_channels
from explorer.core.insight.gradcam import cam_mass_shares
from support import checkpoint, lively_model, pattern_photo


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("activations")
    model = lively_model(seed=5)
    checkpoint(root / "weights.pth", model)
    pattern_photo(root / "photo.png", (120, 90))
    return root, model


def test_json_equals_the_core(files, capsys):
    root, model = files
    argv = ["activations", str(root / "photo.png"), "--weights", str(root / "weights.pth"), "--device", "cpu"]
    assert main([*argv, "--block", "layer3.1", "--top", "5", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    image = preprocess(load_image(root / "photo.png"), 256, 224)
    maps = capture_activations(model, image)
    shares = cam_mass_shares(model, image)
    assert [b["name"] for b in report["blocks"]] == list(maps)
    for block in report["blocks"]:
        activation = maps[block["name"]]
        assert block["shape"] == list(activation.shape)
        assert block["activation_norm"] == pytest.approx(float(np.linalg.norm(activation.astype(np.float64))), rel=1e-5)
        assert block["cam_share"] == pytest.approx(shares.shares[block["name"]], rel=1e-4, abs=1e-9)
    assert sum(b["cam_share"] for b in report["blocks"]) == pytest.approx(1.0)
    assert report["class"]["index"] == shares.class_index
    expected = [c.channel for c in top_channels(maps["layer3.1"], 5)]
    assert [t["channel"] for t in report["channels"]["top"]] == expected

    assert main([*argv, "--class", "7"]) == 0
    text = capsys.readouterr().out
    assert "class 7" in text and "layer4.2" in text and "untrained" not in text


def test_bad_inputs(files, capsys, tmp_path):
    root, _ = files
    assert main(["activations", str(tmp_path / "missing.png"), "--weights", "random"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "missing.png" in err and "Traceback" not in err
    for bad in (["--block", "layer9.9"], ["--top", "0"], ["--class", "1000"]):
        with pytest.raises(SystemExit) as exc:
            main(["activations", str(root / "photo.png"), *bad])
        assert exc.value.code == 2
        assert "usage:" in capsys.readouterr().err
