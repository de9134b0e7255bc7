"""``resnet-explorer grads``: JSON schema and numbers equal to the core's, presets overridden by flags,
CSV rows equal to the JSON and written atomically, usage errors (exit 2) and one-line runtime errors
(exit 1). Runs in-process at 32x32 to stay fast.
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace

import pytest
import torch
from PIL import Image

from explorer.bench import grads as grads_bench
from explorer.cli import main
from explorer.core.gradients import PRESETS, run_comparison
from explorer.core.network.blocks import residual_blocks
from explorer.core.network.model import ResNet50

SMALL = ["--size", "32", "--batch", "2"]


def _grads(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["grads", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _usage_error(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exc:
        main(["grads", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: resnet-explorer grads") and "Traceback" not in err
    return err


@pytest.fixture(scope="module")
def both_json() -> dict:
    import io
    from contextlib import redirect_stdout

    buffer = io.StringIO()
    with redirect_stdout(buffer):
        assert main(["grads", "--preset", "no-norm", "--norm", "batch", "--json", *SMALL]) == 0
    return json.loads(buffer.getvalue())


def test_json_schema_and_preset_overridden_by_flags(both_json):
    runs = both_json["runs"]
    assert [r["shortcuts"] for r in runs] == [True, False]
    for run in runs:
        assert {"shortcuts", "config", "loss", "verdict", "layers"} <= run.keys()
        # --norm overrides the preset; the preset's own init stays.
        assert (run["config"]["norm"], run["config"]["init"], run["config"]["size"]) == ("batch", "pytorch", 32)
        assert len(run["layers"]) == 54
        assert all(layer.keys() == {"name", "stage", "grad_norm", "activation_std", "shortcut"} for layer in run["layers"])
        assert run["layers"][0]["name"] == "conv1" and run["layers"][-1]["name"] == "fc"
    plain_projections = [layer["grad_norm"] for layer in runs[1]["layers"] if layer["shortcut"]]
    assert plain_projections == [None] * 4


def test_json_numbers_equal_the_core(both_json):
    config = replace(PRESETS["no-norm"].config, norm="batch", size=32, batch=2)
    expected = [r.to_dict() for r in run_comparison(config, "both")]
    assert both_json["runs"] == json.loads(json.dumps(expected))


def test_text_output_has_table_and_verdicts(capsys):
    code, out, err = _grads(capsys, "--shortcuts", "off", "--blocks", "layer1.0,layer4.2", "--lesion", "layer3.1", *SMALL)
    assert code == 0 and err == ""  # no progress lines when stderr is not a terminal
    assert "plain in layer1.0,layer4.2 network, lesion layer3.1" in out
    assert "layer1.0.downsample.0 (proj.)" in out
    assert out.rstrip().splitlines()[-1].startswith("plain in layer1.0,layer4.2: gradient ")


def test_cifar_networks_run_at_32_px_with_10_classes(capsys):
    code, out, _ = _grads(capsys, "--arch", "resnet20", "--batch", "2", "--json")
    assert code == 0
    runs = json.loads(out)["runs"]
    assert [(r["config"]["arch"], r["config"]["size"], r["config"]["num_classes"]) for r in runs] == [("resnet20", 32, 10)] * 2
    assert [len([layer for layer in r["layers"] if not layer["shortcut"]]) for r in runs] == [20, 20]  # 6n+2 main-path layers
    code, out, _ = _grads(capsys, "--depths", "resnet20,resnet32", "--batch", "2", "--json")
    assert code == 0 and [c["label"] for c in json.loads(out)["depths"]["curves"]] == ["residual-20", "plain-20", "residual-32", "plain-32"]
    assert "has no published weights" in _usage_error(capsys, "--arch", "resnet56", "--preset", "trained")


def test_csv_rows_equal_json(tmp_path, capsys):
    target = tmp_path / "grads.csv"
    target.write_text("old contents")
    code, out, _ = _grads(capsys, "--json", "--csv", str(target), "--seed", "3", *SMALL)
    assert code == 0
    runs = json.loads(out)["runs"]
    rows = list(csv.DictReader(target.open()))
    assert len(rows) == 2 * 54
    for row, (run, layer) in zip(rows, [(r, layer) for r in runs for layer in r["layers"]]):
        assert row["layer"] == layer["name"] and row["shortcuts"] == str(run["shortcuts"])
        assert row["grad_norm"] == ("" if layer["grad_norm"] is None else repr(layer["grad_norm"]))
    assert [p.name for p in tmp_path.iterdir()] == ["grads.csv"]  # no temporary file left behind


def test_csv_into_missing_folder_is_one_line_error(tmp_path, capsys):
    target = tmp_path / "missing" / "grads.csv"
    code, _, err = _grads(capsys, "--csv", str(target), "--shortcuts", "on", *SMALL)
    assert code == 1 and not target.exists()
    assert err.count("\n") == 1 and str(target) in err and "Traceback" not in err


def test_failed_csv_write_leaves_no_temporary_file(tmp_path, capsys):
    target = tmp_path / "taken.csv"
    target.mkdir()  # refused before the run; a write failing late: tests/core/test_files.py
    code, _, err = _grads(capsys, "--csv", str(target), "--shortcuts", "on", *SMALL)
    assert code == 1 and "taken.csv" in err and err.count("\n") == 1 and "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir()] == ["taken.csv"] and not any(target.iterdir())


def test_failed_run_leaves_existing_csv_untouched(tmp_path, capsys):
    bad = tmp_path / "photo.jpg"
    bad.write_text("not an image")
    target = tmp_path / "grads.csv"
    target.write_text("old contents")
    code, _, err = _grads(capsys, "--input", str(bad), "--csv", str(target), "--size", "32")
    assert code == 1 and "photo.jpg" in err and err.count("\n") == 1 and "Traceback" not in err
    assert target.read_text() == "old contents"


def test_image_inputs_form_the_batch(tmp_path, capsys):
    paths = []
    for i, colour in enumerate([(200, 30, 30), (20, 90, 220), (240, 240, 20)]):
        path = tmp_path / f"img{i}.png"
        Image.new("RGB", (50, 40), colour).save(path)
        paths.append(str(path))
    code, out, _ = _grads(capsys, "--input", *paths, "--size", "32", "--shortcuts", "on", "--targets", "top1", "--json")
    assert code == 0
    config = json.loads(out)["runs"][0]["config"]
    assert config["batch"] == 3 and config["inputs"] == paths and config["targets"] == "top1"


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--blocks", "layer2.9"], "valid names are " + ", ".join(residual_blocks())),
        (["--lesion", "stem"], "unknown block(s) stem"),
        (["--blocks", "layer2.1", "--shortcuts", "on"], "use it with --shortcuts off or both"),
        (["--blocks", "layer2.1", "--lesion", "layer2.1"], "both shortcut and residual"),
        (["--input", "noise", "a.png"], "either 'noise' or image files"),
        (["--input", "a.png", "--batch", "4"], "with images the batch is the images"),
        (["--weights", "w.pth", "--init", "he"], "--weights applies only with --init weights"),
        (["--init", "weights"], "needs a weights source"),
        (["--preset", "bogus"], "invalid choice"),
        (["--batch", "0"], "must be at least 1"),
        (["--seed", "-1"], "must be 0 or more"),
        (["--norm", "layer"], "invalid choice"),
    ],
)
def test_bad_arguments_are_usage_errors(capsys, argv, message):
    assert message in _usage_error(capsys, *argv)


def test_runtime_error_from_torch_is_one_line(capsys):
    # One value per channel at the last stage cannot be batch-normalised: torch refuses.
    code, _, err = _grads(capsys, "--batch", "1", "--size", "32", "--shortcuts", "on")
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err


def test_weights_file_matches_loaded_copy(tmp_path, capsys):
    source = ResNet50(init="pytorch", seed=11)
    path = tmp_path / "ckpt.pth"
    torch.save(source.state_dict(), path)
    code, out, err = _grads(capsys, "--weights", str(path), "--norm", "none", "--shortcuts", "on", "--json", *SMALL)
    assert code == 0, err
    run = json.loads(out)["runs"][0]
    # Reference: the same weights, the documented noise and labels, torch.autograd.grad directly.
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 32, 32, generator=g)
    y = torch.randint(1000, (2,), generator=g)
    source.set_normalization("none")
    loss = torch.nn.functional.cross_entropy(source(x), y)
    (grad,) = torch.autograd.grad(loss, [source.conv1.weight])
    assert run["loss"] == pytest.approx(loss.item(), rel=1e-5)
    assert run["layers"][0]["grad_norm"] == pytest.approx(grad.double().norm().item(), rel=1e-4)


def test_missing_weights_file_is_one_line_error(tmp_path, capsys):
    missing = tmp_path / "nope.pth"
    code, _, err = _grads(capsys, "--weights", str(missing), "--shortcuts", "on", *SMALL)
    assert code == 1 and "nope.pth" in err and err.count("\n") == 1 and "Traceback" not in err


def test_bench_suite_reports_its_numbers(capsys):
    """The bench runs end to end at a tiny size; numbers are printed, never asserted on."""
    assert main(["bench", "--suite", "grads", "--grads-size", "32", "--grads-batch", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)["grads"]
    assert (result["batch"], result["size"], result["device"]) == (2, 32, "cpu")
    assert result["both_variants_s"] > 0 and result["both_variants_cpu_s"] > 0
    assert result["peak_memory_bytes"] > 0 and "VmHWM" in result["memory_source"]
    assert "batch 2, 32x32, cpu" in grads_bench.describe(result)


@pytest.mark.parametrize("ratio, verdict", [(1.05, "within the 1.15 target"), (1.4, "OVER the 1.15 target")])
def test_bench_verdict_follows_the_target(ratio, verdict):
    result = {
        "batch": 8, "size": 224, "device": "cpu", "threads": 2, "repeats": 1, "both_variants_s": 2.0, "both_variants_cpu_s": 3.0,
        "torchvision_two_passes_s": 2.0 / ratio, "torchvision_two_passes_cpu_s": 3.0, "ratio": ratio, "cpu_ratio": 1.0,
        "target_ratio": grads_bench.TARGET_RATIO, "peak_memory_bytes": 2**30, "torchvision_peak_memory_bytes": 2**30,
        "memory_source": "peak RSS",
    }
    assert verdict in grads_bench.describe(result)
