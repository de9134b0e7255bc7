"""How the command line behaves before any work: the parser imports no torch, GUI options go before
or after the paths, mistyped commands get a suggestion, every command checks its inputs before it
builds a model, one exit code per kind of failure, one minimum input size, memory refusals in one
line, and the development page's layout lists every command."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.cli import build_parser, command_names, command_parsers, main
from explorer.commands import common, gui
from explorer.core.network import memory
from explorer.core.network.model import ResNet
from support import checkpoint, one_error_line, photo, run_cli

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "numpy", "PIL", "torchinfo", "safetensors")


def test_building_the_parser_and_help_import_no_torch():
    script = (
        "import sys\nfrom explorer.cli import build_parser\np = build_parser()\n"
        "from explorer.cli import command_parsers\nfor a in command_parsers(p).values(): a.format_help()\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""  # none of them
    proc = subprocess.run([sys.executable, "-m", "explorer", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0 and all(name in proc.stdout for name in command_names())


@pytest.fixture
def gui_calls(monkeypatch):
    """Record what the gui command would open instead of opening a window."""
    calls = []
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setattr(gui, "run", lambda args: calls.append(args) or 0)
    return calls


def test_gui_options_before_or_after_the_image_paths(tmp_path, gui_calls):
    a, b = photo(tmp_path / "a.png"), photo(tmp_path / "b.png", seed=1)
    assert main(["--weights", "random", str(a)]) == 0
    assert main([str(a), "--device", "cpu", str(b), "--weights", "random"]) == 0
    assert main(["gui", str(a), "--weights", "imagenet-v1"]) == 0
    assert [(c.weights, c.images) for c in gui_calls] == [("random", [str(a)]), ("random", [str(a), str(b)]), ("imagenet-v1", [str(a)])]
    assert gui_calls[1].device == "cpu"


@pytest.mark.parametrize("argv, words", [
    (["sumary"], ["'sumary' is neither a command nor an existing file or folder", "did you mean 'summary'?"]),
    (["clasify", "cat.jpg"], ["did you mean 'classify'?"]),
    (["raec", "--steps", "5"], ["'raec' is neither a command", "did you mean 'race'?"]),  # the command's own options follow
    (["holidays/nowhere.jpg"], ["'holidays/nowhere.jpg' is neither a command nor an existing file or folder"]),
    (["gui", "nowhere.jpg"], ["'nowhere.jpg' is not an existing file or folder"]),
])
def test_neither_a_command_nor_a_path_is_a_usage_error(gui_calls, capsys, argv, words):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == common.EXIT_USAGE and gui_calls == []
    err = capsys.readouterr().err
    assert "usage:" in err and all(w in err for w in words), err


def test_a_mistyped_command_is_a_usage_error_even_without_a_display(monkeypatch, capsys):
    for variable in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(SystemExit) as info:
        main(["summray"])
    assert info.value.code == common.EXIT_USAGE and "did you mean 'summary'?" in capsys.readouterr().err


def test_extra_arguments_get_the_commands_own_usage(tmp_path, capsys):
    a, b = photo(tmp_path / "a.png"), photo(tmp_path / "b.png", seed=1)
    for command in ("activations", "cam", "lesion"):
        with pytest.raises(SystemExit) as info:
            main([command, str(a), str(b)])
        assert info.value.code == common.EXIT_USAGE
        err = capsys.readouterr().err
        assert err.startswith(f"usage: resnet-explorer {command}") and "unrecognized arguments" in err and "b.png" in err


@pytest.fixture
def no_model(monkeypatch):
    """Fail the test if any command builds a model."""

    def refuse(*args, **kwargs):
        raise AssertionError("a model was built before the inputs were checked")

    monkeypatch.setattr(ResNet, "__init__", refuse)  # every member, ResNet50 included


@pytest.mark.parametrize("argv, name", [
    (["classify", "{missing}"], "missing.jpg"),
    (["classify", "{photo}", "--weights", "{missing}"], "missing.jpg"),
    (["cam", "{missing}"], "missing.jpg"),
    (["cam", "{photo}", "--out", "{tmp}/no/such/folder/heat.png"], "heat.png"),
    (["lesion", "{photo}", "--weights", "{missing}"], "missing.jpg"),
    (["activations", "{missing}"], "missing.jpg"),
    (["grads", "--input", "{missing}"], "missing.jpg"),
    (["grads", "--weights", "{missing}"], "missing.jpg"),
    (["grads", "--csv", "{tmp}/no/such/folder/g.csv"], "g.csv"),
    (["signal", "--input", "{missing}"], "missing.jpg"),
    (["paths", "--weights", "{missing}"], "missing.jpg"),
    (["erf", "--input", "{photo}", "{missing}"], "missing.jpg"),
    (["classify", "{photo}", "--weights", "ftp://example.org/w.pth"], "ftp://example.org/w.pth"),
])
def test_inputs_are_checked_before_any_model_is_built(tmp_path, capsys, no_model, argv, name):
    values = {"missing": tmp_path / "missing.jpg", "photo": photo(tmp_path / "p.png"), "tmp": tmp_path}
    code, _, err = run_cli(capsys, *(a.format(**values) for a in argv))
    assert code == common.EXIT_FAILED
    one_error_line(err, name)


@pytest.mark.parametrize("command", ["classify", "cam", "lesion", "activations", "grads", "signal", "paths", "erf", "bench"])
def test_a_device_this_machine_lacks_fails_the_same_way_in_every_command(tmp_path, capsys, command):
    image = photo(tmp_path / "p.png")
    lab = {name: [name, "--size", "32"] for name in ("grads", "signal", "paths", "erf")}
    argv = {**lab, "bench": ["bench"]}.get(command, [command, image, "--weights", "random"])
    code, _, err = run_cli(capsys, *argv, "--device", "cuda:99")
    assert code == common.EXIT_FAILED
    one_error_line(err, f"resnet-explorer {command}: error: ", "cuda:99")
    with pytest.raises(SystemExit) as info:  # no device at all: a usage error, also the same everywhere
        main([str(a) for a in argv] + ["--device", "banana"])
    assert info.value.code == common.EXIT_USAGE and "unknown device 'banana'" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["summary", "--input-size", "16", "224"],
    ["grads", "--size", "8"],
    ["signal", "--size", "8"],
    ["paths", "--size", "31"],
    ["erf", "--size", "16"],
    ["classify", "{photo}", "--crop", "16", "--weights", "random"],
    ["bench", "--suite", "grads", "--grads-size", "16"],
    ["bench", "--suite", "lesion", "--lesion-size", "31"],
])
def test_one_minimum_input_size_for_every_command(tmp_path, capsys, no_model, argv):
    values = {"photo": photo(tmp_path / "p.png")}
    code, _, err = run_cli(capsys, *(a.format(**values) for a in argv))
    assert code == common.EXIT_FAILED
    one_error_line(err, "too small", "at least 32x32")


@pytest.mark.parametrize("argv, what", [
    (["summary", "--input-size", "100000", "100000"], "--input-size 100000 100000"),
    (["summary", "--num-classes", "1000000000"], "1000000000 classes"),
    (["classify", "{photo}", "--resize", "20000", "--crop", "20000"], "--resize 20000 --crop 20000"),
    (["grads", "--batch", "400"], "batch 400 at 224x224"),
    (["signal", "--batch", "4000"], "signal: batch 4000 at 224x224"),
    (["paths", "--batch", "200"], "paths: batch 200 at 224x224"),
    (["erf", "--batch", "400"], "erf: batch 400 at 224x224"),
    (["bench", "--batch", "100000"], "--batch 100000"),
    (["bench", "--suite", "grads", "--grads-batch", "400"], "--grads-batch 400"),
])
def test_requests_beyond_the_machines_memory_are_refused_before_allocating(tmp_path, capsys, monkeypatch, no_model, argv, what):
    monkeypatch.setattr(memory, "machine_memory_bytes", lambda: 8 * 2**30)  # the same answer on every machine
    values = {"photo": photo(tmp_path / "p.png")}
    code, _, err = run_cli(capsys, *(a.format(**values) for a in argv))
    assert code == common.EXIT_FAILED
    one_error_line(err, what, "more than this machine's limit of 6.4 GiB (80% of its 8.0 GiB)")


def test_reasonable_requests_fit(monkeypatch):
    monkeypatch.setattr(memory, "machine_memory_bytes", lambda: 8 * 2**30)
    memory.check_fits("grads at its defaults", memory.training_bytes(2, 224, 224))
    memory.check_fits("classify at its defaults", memory.classify_bytes(256, 224))


def test_grads_table_keeps_its_columns_apart(capsys):
    code, out, _ = run_cli(capsys, "grads", "--size", "32", "--batch", "2", "--shortcuts", "on")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("layer1.0.downsample.0 (proj.)"))
    assert re.match(r"layer1\.0\.downsample\.0 \(proj\.\) {2,}stage2 ", row), row


def test_summary_refusal_is_one_line_not_a_system_exit(capsys):
    assert main(["summary", "--input-size", "8", "8"]) == common.EXIT_FAILED
    one_error_line(capsys.readouterr().err, "resnet-explorer summary: error: input size 8x8 is too small")


def test_offline_message_says_offline_once_and_no_errno(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    code, _, err = run_cli(capsys, "classify", photo(tmp_path / "p.png"), "--weights", "http://no-such-host.invalid/w-0123abcd.pth")
    line = one_error_line(err, "no-such-host.invalid")
    assert code == 1 and line.count("Offline?") == 1 and "offline?)" not in line and "[Errno" not in line and "'random'" in line
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in line


def test_json_is_strict_everywhere(capsys):
    assert common.json_text({"a": float("nan"), "b": [float("inf"), 1.5], "c": {"d": -float("inf")}}) == json.dumps(
        {"a": None, "b": [None, 1.5], "c": {"d": None}}, indent=2
    )


def test_help_texts_speak_to_the_user():
    """No help text refers to an issue tracker's targets, and the fast decode's gain is stated in
    one place (the documentation), not in the help."""
    parser = build_parser()
    texts = [parser.format_help(), *(p.format_help() for p in command_parsers(parser).values())]
    assert not any("issue" in t for t in texts)
    classify_help = command_parsers(parser)["classify"].format_help()
    assert "--fast-decode" in classify_help and not re.search(r"\d+x faster", classify_help)


def test_docs_list_every_command():
    import explorer.cli

    listed_in_docstring = re.search(r"``resnet-explorer ([a-z|]+)``", explorer.cli.__doc__).group(1).split("|")
    development = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    listed_in_layout = re.search(r"one module per subcommand \(([^)]*)\)", development).group(1)
    assert sorted(listed_in_docstring) == sorted(command_names())
    assert sorted(re.split(r",\s*", " ".join(listed_in_layout.split()))) == sorted(command_names())


def test_exit_codes_are_defined_once():
    assert (common.EXIT_OK, common.EXIT_FAILED, common.EXIT_USAGE, common.EXIT_INTERRUPTED) == (0, 1, 2, 130)
    for name in command_names():
        source = (ROOT / "explorer" / "commands" / f"{name}.py").read_text()
        assert not re.search(r"return [12]\b", source), f"{name}.py returns a bare exit code"


def test_random_weights_still_classify_after_these_checks(tmp_path, capsys):
    weights = checkpoint(tmp_path / "w.pth", seed=2)
    code, out, err = run_cli(capsys, "classify", photo(tmp_path / "p.png"), "--weights", weights, "--topk", "2")
    assert code == 0 and err == "" and "%" in out


def test_a_library_warning_that_reaches_the_user_is_one_line(monkeypatch, capsys):
    import warnings

    from explorer.commands import summary

    def warns(args):
        warnings.warn("first line\nsecond line", UserWarning, stacklevel=1)
        return common.EXIT_OK

    monkeypatch.setattr(summary, "run", warns)
    assert main(["summary"]) == common.EXIT_OK
    assert capsys.readouterr().err == "resnet-explorer: warning: UserWarning: first line second line\n"
