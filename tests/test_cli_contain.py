"""Issue 19's reproductions on the command line: outputs never replace a device, FIFO or socket and
are checked before any work; label names and folder names never reach the terminal raw; a file
that fails to read (EIO), a FIFO or a device among the images is that file's error and the rest go
on; Ctrl+C is one line in the ``resnet-explorer COMMAND: error:`` form from the first moment;
``--json`` prints nothing but the JSON on standard output whatever a library prints."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import support
from explorer.cli import main
from explorer.commands import common
from explorer.core.network.model import ResNet
from support import (
    TERMINAL_CONTROLS,
    device_copy_of_dev_null,
    escaped,
    failing_disk_file,
    hostile_labels,
    image_folder,
    one_error_line,
    photo,
    run_cli,
    strict_json,
)

ROOT = Path(__file__).resolve().parents[1]
RACE = ["--steps", "1", "--batch", "2", "--device", "cpu"]


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if a race trains or any network is built."""

    def refuse(*args, **kwargs):
        raise AssertionError("the work started before the output was checked")

    import explorer.core.race.train as train

    monkeypatch.setattr(train, "run_race", refuse)
    monkeypatch.setattr(ResNet, "__init__", refuse)


def _raw_controls(text: str) -> list[str]:
    return [c for c in TERMINAL_CONTROLS if c in text]


# -- outputs: one writer, checked before the work (items 1, 2, 16) -------------------------------


@pytest.mark.parametrize("argv", [
    ["grads", "--size", "32", "--csv", "{node}"],
    ["race", "--csv", "{node}"],
    ["cam", "{photo}", "--weights", "random", "--out", "{node}.png"],
])
@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_an_output_that_is_a_device_or_fifo_is_refused_before_the_work(tmp_path, capsys, no_work, argv, kind):
    node = tmp_path / "node"
    made = []
    for path in (node, Path(f"{node}.png")):
        if kind == "device":
            device_copy_of_dev_null(path)
        else:
            os.mkfifo(path)
        made.append(path)
    values = {"node": node, "photo": photo(tmp_path / "p.png")}
    code, out, err = run_cli(capsys, *(a.format(**values) for a in argv))
    assert code == common.EXIT_FAILED and out == ""
    one_error_line(err, "cannot write (not a regular file", str(node))
    for path in made:
        mode = path.stat().st_mode
        assert stat.S_ISCHR(mode) if kind == "device" else stat.S_ISFIFO(mode)


@pytest.mark.parametrize("target, words", [
    ("{tmp}/taken", ["taken: cannot write (it is a folder)"]),
    ("{tmp}/" + "r" * 300 + ".csv", ["cannot write (file name too long)"]),
    ("{tmp}/missing/race.csv", ["missing/race.csv: cannot write (folder", "no such folder"]),
])
def test_race_csv_problems_are_said_before_training(tmp_path, capsys, no_work, target, words):
    (tmp_path / "taken").mkdir()
    code, out, err = run_cli(capsys, "race", "--csv", target.format(tmp=tmp_path), *RACE)
    assert code == common.EXIT_FAILED and out == ""
    one_error_line(err, *words)


def test_race_csv_into_a_read_only_folder_is_said_before_training_simulated(tmp_path, capsys, monkeypatch, no_work):
    closed = tmp_path / "closed"
    closed.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(closed) else real_access(p, mode, **kw))
    code, _, err = run_cli(capsys, "race", "--csv", closed / "race.csv", *RACE)
    assert code == common.EXIT_FAILED
    one_error_line(err, "race.csv: cannot write (folder", "not writable (permission denied)")


def test_grads_csv_through_a_link_keeps_the_link_and_the_targets_mode(tmp_path, capsys):
    target = tmp_path / "kept" / "grads.csv"
    target.parent.mkdir()
    target.write_text("old\n")
    target.chmod(0o640)
    (tmp_path / "link.csv").symlink_to(target)
    code, _, err = run_cli(capsys, "grads", "--size", "32", "--batch", "2", "--shortcuts", "on", "--csv", tmp_path / "link.csv")
    assert code == 0 and err == ""
    assert (tmp_path / "link.csv").is_symlink() and target.read_text().startswith("run,")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


# -- one race over a hostile folder (items 10, 16, 17, 19) -----------------------------------------


def test_a_race_names_unreadable_pipes_and_devices_escapes_its_folder_and_writes_a_250_byte_name(tmp_path, capsys):
    data = image_folder(tmp_path / "dir\x1b[31m\nx", {"red": 3, "blue": 3})
    os.symlink(failing_disk_file(), data / "red" / "failing.png")  # reads with EIO
    os.mkfifo(data / "red" / "pipe.png")
    device_copy_of_dev_null(data / "blue" / "device.jpg")
    target = tmp_path / ("c" * 246 + ".csv")  # 250 bytes: still room for the temporary name
    code, out, err = run_cli(capsys, "race", "--data", data, "--csv", target, *RACE)
    assert code == 0 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("resnet-explorer race: error: skipped ") for line in lines), err
    for name, word in (("failing.png", "input/output error"), ("pipe.png", "not a regular file"), ("device.jpg", "not a regular file")):
        assert any(name in line and word in line for line in lines), (name, err)
    assert not _raw_controls(out + err) and escaped(data) in out.splitlines()[0]
    assert target.read_text().startswith("step,label,")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([data.name, target.name])


def test_race_data_that_is_missing_or_too_long_is_one_escaped_line(tmp_path, capsys):
    for data, words in ((f"{tmp_path}/dir\x1b[31m\nx", ["dir\\x1b[31m\\nx: no such folder"]),
                        (f"{tmp_path}/{'d' * 300}", ["d" * 300, "file name too long"])):
        code, out, err = run_cli(capsys, "race", "--data", data, *RACE)
        assert code == common.EXIT_FAILED and out == ""
        one_error_line(err, "resnet-explorer race: error: ", *words)
        assert not _raw_controls(err)


# -- images that fail to read (items 17, 19) -------------------------------------------------------


def test_classify_names_a_failing_file_a_pipe_and_a_device_and_classifies_the_rest(tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    good = photo(folder / "a.png", seed=1)
    os.mkfifo(folder / "b.png")
    device_copy_of_dev_null(folder / "c.jpg")
    weights = support.checkpoint(tmp_path / "w.pth", ResNet("resnet18", seed=1))
    failing = failing_disk_file()
    code, out, err = run_cli(capsys, "classify", failing, folder, photo(tmp_path / "last.png", seed=2), "--weights", weights, "--json")
    assert code == common.EXIT_FAILED and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 3, err
    assert str(failing) in lines[0] and "input/output error" in lines[0]
    assert "b.png" in lines[1] and "c.jpg" in lines[2] and all("not a regular file" in line for line in lines[1:])
    results = strict_json(out)["results"]
    assert [r["file"] for r in results] == [str(failing), str(good), str(folder / "b.png"), str(folder / "c.jpg"), str(tmp_path / "last.png")]
    assert ["error" in r for r in results] == [True, False, True, True, False]


# -- label names never reach the terminal raw (item 9) ---------------------------------------------


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """A ResNet-18 checkpoint with a hostile labels.txt beside it, the same file to give as --labels."""
    root = tmp_path_factory.mktemp("labels")
    weights = support.checkpoint(root / "w.pth", support.lively_model(seed=2, arch="resnet18"))
    return {"weights": weights, "labels": hostile_labels(root / "labels.txt"), "photo": support.pattern_photo(root / "p.png")}


@pytest.mark.parametrize("argv", [
    ["classify", "{photo}", "--weights", "{weights}"],  # labels.txt beside the checkpoint
    ["cam", "{photo}", "--weights", "{weights}", "--labels", "{labels}"],
    ["lesion", "{photo}", "--weights", "{weights}", "--labels", "{labels}", "--block", "layer4.1"],
    ["lesion", "{photo}", "--weights", "{weights}", "--labels", "{labels}", "--kind", "shortcut"],
    ["activations", "{photo}", "--weights", "{weights}", "--labels", "{labels}"],
])
def test_label_names_are_escaped_in_every_text_output(labelled, capsys, argv):
    code, out, err = run_cli(capsys, *(a.format(**labelled) for a in argv))
    assert code == 0 and err == ""
    assert not _raw_controls(out), _raw_controls(out)
    assert "\\x1b[2J" in out  # the name is shown, escaped (a lesion's table cuts it to 28 characters)


def test_label_names_stay_exact_in_json(labelled, capsys):
    code, out, _ = run_cli(capsys, "cam", labelled["photo"], "--weights", labelled["weights"], "--labels", labelled["labels"], "--json")
    assert code == 0 and strict_json(out)["class"]["label"].endswith("\x1b[2J\x1b]0;owned\x07\x00x")


# -- Ctrl+C (items 11, 20) and a strict stdout under --json (item 8) --------------------------------


def test_interrupted_is_one_line_in_the_commands_form(capsys, monkeypatch):
    import explorer.cli as cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)  # Ctrl+C while the parser is being built
    assert main(["summary"]) == common.EXIT_INTERRUPTED
    assert capsys.readouterr().err == "resnet-explorer summary: error: interrupted\n"
    from explorer.commands import summary

    monkeypatch.undo()
    monkeypatch.setattr(summary, "run", interrupted)  # and while the command runs
    assert main(["summary", "--json"]) == common.EXIT_INTERRUPTED
    out, err = capsys.readouterr()
    assert out == "" and err == "resnet-explorer summary: error: interrupted\n"


@pytest.mark.parametrize("delay", [0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4])
def test_ctrl_c_at_any_moment_of_the_start_is_one_line(delay):
    """SIGINT once the launcher runs (the first ``explorer.*`` module imported inside its ``try``):
    while the command line is imported, the parser built or the command runs. The one line, never a
    traceback; exit 130 (a shell's status is 130 too when the signal ended the process after the
    line was said), or 0 with nothing said when the command was done first. (Before the launcher
    runs, Python itself is starting: a Ctrl+C there is the interpreter's own business.)"""
    proc = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "explorer", "summary", "--arch", "resnet152", "--layers"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        if line.split("|")[-1].strip().startswith("explorer."):
            break
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    proc.wait(timeout=60)
    said = [line for line in rest.splitlines() if not line.startswith("import time:")]
    assert "Traceback" not in rest and "Exception ignored" not in rest, rest
    line = ["resnet-explorer summary: error: interrupted"]
    assert (proc.returncode, said) in ((0, []), (common.EXIT_INTERRUPTED, line), (-signal.SIGINT, line)), (proc.returncode, said)


def test_json_output_is_only_the_json_whatever_a_library_prints(tmp_path):
    """A library that prints to stdout in Python (onnxruntime's "EP Error" banner) and in C (file
    descriptor 1) while a --json command runs: the lines go to stderr, stdout stays one JSON value."""
    script = (
        "import os, sys\n"
        "import explorer.core.network.summary as summary\n"
        "real = summary.summarize\n"
        "def noisy(*args, **kwargs):\n"
        "    print('*************** EP Error ***************')\n"
        "    os.write(1, b'C library banner\\n')\n"
        "    return real(*args, **kwargs)\n"
        "summary.summarize = noisy\n"
        "from explorer.cli import main\n"
        "code = main(['summary', '--arch', 'resnet18', '--json'])\n"
        "print('after the command: stdout is stdout again')\n"
        "sys.exit(code)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    document, _, rest = proc.stdout.rpartition("}\n")
    assert strict_json(document + "}")["arch"] == "resnet18" and rest == "after the command: stdout is stdout again\n"
    assert "EP Error" in proc.stderr and "C library banner" in proc.stderr
    json.loads(document + "}")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_json_into_a_full_disk_is_one_line():
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "explorer", "summary", "--json"], cwd=ROOT, stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == common.EXIT_FAILED
    assert proc.stderr == "resnet-explorer summary: error: standard output: cannot write (no space left on the device)\n"
