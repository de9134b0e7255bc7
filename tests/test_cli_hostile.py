"""Every command over a generated hostile corpus (tests/support.py): each bad image or checkpoint
gives exit status 1 and exactly one stderr line naming it (escaped), never a traceback; the JSON
stays strict; the good inputs are still classified; library warnings never reach stderr."""

from __future__ import annotations

import pytest

import support
from explorer.core.network.model import ResNet50
from support import Hostile, escaped, hostile_checkpoints, hostile_images, odd_but_good_images, one_error_line, photo, run_cli, strict_json


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    good = [photo(root / "good-a.png", seed=1), photo(root / "good-b.jpg", seed=2)]
    return {
        "root": root,
        "good": good,
        "weights": support.checkpoint(root / "weights.pth", seed=7),
        "images": hostile_images(root / "images"),
        "checkpoints": hostile_checkpoints(root / "checkpoints", ResNet50(seed=8).state_dict()),
    }


def _assert_names(line: str, bad: Hostile) -> None:
    assert escaped(bad.path) in line and bad.word.lower() in line.lower(), line


def test_classify_reports_each_bad_image_once_and_classifies_the_good_ones(corpus, capsys):
    bad = corpus["images"]
    inputs = [corpus["good"][0], *(h.path for h in bad), corpus["good"][1]]
    code, out, err = run_cli(capsys, "classify", *inputs, "--weights", corpus["weights"], "--json")
    assert code == 1 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == len(bad), err
    for line, hostile in zip(lines, bad):
        assert line.startswith("resnet-explorer classify: error: ")
        _assert_names(line, hostile)
    report = strict_json(out)
    results = report["results"]
    assert [r["file"] for r in results] == [str(p) for p in inputs]
    assert ["error" in r for r in results] == [False, *[True] * len(bad), False]
    assert report["weights"]["trained"] is True


def test_no_readable_image_means_no_model_and_strict_json(corpus, capsys, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("a model was built although no input could be read")

    monkeypatch.setattr(ResNet50, "__init__", never)
    # What the paths alone tell (decoding each image first would hold them all in memory).
    bad = [corpus["root"] / "missing.png", *(h.path for h in corpus["images"] if h.name in ("long name", "folder without images"))]
    code, out, err = run_cli(capsys, "classify", *bad, "--weights", corpus["weights"], "--json")
    assert code == 1 and len(err.strip().splitlines()) == len(bad), err
    report = strict_json(out)
    assert report["weights"] == {"source": str(corpus["weights"]), "loaded": False}
    assert all("error" in r for r in report["results"])


@pytest.mark.parametrize("command", ["cam", "lesion", "activations"])
def test_one_image_commands_refuse_each_bad_image_in_one_line(corpus, capsys, command):
    for hostile in corpus["images"]:
        code, out, err = run_cli(capsys, command, hostile.path, "--weights", corpus["weights"], "--json")
        assert code == 1 and out == "", hostile.name
        _assert_names(one_error_line(err, f"resnet-explorer {command}: error: "), hostile)


def test_grads_refuses_a_bad_input_image_in_one_line(corpus, capsys):
    for hostile in corpus["images"][:-1]:  # a folder is no --input image either, but says so as a folder
        code, _, err = run_cli(capsys, "grads", "--input", hostile.path, "--size", "32", "--shortcuts", "on")
        assert code == 1, hostile.name
        _assert_names(one_error_line(err, "resnet-explorer grads: error: "), hostile)


def test_every_bad_checkpoint_is_one_line_and_strict_json(corpus, capsys):
    for hostile in corpus["checkpoints"]:
        code, out, err = run_cli(capsys, "classify", corpus["good"][0], "--weights", hostile.path, "--json")
        assert code == 1, hostile.name
        _assert_names(one_error_line(err, "resnet-explorer classify: error: "), hostile)
        report = strict_json(out)
        assert report["results"] == [] and hostile.word.lower() in report["weights"]["error"].lower()


@pytest.mark.parametrize("command", ["cam", "lesion", "activations"])
def test_one_image_commands_refuse_bad_checkpoints_in_one_line(corpus, capsys, command):
    for hostile in corpus["checkpoints"][::3]:  # every third: each command loads through the same check
        code, _, err = run_cli(capsys, command, corpus["good"][0], "--weights", hostile.path)
        assert code == 1, hostile.name
        _assert_names(one_error_line(err), hostile)


def test_odd_but_good_images_are_classified_without_a_word_on_stderr(corpus, tmp_path, capsys):
    files = odd_but_good_images(tmp_path)
    code, out, err = run_cli(capsys, "classify", *files, "--weights", corpus["weights"], "--json")
    assert code == 0 and err == ""
    assert [r["file"] for r in strict_json(out)["results"]] == [str(p) for p in files]


def test_human_output_escapes_names(corpus, tmp_path, capsys):
    odd = photo(tmp_path / "new\nline\x1b[2J.png", seed=4)
    code, out, err = run_cli(capsys, "classify", odd, "--weights", corpus["weights"])
    assert code == 0 and err == ""
    assert "\x1b" not in out and escaped(odd) in out


def _locked(tmp_path):
    image = photo(tmp_path / "locked.png", seed=5)
    folder = tmp_path / "closed"
    folder.mkdir()
    photo(folder / "inside.png", seed=6)
    return image, folder


def _assert_unreadable_reported(capsys, corpus, image, folder, words):
    code, out, err = run_cli(capsys, "classify", image, folder, corpus["good"][0], "--weights", corpus["weights"], "--json")
    assert code == 1 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and str(image) in lines[0] and str(folder) in lines[1] and all(w in err for w in words), err
    results = strict_json(out)["results"]
    assert [("error" in r) for r in results] == [True, True, False]


def test_unreadable_files_and_folders_are_named_simulated(corpus, tmp_path, capsys, monkeypatch):
    import os
    from pathlib import Path

    image, folder = _locked(tmp_path)
    real_access, real_iterdir = os.access, Path.iterdir
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(image) else real_access(p, mode, **kw))

    def iterdir(self):
        if self == folder:
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    _assert_unreadable_reported(capsys, corpus, image, folder, ["permission denied", "cannot read the folder"])


@pytest.mark.skipif(support.PERMISSIONS_IGNORED, reason="file modes are not enforced here (root); the simulated test above covers it")
def test_unreadable_files_and_folders_are_named(corpus, tmp_path, capsys):
    image, folder = _locked(tmp_path)
    image.chmod(0)
    folder.chmod(0)
    try:
        _assert_unreadable_reported(capsys, corpus, image, folder, ["permission denied", "cannot read the folder"])
    finally:
        folder.chmod(0o700)
        image.chmod(0o600)


# -- checkpoints that lie about their size, and a race too large: refused before any model (issue 19) --


@pytest.fixture(scope="module")
def oversized(tmp_path_factory):
    root = tmp_path_factory.mktemp("oversized")
    return {
        "stray block": (support.stray_block_checkpoint(root / "r18-stray.pth", 999), "layer3.999.conv1.weight"),
        "far stray block": (support.stray_block_checkpoint(root / "r18-far.pth", 1_000_000_000), "layer3.1000000000"),
        "stride-0 head": (support.stride0_fc_checkpoint(root / "r18-head.pth", 10**9), "needs about"),
        "stride-0 wide": (support.stride0_wide_checkpoint(root / "wide.pth", 2_000_000), "needs about"),
    }


@pytest.mark.parametrize("command", ["classify", "summary", "cam"])
def test_oversized_checkpoints_are_one_line_before_any_model(oversized, corpus, capsys, monkeypatch, command):
    from explorer.core.loading import pipeline

    monkeypatch.setattr(pipeline, "new_model", lambda *a, **k: pytest.fail("a model was built for an oversized checkpoint"))
    image = [corpus["good"][0]] if command != "summary" else []
    for path, word in oversized.values():
        code, out, err = run_cli(capsys, command, *image, "--weights", path, "--json")
        assert code == 1, (command, path)
        assert word in one_error_line(err, f"resnet-explorer {command}: error: ", escaped(path))
        if command == "classify":
            assert strict_json(out)["results"] == []
        else:
            assert out == ""


@pytest.mark.parametrize("size", [512, 1024])
def test_a_race_too_large_for_this_machine_is_refused_before_allocating(capsys, monkeypatch, size):
    from explorer.core.network import memory
    from explorer.core.race import train

    monkeypatch.setattr(memory, "machine_memory_bytes", lambda: 24 * 2**30)  # the machine
    monkeypatch.setattr(train, "run_race", lambda *a, **k: pytest.fail("the race started"))
    code, out, err = run_cli(capsys, "race", "--arch", "resnet50", "--size", size, "--json")
    assert code == 1 and out == ""
    assert "needs about" in one_error_line(err, "resnet-explorer race: error: ", f"--size {size}", "ResNet-50")
