"""``resnet-explorer signal``, ``paths`` and ``erf``: the JSON each prints holds exactly the issue's fields
with the core's numbers, the text output, the gradient lab's options (weights imply ``--init weights``,
fixup implies no normalisation, images form the batch) and their usage errors. The checks every command
shares (inputs before any model, one minimum size, memory, absent devices) are in test_cli_manners.
Runs in-process at 32-64 px on ResNet-18.
"""

from __future__ import annotations

import json

import pytest

from explorer.cli import main
from explorer.core.theory import TheoryConfig, run_erf, run_paths, run_signal
from support import checkpoint, pattern_image, run_cli, strict_json

SMALL = ["--arch", "resnet18", "--size", "32"]


def usage_error(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: resnet-explorer {argv[0]}") and "Traceback" not in err
    return err


def test_signal_json_is_the_cores(capsys):
    code, out, err = run_cli(capsys, "signal", *SMALL, "--shortcuts", "off", "--json")
    assert code == 0 and err == ""
    report = strict_json(out)
    assert report.keys() == {"config", "blocks"}
    assert [b["name"] for b in report["blocks"]] == ["stem", *(f"layer{s}.{i}" for s in range(1, 5) for i in range(2))]
    assert all(b.keys() == {"name", "mean_sq", "variance", "residual_variance"} for b in report["blocks"])
    assert report["blocks"][0]["residual_variance"] is None
    expected = run_signal(TheoryConfig(arch="resnet18", size=32, shortcuts=False)).to_dict()
    assert report == strict_json(json.dumps(expected))
    assert (report["config"]["shortcuts"], report["config"]["norm"], report["config"]["device"]) == (False, "batch", "cpu")


def test_signal_text_names_the_conditions_and_every_block(capsys):
    code, out, _ = run_cli(capsys, "signal", *SMALL, "--init", "fixup", "--seed", "3")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("resnet18, residual, init fixup, norm none, noise, batch 2, 32x32, seed 3")
    assert lines[2].split()[0] == "stem" and lines[2].split()[-1] == "-" and len(lines) == 2 + 9


def test_paths_json_is_the_cores(capsys):
    code, out, _ = run_cli(capsys, "paths", *SMALL, "--norm", "frozen", "--json")
    report = strict_json(out)
    assert code == 0
    assert report.keys() == {"config", "blocks", "exact", "distribution", "gradient_by_length", "total_by_length", "identity_error"}
    assert (report["blocks"], report["exact"], len(report["gradient_by_length"])) == (8, True, 9)
    assert report["identity_error"] < 1e-4
    expected = run_paths(TheoryConfig(arch="resnet18", size=32, norm="frozen")).to_dict()
    assert report["gradient_by_length"] == pytest.approx(expected["gradient_by_length"], rel=1e-6)
    assert report["distribution"] == expected["distribution"] and report["config"] == expected["config"]


def test_paths_text_and_samples(capsys):
    code, out, _ = run_cli(capsys, "paths", *SMALL, "--norm", "frozen", "--samples", "3")
    assert code == 0 and "8 blocks, 256 paths (every subset)" in out and "relative error" in out
    assert out.splitlines()[2].split()[:2] == ["0", "0.39%"]


def test_erf_json_is_the_cores_and_the_default_is_frozen_statistics(capsys, tmp_path):
    picture = pattern_image(tmp_path / "p.png", (50, 40))
    code, out, _ = run_cli(capsys, "erf", *SMALL, "--stage", "layer1", "--input", picture, "--json")
    report = strict_json(out)
    assert code == 0
    assert report.keys() == {"config", "stage", "size", "unit", "receptive_field", "map", "radius_95"}
    assert (report["stage"], report["size"], report["unit"], report["config"]["norm"]) == ("layer1", [32, 32], [4, 4], "frozen")
    (expected,) = run_erf(TheoryConfig(arch="resnet18", size=32, norm="frozen", inputs=(str(picture),)), ("layer1",))
    assert report["map"] == expected.map.tolist() and report["receptive_field"] == expected.receptive_field == 43
    assert report["radius_95"] == pytest.approx(expected.radius_95)


def test_erf_text_draws_the_map(capsys):
    code, out, _ = run_cli(capsys, "erf", *SMALL, "--stage", "stem")
    lines = out.splitlines()
    assert code == 0 and "theoretical receptive field 11 px (rows 11..21, columns 11..21)" in out  # unit 4, stride 4
    picture = lines[3:]
    assert len(picture) == 32 and all(len(row) == 64 for row in picture) and "@" in out


def test_weights_imply_init_weights_and_images_form_the_batch(capsys, tmp_path):
    from explorer.core.network.model import ResNet

    weights = checkpoint(tmp_path / "r18.pth", ResNet("resnet18", seed=5))
    pictures = [pattern_image(tmp_path / f"p{i}.png", (40, 40), seed=i) for i in range(3)]
    code, out, _ = run_cli(capsys, "signal", "--size", "32", "--weights", weights, "--input", *pictures, "--json")
    config = strict_json(out)["config"]
    assert code == 0 and (config["init"], config["weights"], config["batch"], config["arch"]) == ("weights", str(weights), 3, "resnet18")


@pytest.mark.parametrize("argv, words", [
    (["signal", "--init", "he", "--weights", "random"], "--weights applies only with --init weights"),
    (["paths", "--init", "fixup", "--norm", "batch"], "use norm none"),
    (["erf", "--input", "a.png", "--batch", "3"], "--batch applies to noise input"),
    (["signal", "--input", "noise", "a.png"], "either 'noise' or image files"),
    (["erf", "--stage", "layer5"], "invalid choice: 'layer5'"),
    (["paths", "--samples", "0"], "must be at least 1"),
    (["signal", "--arch", "resnet18", "--weights", "imagenet-v2"], "ResNet-50's, not ResNet-18's"),
    (["signal", "--init", "weights"], "needs a weights source"),
])
def test_contradictions_are_usage_errors(capsys, argv, words):
    assert words in usage_error(capsys, *argv)
