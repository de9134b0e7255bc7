"""``resnet-explorer race``: the exact JSON keys, strict JSON, CSV rows equal to the JSON and written
atomically, refused images named on stderr, the depth race (``--depths``, He et al. Fig. 6), usage
errors (exit 2), one-line failures (exit 1), and a command module that loads no torch for ``--help``.
Runs in-process with the default network (ResNet-56 at 16x16), batch 4, two steps.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from support import image_folder

from explorer.cli import main

SMALL = ["--steps", "2", "--batch", "4", "--device", "cpu"]
ROOT = Path(__file__).resolve().parents[1]


def _race(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["race", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _usage_error(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exc:
        main(["race", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: resnet-explorer race") and "Traceback" not in err
    return err


def _refuse_nan(text: str):
    raise AssertionError(f"non-strict JSON constant {text}")


@pytest.fixture(scope="module")
def race_json(tmp_path_factory) -> tuple[dict, Path]:
    target = tmp_path_factory.mktemp("csv") / "race.csv"
    target.write_text("old contents")
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        assert main(["race", "--json", "--csv", str(target), "--seed", "2", *SMALL]) == 0
    return json.loads(buffer.getvalue(), parse_constant=_refuse_nan), target


def test_json_has_exactly_the_documented_keys(race_json):
    document, _ = race_json
    assert list(document) == ["config", "runs", "validation", "verdict", "leader", "measures_agree", "seconds"]
    assert [(r["label"], r["arch"], r["shortcuts"]) for r in document["runs"]] == [("residual", "resnet56", True), ("plain", "resnet56", False)]
    for run in document["runs"]:
        assert list(run) == ["label", "arch", "shortcuts", "loss", "accuracy", "stem_grad"]
        assert all(len(run[k]) == 2 for k in ("loss", "accuracy", "stem_grad"))
    config = document["config"]
    assert (config["steps"], config["batch"], config["seed"], config["size"], config["device"]) == (2, 4, 2, 16, "cpu")
    assert (config["network"], config["norm"], config["data"], config["depths"]) == ("resnet56", "batch", "digits", [])
    assert (config["lr"], config["warmup"], config["clip"], config["precision"]) == (0.1, 10, 1.0, "fp32")
    assert document["leader"] in ("residual", "plain", "level") and isinstance(document["measures_agree"], bool)
    assert config["dataset"] == {"name": "digits", "classes": list("0123456789"), "train": 1618, "validation": 179, "skipped": []}
    assert set(document["validation"]) == {"residual", "plain"}
    assert document["verdict"].startswith("After 2 steps the plain network's training loss is ")
    assert document["seconds"] > 0


def test_csv_rows_equal_the_json_and_replace_the_file_atomically(race_json):
    document, target = race_json
    rows = list(csv.DictReader(target.open()))
    assert list(rows[0]) == ["step", "label", "loss", "accuracy", "stem_grad"] and len(rows) == 4
    expected = [(step, run) for step in range(2) for run in document["runs"]]
    for row, (step, run) in zip(rows, expected):
        assert (int(row["step"]), row["label"]) == (step + 1, run["label"])
        assert [float(row[k]) for k in ("loss", "accuracy", "stem_grad")] == [run[k][step] for k in ("loss", "accuracy", "stem_grad")]
    assert [p.name for p in target.parent.iterdir()] == ["race.csv"]  # no temporary file left behind


def test_text_output_has_conditions_table_and_verdict(capsys):
    code, out, err = _race(capsys, "--steps", "1", "--batch", "4", "--device", "cpu", "--norm", "none")
    assert code == 0 and err == ""  # no progress lines when stderr is not a terminal
    lines = out.splitlines()
    assert lines[0].startswith("ResNet-56 residual vs plain, digits: 10 classes") and "no normalisation" in lines[0]
    assert lines[2].split()[:2] == ["step", "residual"] and lines[3].split()[0] == "1"
    assert lines[-2].startswith("After 1 step the plain network's training loss is ") and lines[-1].endswith(" s")


def test_arch_races_any_member_of_the_family(capsys):
    code, out, _ = _race(capsys, "--arch", "resnet18", "--steps", "1", "--batch", "2", "--device", "cpu", "--json")
    document = json.loads(out)
    assert code == 0 and (document["config"]["network"], document["config"]["size"]) == ("resnet18", 32)  # ImageNet members: 32 px
    assert document["verdict"].startswith("After 1 step ")


def test_depths_race_each_network_plain_and_residual(capsys):
    code, out, err = _race(capsys, "--depths", "resnet20,resnet32", "--steps", "1", "--batch", "2", "--device", "cpu")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("ResNet-20, ResNet-32, each residual and plain, digits")
    assert lines[2].split()[1:] == ["residual-20", "loss", "acc", "stem", "grad", "plain-20", "loss", "acc", "stem", "grad",
                                    "residual-32", "loss", "acc", "stem", "grad", "plain-32", "loss", "acc", "stem", "grad"]
    assert lines[-2].startswith("After 1 step (training loss and batch accuracy over the last 1 step) plain-32 ")
    code, out, _ = _race(capsys, "--depths", "resnet32,resnet20", "--steps", "1", "--batch", "2", "--device", "cpu", "--json")
    document = json.loads(out, parse_constant=_refuse_nan)
    assert [(r["label"], r["arch"], r["shortcuts"]) for r in document["runs"]] == [
        ("residual-20", "resnet20", True), ("plain-20", "resnet20", False), ("residual-32", "resnet32", True), ("plain-32", "resnet32", False)]
    assert document["config"]["depths"] == ["resnet32", "resnet20"] and set(document["validation"]) == {"residual-20", "plain-20", "residual-32", "plain-32"}
    depth = document["depth"]
    assert (depth["plain"]["shallower"], depth["plain"]["deeper"]) == ("plain-20", "plain-32")
    assert all(isinstance(depth[k], bool) for k in ("degradation", "residual_avoids_it", "shortcuts_shrink_it"))


def test_bad_image_is_named_on_stderr_and_the_rest_trains(tmp_path, capsys):
    folder = image_folder(tmp_path / "data", {"red": 3, "blue": 3}, bad={"red/broken.png": "not an image"})
    code, out, err = _race(capsys, "--data", str(folder), "--steps", "1", "--batch", "2", "--device", "cpu", "--json")
    assert code == 0
    (line,) = err.splitlines()
    assert line.startswith(f"resnet-explorer race: error: skipped {folder / 'red' / 'broken.png'}: ")
    dataset = json.loads(out)["config"]["dataset"]
    assert dataset["classes"] == ["blue", "red"] and dataset["train"] + dataset["validation"] == 6
    assert dataset["skipped"] == [line.split("skipped ", 1)[1]]


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--steps", "0"], "must be at least 1"),
        (["--batch", "1"], "must be at least 2"),
        (["--size", "4"], "must be at least 8"),
        (["--arch", "resnet50", "--size", "16"], "size must be a whole number of at least 32"),
        (["--depths", "resnet20"], "give two or more of"),
        (["--depths", "resnet20,resnet56", "--arch", "resnet18"], "--depths races the networks it names: no --arch"),
        (["--depths", "resnet50,resnext50_32x4d"], "different depths"),
        (["--clip", "-1"], "must be from 0.0"),
        (["--lr", "0"], "must be from 1e-06 to 10.0"),
        (["--lr", "many"], "is not a number"),
        (["--seed", "-1"], "must be 0 or more"),
        (["--norm", "frozen"], "invalid choice"),
        (["--arch", "resnet51"], "invalid choice"),
    ],
)
def test_bad_arguments_are_usage_errors(capsys, argv, message):
    assert message in _usage_error(capsys, *argv)


@pytest.mark.parametrize(
    "argv,words",
    [
        (["--data", "no/such/folder"], ["no/such/folder: no such folder"]),
        (["--device", "cuda:7"], ["cuda:7", "not available"]),
        (["--csv", "missing/race.csv"], ["missing/race.csv: cannot write (folder missing: no such folder)"]),
    ],
)
def test_failures_are_one_line_and_exit_1(capsys, argv, words):
    code, out, err = _race(capsys, *argv)
    assert code == 1 and out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert all(w in err for w in words), err


def test_folder_with_too_few_classes_is_one_line(tmp_path, capsys):
    folder = image_folder(tmp_path / "data", {"only": 3})
    code, _, err = _race(capsys, "--data", str(folder), *SMALL)
    assert code == 1 and err.count("\n") == 1 and f"{folder}: needs at least two class subfolders" in err


def test_failed_csv_write_leaves_no_temporary_file(tmp_path, capsys):
    target = tmp_path / "taken.csv"
    target.mkdir()  # a folder at the path: refused before training (tests/test_cli_contain.py)
    code, _, err = _race(capsys, "--csv", str(target), "--steps", "1", "--batch", "2", "--device", "cpu")
    assert code == 1 and "taken.csv" in err and err.count("\n") == 1
    assert [p.name for p in tmp_path.iterdir()] == ["taken.csv"] and not any(target.iterdir())


def test_command_module_loads_no_torch():
    code = "import sys, explorer.commands.race; assert 'torch' not in sys.modules, 'torch imported'; print('ok')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_bench_suite_reports_its_numbers(capsys):
    """The bench runs end to end at a tiny size; numbers are printed, never asserted on."""
    assert main(["bench", "--suite", "race", "--arch", "resnet18", "--race-batch", "2", "--race-rounds", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)["race"]
    assert result["arch"] == "resnet18"
    assert (result["batch"], result["size"], result["device"], result["rounds"]) == (2, 32, "cpu", 1)
    assert set(result["step_ms"]) == {"residual", "plain", "torchvision"}
    assert result["ratio"]["plain"] == pytest.approx(result["step_ms"]["plain"]["median"] / result["step_ms"]["torchvision"]["median"], abs=1e-3)
    assert result["race_step_ms"] > 0
