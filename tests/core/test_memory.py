"""Memory estimates from the stage table against torchinfo's counts (through summarize), the limit
message, and the one-line text helpers the core's errors are built with."""

from __future__ import annotations

import errno
import os

import pytest

from explorer.core.files import file_problem, folder_problem
from explorer.core.network import memory
from explorer.core.network.summary import summarize
from explorer.core.text import first_line, one_line, os_reason, shown


@pytest.mark.parametrize("size, classes", [((224, 224), 1000), ((64, 64), 6), ((97, 133), 10), ((32, 32), 1000)])
def test_counts_equal_the_summary(size, classes):
    s = summarize(size, classes)
    assert sum(memory.layer_output_elements(*size, classes)) * memory.FLOAT32_BYTES == s.activation_bytes
    assert memory.parameter_count(classes) == s.total_params


def test_estimates_grow_with_the_request():
    # Each image of a training batch keeps every layer's output (128 MB at 224 px) for the backward.
    per_image = memory.training_bytes(9, 224, 224) - memory.training_bytes(8, 224, 224)
    assert per_image >= sum(memory.layer_output_elements(224, 224)) * memory.FLOAT32_BYTES
    assert memory.training_bytes(400, 224, 224) > 40 * 2**30
    assert memory.inference_bytes(1, 100_000, 100_000) > 100 * 2**30  # the 112 GB request
    assert memory.classify_bytes(20_000, 20_000) > memory.classify_bytes(20_000, 224) > memory.classify_bytes(256, 224)


def test_the_limit_is_said_in_one_line(monkeypatch):
    monkeypatch.setattr(memory, "machine_memory_bytes", lambda: 10 * 2**30)
    with pytest.raises(memory.MemoryLimitError) as info:
        memory.check_fits("--batch 9999", 9 * 2**30)
    assert str(info.value) == "--batch 9999 needs about 9.0 GiB of memory, more than this machine's limit of 8.0 GiB (80% of its 10.0 GiB)"
    memory.check_fits("--batch 1", 7 * 2**30)
    monkeypatch.setattr(memory, "machine_memory_bytes", lambda: None)  # unknown machine: nothing refused
    memory.check_fits("--batch 9999", 2**50)


def test_this_machine_has_a_memory_size():
    assert memory.machine_memory_bytes() > 2**28


def test_names_are_shown_escaped_and_messages_folded():
    assert shown("a\nb\x1b[31m\u202ec") == "a\\nb\\x1b[31m\\u202ec"
    assert shown("plain name.jpg") == "plain name.jpg"
    assert one_line("first\n  second\tthird\x07") == "first second third\\x07"
    assert first_line(ValueError("\nreal reason\nmore context")) == "real reason"
    assert first_line(KeyError()) == "KeyError"


def test_os_errors_in_words_without_errno():
    assert os_reason(OSError(errno.ENAMETOOLONG, "File name too long")) == "file name too long"
    assert os_reason(PermissionError(errno.EACCES, "Permission denied")) == "permission denied"
    assert os_reason(OSError(errno.EIO, "Input/output error")) == "input/output error"


def test_path_checks_answer_instead_of_raising(tmp_path):
    assert file_problem(tmp_path / ("x" * 300)) == "file name too long"
    assert file_problem(tmp_path / "missing") == "no such file or folder"
    assert file_problem(tmp_path) == "is a folder, not a file"
    assert file_problem(str(tmp_path / "nul\x00")) == "the name contains a NUL character"
    os.mkfifo(tmp_path / "pipe")
    assert file_problem(tmp_path / "pipe") == "not a regular file (a pipe, socket or device)"  # opening it would hang
    (tmp_path / "file").write_text("x")
    assert file_problem(tmp_path / "file") is None
    assert folder_problem(tmp_path / "file") == "not a folder"
    assert folder_problem(tmp_path / "missing") == "no such folder"
    assert folder_problem(tmp_path) is None


def test_loading_counts_the_head_the_file_claims():
    # A stride-0 fc of 10^7 classes is a few bytes on disk; the network it describes is not.
    assert memory.loading_bytes(10**7, "resnet18") > 10**7 * 513 * memory.FLOAT32_BYTES
    weights = memory.weights_bytes(1000, "resnet18")
    assert 3 * weights < memory.loading_bytes(1000, "resnet18") < 3 * weights + 2**24  # three copies and a 32 px pass


def test_the_race_counts_both_networks_the_batch_and_the_images():
    from explorer.core.race.config import DIGITS_IMAGES
    from explorer.core.race.train import VALIDATION_BATCH

    def race(size: int, batch: int = 32, images: int = DIGITS_IMAGES) -> int:
        return memory.race_bytes(batch, size, 10, images, VALIDATION_BATCH)

    # The digits alone at 1024 px are 22.6 GB, held twice while split: the "needs ~50 GB".
    assert race(1024) >= 2 * DIGITS_IMAGES * 3 * 1024 * 1024 * memory.FLOAT32_BYTES > 45 * 10**9
    one_step = memory.training_bytes(32, 512, 512, 10) - 2 * memory.weights_bytes(10)
    assert race(512) > 6 * memory.weights_bytes(10) + one_step
    assert race(32) < 2**30  # the default race (32 px, batch 32) fits any machine
    assert race(64, batch=64) > race(64) > race(64, images=0)


def test_the_digits_count_is_the_files():
    from explorer.core.race.config import DIGITS_CLASSES, DIGITS_IMAGES
    from explorer.core.race.data import load_digits

    digits = load_digits(32)
    assert (len(digits.train_y) + len(digits.val_y), len(digits.classes)) == (DIGITS_IMAGES, DIGITS_CLASSES)
