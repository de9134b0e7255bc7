"""explorer.core.overlap: two pieces of one call at once, both to the end before it goes on."""

from __future__ import annotations

import threading
import time

import pytest

from explorer.core.overlap import overlapped


def test_both_results_come_back_and_the_background_ran_on_another_thread():
    caller = threading.get_ident()
    behind, ahead = overlapped(lambda: threading.get_ident(), lambda: threading.get_ident())
    assert ahead == caller and behind != caller


def test_an_exception_is_raised_only_once_both_have_ended():
    ended = threading.Event()

    def slow() -> None:
        time.sleep(0.2)
        ended.set()

    def fail() -> None:
        raise ValueError("foreground")

    with pytest.raises(ValueError, match="foreground"):
        overlapped(slow, fail)
    assert ended.is_set()  # the helper was waited for, not left running
    with pytest.raises(KeyError):
        overlapped(lambda: {}["missing"], lambda: 1)
    with pytest.raises(ValueError, match="foreground"):  # both raise: the foreground's
        overlapped(lambda: {}["missing"], fail)
