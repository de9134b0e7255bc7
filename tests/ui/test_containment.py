"""Failures at the edges, in the window: each shows its one line next to its entry or in the panel,
earlier results and weights are kept, no worker lane stays blocked, and closing never waits on the
network. Downloads are served by a hostile server on 127.0.0.1; nothing leaves this machine."""

from __future__ import annotations

import hashlib
import time

import pytest
import torch
from PySide6.QtCore import QSettings

from explorer.core.network.model import ResNet50
from explorer.ui.common import dialogs
from explorer.ui.main_window import MainWindow
from support import Server, checkpoint, pattern_image, random_stats_model

TIMEOUT_MS = 60_000
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def window(qtbot, tmp_path):
    w = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    w.build_parts()
    return w


def load(qtbot, window: MainWindow, source: str) -> dict:
    with qtbot.waitSignal(window.classify.weights_loaded, timeout=TIMEOUT_MS) as blocker:
        window.classify.load_weights(source)
    return blocker.args[0]


def test_bad_paths_get_their_own_entries_and_the_good_ones_classify(qtbot, window, tmp_path):
    load(qtbot, window, "random")
    good = pattern_image(tmp_path / "good.png", (64, 48))
    window.add_paths([str(tmp_path / ("x" * 300 + ".png")), str(good), str(tmp_path / "two\nlines.png")])
    qtbot.waitUntil(lambda: window.classify.pending() == 0, timeout=TIMEOUT_MS)
    texts = window.classify.entry_texts()
    assert len(texts) == 3
    assert "too long" in texts[0].lower() and "%" in texts[1]
    assert texts[2].count("\n") == 1 and "\\n" in texts[2]  # the name is shown escaped, on its own line


def test_weights_from_a_url_load_through_the_menu_and_a_wrong_hash_keeps_the_old_ones(qtbot, window, server, tmp_path, monkeypatch):
    state = random_stats_model(4).state_dict()
    path = tmp_path / "served.pth"
    torch.save(state, path)
    server.payload = path.read_bytes()
    prefix = hashlib.sha256(server.payload).hexdigest()[:8]
    load(qtbot, window, "random")
    window.add_paths([str(pattern_image(tmp_path / "p.png", (64, 48)))])
    qtbot.waitUntil(lambda: window.classify.pending() == 0, timeout=TIMEOUT_MS)
    before = window.classify.entry_texts()

    monkeypatch.setattr(dialogs, "ask_url", lambda parent, title, label: server.url("resnet50-00000000.pth"))
    with qtbot.waitSignal(window.classify.weights_failed, timeout=TIMEOUT_MS) as failed:
        window.classify.weights_menu.url_action.trigger()
    assert "SHA-256" in failed.args[0] and "\n" not in failed.args[0]
    assert window.classify.message_label.text().endswith("Still using random (untrained, seed 0).")
    assert window.classify.entry_texts() == before  # the earlier predictions are kept

    url = server.url(f"resnet50-{prefix}.pth")
    monkeypatch.setattr(dialogs, "ask_url", lambda parent, title, label: url)
    with qtbot.waitSignal(window.classify.weights_loaded, timeout=TIMEOUT_MS) as loaded:
        window.classify.weights_menu.url_action.trigger()
    assert loaded.args[0]["info"]["source"] == url and loaded.args[0]["info"]["trained"]
    assert window.classify.weights_menu.checked() == url


def test_a_trickling_download_never_blocks_the_lane_or_the_exit(qtbot, window, server, tmp_path):
    server.payload = b"x" * 2_000_000
    server.mode = "trickle"
    window.classify.load_weights(server.url("resnet50-12345678.pth"))
    qtbot.waitUntil(lambda: server.requests > 0, timeout=TIMEOUT_MS)
    started = time.monotonic()
    load(qtbot, window, "random")  # the user asked for other weights last: the download gives way
    assert time.monotonic() - started < 20  # a hang guard: before the fix the lane waited 60 s
    assert "random" in window.classify.weights_label.text()
    window.classify.load_weights(server.url("resnet50-87654321.pth"))
    qtbot.waitUntil(lambda: server.requests > 1, timeout=TIMEOUT_MS)
    started = time.monotonic()
    window.close()
    assert window.runner.shutdown(1000)  # every worker has stopped already
    assert time.monotonic() - started < 10  # closing did not wait for the network


def test_weights_that_give_no_finite_forward_are_refused_and_the_predictions_stay(qtbot, window, tmp_path):
    good = checkpoint(tmp_path / "good.pth", seed=2)
    load(qtbot, window, str(good))
    window.add_paths([str(pattern_image(tmp_path / "p.png", (64, 48)))])
    qtbot.waitUntil(lambda: window.classify.pending() == 0, timeout=TIMEOUT_MS)
    before = (window.classify.entry_texts(), window.classify.results.shown_top())
    broken = ResNet50(seed=2).state_dict()
    broken["fc.weight"] = torch.full_like(broken["fc.weight"], 3e38)
    torch.save(broken, tmp_path / "huge.pth")
    with qtbot.waitSignal(window.classify.weights_failed, timeout=TIMEOUT_MS) as failed:
        window.classify.load_weights(str(tmp_path / "huge.pth"))
    assert "huge.pth" in failed.args[0] and "\n" not in failed.args[0]
    qtbot.wait(200)
    assert (window.classify.entry_texts(), window.classify.results.shown_top()) == before
    assert window.classify.weights_menu.checked() == str(good)
