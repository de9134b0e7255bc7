"""What loading weights can fail with, shared by every stage of the pipeline
(``explorer.core.loading.pipeline``): one exception family whose message is one line naming the file.

Core layer, pure Python.
"""

from __future__ import annotations

from explorer.core.text import one_line


class WeightsError(ValueError):
    """Weights could not be loaded; the model is unchanged. ``str(e)`` is one line."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


class WeightsCancelled(WeightsError):
    """The download was cancelled by the caller."""


class ArchitectureMismatch(WeightsError):
    """The weights are of another member than the one asked for (``--arch``): a usage error."""
