"""Shared test setup: Qt runs offscreen, torch uses the two cores we have."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
