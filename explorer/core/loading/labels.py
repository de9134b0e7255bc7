"""Class names: the 1000 ImageNet-1k names in torchvision's index order (read once from the bundled
``explorer/resources/imagenet_classes.txt``), or a fine-tuned head's own, one per line, from ``--labels FILE``
or a ``labels.txt``/``classes.txt`` beside the checkpoint, else ``class 0`` .. ``class N-1``.
Pure Python (core layer).
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from explorer.core.files import file_problem
from explorer.core.text import os_reason, shown

IMAGENET_CLASS_COUNT = 1000
# Files beside a checkpoint that name its classes, tried in this order.
LABEL_FILES = ("labels.txt", "classes.txt")
# A labels file is short text: refuse anything larger before reading it (a million classes of 100 bytes).
_MAX_LABELS_BYTES = 100_000_000


# Line ends as a person (and every editor) counts them. str.splitlines() also breaks at form feeds,
# vertical tabs, U+0085, U+2028 and U+2029, which would make a name that holds one count twice.
_LINE_END = re.compile(r"\r\n|\r|\n")


class LabelsError(ValueError):
    """A labels file that cannot name a head's classes; ``str(e)`` is one line naming the file."""


@lru_cache(maxsize=1)
def _class_names() -> tuple[str, ...]:
    text = files("explorer.resources").joinpath("imagenet_classes.txt").read_text(encoding="utf-8")
    names = label_lines(text)
    if len(names) != IMAGENET_CLASS_COUNT:
        raise RuntimeError(f"imagenet_classes.txt has {len(names)} names, expected {IMAGENET_CLASS_COUNT}")
    return names


def label_lines(text: str) -> tuple[str, ...]:
    """The names in a labels text: one per line, surrounding spaces stripped, blank lines skipped."""
    return tuple(name for line in _LINE_END.split(text) if (name := line.strip()))


def imagenet_classes() -> list[str]:
    """The 1000 class names, index i = output i of an ImageNet-1k classifier (a fresh list each call)."""
    return list(_class_names())


def read_labels(path: str | Path, count: int | None = None) -> tuple[str, ...]:
    """The class names in a text file, one per line (blank lines and surrounding spaces ignored).

    Raises:
        LabelsError: missing, unreadable, not UTF-8 text, empty, or (with ``count``) not exactly
            ``count`` names, in one line naming the file.
    """
    name = shown(path)
    problem = file_problem(path)
    if problem:
        raise LabelsError(f"labels file {name}: {problem}")
    try:
        if Path(path).stat().st_size > _MAX_LABELS_BYTES:
            raise LabelsError(f"labels file {name}: larger than {_MAX_LABELS_BYTES // 10**6} MB, not a list of class names")
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise LabelsError(f"labels file {name}: not UTF-8 text (one class name per line)") from None
    except OSError as exc:
        raise LabelsError(f"labels file {name}: cannot read ({os_reason(exc)})") from None
    labels = label_lines(text)
    if not labels:
        raise LabelsError(f"labels file {name}: no class names in it (one per line)")
    if count is not None and len(labels) != count:
        raise LabelsError(f"labels file {name}: {len(labels)} class names for a head of {count} classes")
    return labels


def labels_beside(checkpoint: str | Path) -> Path | None:
    """The ``labels.txt`` or ``classes.txt`` in a checkpoint's folder, if there is one."""
    folder = Path(checkpoint).parent
    return next((folder / n for n in LABEL_FILES if (folder / n).is_file()), None)


def class_labels(count: int, labels: str | Path | None = None, checkpoint: str | Path | None = None) -> tuple[str, ...]:
    """The names of a head's ``count`` classes: from ``labels`` (a file), else a labels file beside
    ``checkpoint``, else ImageNet's for 1000 classes, else ``class 0`` .. ``class N-1``.

    Raises:
        LabelsError: a labels file that does not hold exactly ``count`` names (see :func:`read_labels`).
    """
    if labels is None and checkpoint is not None:
        labels = labels_beside(checkpoint)
    if labels is not None:
        return read_labels(labels, count)
    if count == IMAGENET_CLASS_COUNT:
        return _class_names()
    return tuple(f"class {i}" for i in range(count))
