"""``resnet-explorer classify``: results equal the core Classifier's, in input order; bad inputs are
reported one line each while the good ones are still classified; exit status 0/1/2; never a traceback.
Nothing is downloaded: weights come from a checkpoint in tmp_path or ``random``."""

from __future__ import annotations

import dataclasses
import json
import socket

import numpy as np
import pytest
import torch

import support
from explorer.cli import main
from explorer.core.devices import NATIVE_BF16_ENV, default_precision
from explorer.core.inference.classifier import Classifier
from explorer.core.loading import sources
from support import one_error_line, photo, strict_json


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A ResNet-18: CI runs the cpu_kind tests as the other kind of CPU too, where bf16 may be emulated."""
    return support.checkpoint(tmp_path_factory.mktemp("weights") / "model.pth", support.lively_model(3, "resnet18"))


def run_cli(capsys, *argv: object) -> tuple[int, str, str]:
    return support.run_cli(capsys, "classify", *argv)


@pytest.mark.cpu_kind
def test_json_matches_the_core_classifier_in_input_order(tmp_path, checkpoint, capsys):
    a, b = photo(tmp_path / "a.png", 1), photo(tmp_path / "b.jpg", 2)
    code, out, err = run_cli(capsys, b, a, "--weights", checkpoint, "--json", "--topk", "3")
    assert code == 0 and err == ""
    report = json.loads(out)
    assert report["weights"]["source"] == str(checkpoint) and report["weights"]["trained"] is True
    assert (report["weights"]["resize"], report["weights"]["crop"]) == (256, 224)
    assert [r["file"] for r in report["results"]] == [str(b), str(a)]
    reference = Classifier("cpu")
    reference.load(str(checkpoint))
    for result in report["results"]:
        assert set(result) == {"file", "top", "device", "precision", "engine", "latency_ms"}
        assert (result["engine"], result["precision"]) == (report["weights"]["engine"], reference.precision)
        expected = reference.classify_path(result["file"], topk=3)
        assert [t["index"] for t in result["top"]] == [t.index for t in expected.top]
        assert [t["label"] for t in result["top"]] == [t.label for t in expected.top]
        np.testing.assert_allclose([t["prob"] for t in result["top"]], [t.prob for t in expected.top], rtol=1e-5)


def test_bad_inputs_are_reported_and_the_good_ones_still_classified(tmp_path, checkpoint, capsys):
    folder = tmp_path / "folder"
    folder.mkdir()
    photo(folder / "y.png", 3)
    photo(folder / "x.png", 4)
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.jpg").write_text("not a picture")
    good = photo(tmp_path / "good.png", 5)
    inputs = [tmp_path / "notes.jpg", folder, tmp_path / "missing.png", good, tmp_path / "empty"]
    code, out, err = run_cli(capsys, *inputs, "--weights", checkpoint, "--json")
    assert code == 1
    results = json.loads(out)["results"]
    files = [r["file"] for r in results]
    assert files == [str(p) for p in (tmp_path / "notes.jpg", folder / "x.png", folder / "y.png", tmp_path / "missing.png", good, tmp_path / "empty")]
    assert ["error" in r for r in results] == [True, False, False, True, False, True]
    assert results[0]["error"] == "a text file, not an image"
    lines = err.strip().splitlines()
    assert len(lines) == 3 and "Traceback" not in err
    assert all(line.startswith("resnet-explorer classify: error: ") for line in lines)
    assert str(tmp_path / "notes.jpg") in lines[0] and "missing.png" in lines[1] and "empty" in lines[2]


@pytest.mark.cpu_kind
def test_human_output_labels_random_weights_untrained(tmp_path, capsys):
    """Untrained weights skip the sample-photo check (their top classes are near ties): no note, and
    the precision auto chose for this CPU is the one used."""
    image = photo(tmp_path / "p.png", 6)
    code, out, err = run_cli(capsys, image, "--weights", "random", "--arch", "resnet18", "--topk", "2")
    assert code == 0 and err == ""
    header, *rest = out.strip().splitlines()
    assert "untrained" in header and "UNTRAINED" in header and f"cpu {default_precision(torch.device('cpu'))}, engine" in header
    assert rest[0] == "" and rest[1].startswith(str(image)) and "untrained" in rest[1]
    assert len([line for line in rest if "%" in line]) == 2


def test_a_precision_asked_for_by_name_says_when_it_is_dropped_auto_does_not(tmp_path, capsys, native_bf16):
    """As on a CPU with native bf16: on weights whose top-5 ties in bf16, ``--precision bf16`` falls
    back to fp32 with a note, ``auto`` silently; the header and the JSON say what ran."""
    crowded = support.checkpoint(tmp_path / "crowded.pth", support.head_model(1 + torch.arange(1000.0) * 1e-5))
    image = photo(tmp_path / "p.png", 9)
    small = ["--weights", crowded, "--resize", "64", "--crop", "64", "--engine", "torch"]  # OpenVINO's last sums stay fp32
    code, out, err = run_cli(capsys, image, *small, "--precision", "bf16", "--json")
    assert code == 0 and err == "resnet-explorer classify: note: bf16 changed the top-5 on the sample photos; using fp32 instead\n"
    report = strict_json(out)
    assert report["weights"]["precision"] == report["results"][0]["precision"] == "fp32"
    code, out, err = run_cli(capsys, image, *small)
    assert code == 0 and err == "" and "; cpu fp32, engine " in out.splitlines()[0]


def test_a_precision_the_cpu_lacks_is_one_error_line(tmp_path, capsys, no_native_bf16, monkeypatch):
    image = photo(tmp_path / "p.png", 10)
    code, out, err = run_cli(capsys, image, "--weights", "random", "--precision", "bf16")
    assert code == 1 and out == ""
    one_error_line(err, "bf16 is not supported natively on cpu (offered: fp32")
    monkeypatch.setenv(NATIVE_BF16_ENV, "yes")
    code, out, err = run_cli(capsys, image, "--weights", "random", "--json")
    assert code == 1
    one_error_line(err, f"{NATIVE_BF16_ENV} must be 0, 1 or unset, not 'yes'")


def test_unusable_weights_exit_1_with_one_line(tmp_path, capsys):
    image = photo(tmp_path / "p.png", 7)
    (tmp_path / "w.pth").write_bytes(b"\x80\x02garbage")
    code, out, err = run_cli(capsys, image, "--weights", tmp_path / "w.pth", "--json")
    assert code == 1 and len(err.strip().splitlines()) == 1 and str(tmp_path / "w.pth") in err
    assert json.loads(out)["weights"]["error"] and json.loads(out)["results"] == []


def test_offline_download_names_the_alternatives(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    source = dataclasses.replace(sources.WEIGHT_SOURCES["imagenet-v2"], url=f"http://127.0.0.1:{port}/w.pth")
    monkeypatch.setitem(sources.WEIGHT_SOURCES, "imagenet-v2", source)
    code, out, err = run_cli(capsys, photo(tmp_path / "p.png", 8))
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Offline?" in err and "'random'" in err


@pytest.mark.parametrize(
    "argv",
    [["--topk", "0"], ["--resize", "200", "--crop", "224"], ["--device", "banana"], ["--precision", "fp64"],
     ["--resize", "abc"], []],
)
def test_usage_errors_exit_2(tmp_path, capsys, argv):
    images = [str(tmp_path / "p.png")] if argv else []
    with pytest.raises(SystemExit) as info:
        main(["classify", *images, *argv, "--weights", "random"])
    assert info.value.code == 2
    assert "usage:" in capsys.readouterr().err
