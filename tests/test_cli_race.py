"""``resnet-explorer race``: the exact JSON keys, strict JSON, CSV rows equal to the JSON and written
atomically, refused images named on stderr, usage errors (exit 2), one-line failures (exit 1), and a
command module that loads no torch for ``--help``. Runs in-process at 32x32, batch 4, two steps.
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
    assert list(document) == ["config", "runs", "validation", "verdict", "seconds"]
    assert [r["label"] for r in document["runs"]] == ["residual", "plain"]
    for run in document["runs"]:
        assert list(run) == ["label", "loss", "accuracy", "stem_grad"]
        assert all(len(run[k]) == 2 for k in ("loss", "accuracy", "stem_grad"))
    config = document["config"]
    assert (config["steps"], config["batch"], config["seed"], config["size"], config["device"]) == (2, 4, 2, 32, "cpu")
    assert (config["network"], config["norm"], config["data"]) == ("resnet50", "batch", "digits")
    assert config["dataset"] == {"name": "digits", "classes": list("0123456789"), "train": 1618, "validation": 179, "skipped": []}
    assert set(document["validation"]) == {"residual", "plain"}
    assert document["verdict"].startswith("after 2 steps the plain network's training loss is ")
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
    assert lines[0].startswith("ResNet-50 residual vs plain, digits: 10 classes") and "no normalisation" in lines[0]
    assert lines[2].split()[:2] == ["step", "residual"] and lines[3].split()[0] == "1"
    assert lines[-2].startswith("after 1 step the plain network's training loss is ") and lines[-1].endswith(" s")


def test_arch_races_any_member_of_the_family(capsys):
    code, out, _ = _race(capsys, "--arch", "resnet18", "--steps", "1", "--batch", "2", "--device", "cpu", "--json")
    document = json.loads(out)
    assert code == 0 and document["config"]["network"] == "resnet18"
    assert document["verdict"].startswith("after 1 step ")


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
        (["--size", "16"], "must be at least 32"),
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
