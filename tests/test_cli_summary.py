"""`resnet-explorer summary`: table, JSON schema and usage errors, through the real entry point."""

import json
import subprocess
import sys

import pytest

from explorer.cli import main


def test_json_schema_and_numbers(capsys):
    assert main(["summary", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total_params"] == 25_557_032
    assert data["trainable_params"] == 25_557_032
    assert data["mult_adds"] == 4_089_238_376
    assert [s["name"] for s in data["stages"]] == [f"stage{i}" for i in range(1, 6)]
    block = data["stages"][2]["blocks"][0]
    assert block["name"] == "layer2.0" and block["kind"] == "conv"
    assert block["input_shape"] == [256, 56, 56] and block["output_shape"] == [512, 28, 28]
    assert {"params", "mult_adds", "receptive_field", "stride"} <= set(block)
    assert data["head"]["params"] == 2_049_000


def test_table_is_readable(capsys):
    assert main(["summary", "--input-size", "64", "64", "--num-classes", "6"]) == 0
    out = capsys.readouterr().out
    assert "input 3x64x64, 6 classes" in out
    assert "layer4.2" in out and "identity" in out
    assert "V1.5" in out


@pytest.mark.parametrize(
    "argv",
    [["summary", "--input-size", "224"], ["summary", "--input-size", "a", "b"], ["summary", "--num-classes", "0"], ["summary", "--bogus"]],
)
def test_bad_arguments_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err and "Traceback" not in err


def test_too_small_input_is_one_line_error():
    proc = subprocess.run([sys.executable, "-m", "explorer", "summary", "--input-size", "8", "8"], capture_output=True, text=True)
    assert proc.returncode != 0
    assert proc.stderr.strip().count("\n") == 0 and "too small" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "arch,total", [("resnet20", 269_722), ("resnet32", 464_154), ("resnet44", 658_586), ("resnet56", 853_018), ("resnet110", 1_727_962)]
)
def test_cifar_networks_total_he_et_al_s_parameters(arch, total, capsys):
    """He et al. 2015, Sec. 4.2 and Table 6; the numbers are checked against a build of the paper's
    networks in tests/core/test_cifar_resnets.py."""
    assert main(["summary", "--arch", arch, "--num-classes", "10", "--input-size", "32", "32", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["total_params"], data["arch"], data["num_classes"]) == (total, arch, 10)
    assert [s["module"] for s in data["stages"]] == ["stem", "layer1", "layer2", "layer3"]
    assert main(["summary", "--arch", arch]) == 0  # their own defaults: 32x32, 10 classes
    out = capsys.readouterr().out
    assert out.startswith(f"ResNet-{arch[6:]}, input 3x32x32, 10 classes") and f"{total:,}" in out and "option A" in out
