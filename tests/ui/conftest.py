"""Fixtures shared by the UI tests."""

import pytest

from explorer.ui.jobs import JobRunner


@pytest.fixture
def runner():
    """The panels' job runner; shutting it down must stop every worker thread."""
    r = JobRunner()
    yield r
    assert r.shutdown(30_000)
