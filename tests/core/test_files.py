"""The one writer (explorer.core.files): a device, FIFO or socket is refused in one line and left as
it was; a regular file is replaced atomically with its mode (and, as root, its owner) kept; a new
file gets the umask's mode; a symbolic link is written through to its target; a name the file
system can hold gets a temporary name that fits too; a failure leaves the old file and no
temporary one."""

from __future__ import annotations

import hashlib
import os
import socket
import stat
from pathlib import Path

import pytest

from explorer.core.files import OutputError, RefusedFile, output_problem, sha256_of, write_atomically, write_atomically_named
from support import device_copy_of_dev_null


def _write(path: Path, text: str = "new\n") -> None:
    write_atomically(path, lambda f: f.write(text), text=True)


def _refused(path: Path, *words: str) -> str:
    with pytest.raises(OutputError) as info:
        _write(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: cannot write (") and all(w in message for w in words), message
    assert output_problem(path) == message  # the check before the work says the same
    return message


def _only(folder: Path, *names: str) -> None:
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)  # no temporary file left


def test_a_device_is_refused_and_stays_a_device(tmp_path):
    null = device_copy_of_dev_null(tmp_path / "null")
    _refused(null, "not a regular file", "device")
    assert stat.S_ISCHR(null.stat().st_mode)
    _only(tmp_path, "null")


def test_a_fifo_and_a_socket_are_refused_and_stay(tmp_path):
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    _refused(fifo, "pipe")
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(tmp_path / "sock.png"))
        _refused(tmp_path / "sock.png", "socket")
        assert stat.S_ISSOCK((tmp_path / "sock.png").stat().st_mode)
    _only(tmp_path, "fifo.csv", "sock.png")


def test_a_link_to_a_device_is_refused_and_the_device_kept(tmp_path):
    null = device_copy_of_dev_null(tmp_path / "null")
    (tmp_path / "out.csv").symlink_to(null)
    _refused(tmp_path / "out.csv", "not a regular file")
    assert (tmp_path / "out.csv").is_symlink() and stat.S_ISCHR(null.stat().st_mode)


def test_an_existing_file_keeps_its_mode(tmp_path):
    target = tmp_path / "report.csv"
    target.write_text("old\n")
    target.chmod(0o640)
    _write(target)
    assert target.read_text() == "new\n" and stat.S_IMODE(target.stat().st_mode) == 0o640
    _only(tmp_path, "report.csv")


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_a_new_file_gets_the_umasks_mode(tmp_path, umask):
    previous = os.umask(umask)
    try:
        _write(tmp_path / "new.csv")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "new.csv").stat().st_mode) == 0o666 & ~umask


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_as_root_an_existing_file_keeps_its_owner(tmp_path):
    target = tmp_path / "theirs.csv"
    target.write_text("old\n")
    os.chown(target, 1234, 5678)
    _write(target)
    info = target.stat()
    assert (info.st_uid, info.st_gid) == (1234, 5678) and target.read_text() == "new\n"


def test_a_link_is_written_through_to_its_target(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / "real.csv"
    target.write_text("old\n")
    target.chmod(0o604)
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    _write(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new\n" and stat.S_IMODE(target.stat().st_mode) == 0o604
    _only(elsewhere, "real.csv")
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(elsewhere / "made.csv")
    _write(dangling, "made\n")
    assert dangling.is_symlink() and (elsewhere / "made.csv").read_text() == "made\n"


def test_the_longest_name_the_file_system_takes_is_written(tmp_path):
    longest = tmp_path / ("n" * 251 + ".csv")  # 255 bytes: the temporary name is cut to fit beside it
    _write(longest)
    assert longest.read_text() == "new\n"
    _only(tmp_path, longest.name)
    _refused(tmp_path / ("n" * 252 + ".csv"), "file name too long")


def test_a_folder_a_missing_folder_and_a_nul_are_refused(tmp_path):
    (tmp_path / "taken.csv").mkdir()
    _refused(tmp_path / "taken.csv", "it is a folder")
    _refused(tmp_path / "missing" / "x.csv", "no such folder")
    assert "NUL" in output_problem(str(tmp_path / "a\0b.csv"))


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_one(tmp_path):
    target = tmp_path / "keep.csv"
    target.write_text("old\n")

    def fails(f) -> None:
        f.write("half")
        raise RuntimeError("the work failed")

    with pytest.raises(RuntimeError):
        write_atomically(target, fails, text=True)
    assert target.read_text() == "old\n"
    _only(tmp_path, "keep.csv")


def test_a_library_that_writes_by_name_gets_the_suffix_and_an_empty_result_is_refused(tmp_path):
    names: list[str] = []

    def exporter(name: str) -> None:
        names.append(name)
        Path(name).write_bytes(b"\x89PNG")

    write_atomically_named(tmp_path / "plot.png", exporter)
    assert names[0].endswith(".png") and (tmp_path / "plot.png").read_bytes() == b"\x89PNG"
    with pytest.raises(OutputError, match="came out empty"):
        write_atomically_named(tmp_path / "plot.png", lambda name: None)
    assert (tmp_path / "plot.png").read_bytes() == b"\x89PNG"
    _only(tmp_path, "plot.png")


def test_hashing_follows_a_link_and_refuses_a_pipe_or_device_without_waiting(tmp_path):
    data = bytes(range(256)) * 5000
    (tmp_path / "model.pth").write_bytes(data)
    (tmp_path / "link.pth").symlink_to(tmp_path / "model.pth")  # a user's link to a checkpoint
    assert sha256_of(tmp_path / "link.pth") == sha256_of(tmp_path / "model.pth") == hashlib.sha256(data).hexdigest()
    os.mkfifo(tmp_path / "pipe.pth")  # opening it for reading would wait for a writer forever
    with pytest.raises(RefusedFile, match="not a regular file"):
        sha256_of(tmp_path / "pipe.pth")
    with pytest.raises(RefusedFile, match="not a regular file"):
        sha256_of("/dev/zero")  # reading it would never end
