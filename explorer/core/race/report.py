"""What a training race reports, as frozen dataclasses of plain Python values (safe to hand across
threads), and their one JSON and CSV schema. Core layer, pure Python.

JSON (:func:`to_json_dict`): ``config`` (the settings, the device actually used and the data set),
``runs`` (per network: ``label``, and ``loss``, ``accuracy``, ``stem_grad`` with one value per step),
``validation`` (accuracy of each network on the held-out split, by label), ``verdict``, ``seconds``.
Non-finite numbers (a diverged loss) become null, so the JSON is strict. CSV (:func:`csv_rows`): one
row per step and network with the same names, ``step`` first, written atomically by :func:`write_csv`
(the ``race`` command's ``--csv`` and the window's export).
"""

from __future__ import annotations

import csv
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from explorer.core.files import write_atomically
from explorer.core.race.config import RaceConfig

RESIDUAL, PLAIN = "residual", "plain"
LABELS: tuple[str, ...] = (RESIDUAL, PLAIN)  # the order of every per-network sequence
SERIES: tuple[str, ...] = ("loss", "accuracy", "stem_grad")  # what each network reports per step
CSV_FIELDS: tuple[str, ...] = ("step", "label", *SERIES)


@dataclass(frozen=True)
class NetStep:
    """One network after one step: the batch's mean cross-entropy and accuracy (measured on the
    forward pass that the step's gradient came from) and the L2 norm of the stem conv's weight gradient."""

    label: str
    loss: float
    accuracy: float
    stem_grad: float


@dataclass(frozen=True)
class RaceStep:
    """Progress after ``step`` of ``steps`` (1-based), for both networks (residual first)."""

    step: int
    steps: int
    lr: float
    nets: tuple[NetStep, ...]
    seconds: float  # since the race started, data loading and model building included

    def net(self, label: str) -> NetStep:
        return next(n for n in self.nets if n.label == label)


@dataclass(frozen=True)
class RunCurve:
    """One network's values, one per completed step."""

    label: str
    loss: tuple[float, ...]
    accuracy: tuple[float, ...]
    stem_grad: tuple[float, ...]


@dataclass(frozen=True)
class DataInfo:
    """The data set as raced: its name (``digits`` or the folder), class names, image counts, and one
    line per refused file."""

    name: str
    classes: tuple[str, ...]
    train: int
    validation: int
    skipped: tuple[str, ...] = ()


@dataclass(frozen=True)
class RaceResult:
    """A finished or cancelled race. ``validation`` is None when the race was cancelled (it is not
    measured then) and holds None for a network when the split has no validation images."""

    config: RaceConfig
    device: str
    data: DataInfo
    runs: tuple[RunCurve, ...]
    validation: dict[str, float | None] | None
    verdict: str
    conditions: str
    seconds: float
    cancelled: bool = False

    @property
    def steps_done(self) -> int:
        return len(self.runs[0].loss) if self.runs else 0

    def run(self, label: str) -> RunCurve:
        return next(r for r in self.runs if r.label == label)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def config_dict(result: RaceResult) -> dict[str, Any]:
    """The settings with the device actually used and the data set described."""
    data = result.data
    return {
        **asdict(result.config),
        "device": result.device,
        "dataset": {"name": data.name, "classes": list(data.classes), "train": data.train,
                    "validation": data.validation, "skipped": list(data.skipped)},
    }


def to_json_dict(result: RaceResult) -> dict[str, Any]:
    """The documented JSON object; ``json.dumps(..., allow_nan=False)`` accepts it."""
    return {
        "config": config_dict(result),
        "runs": [{"label": r.label, **{s: [_finite(v) for v in getattr(r, s)] for s in SERIES}} for r in result.runs],
        "validation": None if result.validation is None else {k: _finite(v) for k, v in result.validation.items()},
        "verdict": result.verdict,
        "seconds": result.seconds,
    }


def csv_rows(result: RaceResult) -> list[list[Any]]:
    """Rows under :data:`CSV_FIELDS`: per step (1-based), residual then plain; non-finite values empty."""
    rows = []
    for step in range(result.steps_done):
        for run in result.runs:
            values = [_finite(getattr(run, s)[step]) for s in SERIES]
            rows.append([step + 1, run.label, *("" if v is None else repr(v) for v in values)])
    return rows


def write_csv(path: str | Path, result: RaceResult) -> None:
    """Write the rows to ``path`` atomically, as ``grads`` does: a temporary file beside it, renamed
    over it when complete. Raises OutputError (the target is then untouched)."""
    def write(f: IO) -> None:
        writer = csv.writer(f)
        writer.writerow(CSV_FIELDS)
        writer.writerows(csv_rows(result))

    write_atomically(Path(path), write, text=True)
