"""What a training race reports, as frozen dataclasses of plain Python values (safe to hand across
threads), and their one JSON and CSV schema. Core layer, pure Python.

JSON (:func:`to_json_dict`): ``config`` (the settings, the device and precision actually used and the
data set), ``runs`` (per network: ``label``, ``arch``, ``shortcuts``, and ``loss``, ``accuracy``,
``stem_grad`` with one value per step), ``validation`` (accuracy of each network on the held-out split,
by label), ``verdict`` (the text), ``leader`` (``"residual"``, ``"plain"`` or ``"level"``: who is ahead
at the deepest network raced) and ``measures_agree`` (whether loss and accuracy name the same leader),
``depth`` (a depth race only: see :class:`DepthStanding`), ``seconds``. Non-finite numbers (a diverged
loss) become null, so the JSON is strict. CSV (:func:`csv_rows`): one row per step and network with the
same names, ``step`` first, written atomically by :func:`write_csv` (the ``race`` command's ``--csv``
and the window's export).
"""

from __future__ import annotations

import csv
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from explorer.core.files import write_atomically
from explorer.core.network.stages import resnet_spec
from explorer.core.race.config import RaceConfig

RESIDUAL, PLAIN, LEVEL = "residual", "plain", "level"
LABELS: tuple[str, ...] = (RESIDUAL, PLAIN)  # a race of one network: the order of every per-network sequence
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


def run_label(depth: int | None, shortcuts: bool) -> str:
    """A run's name: ``"residual"``/``"plain"`` in a race of one network; ``"plain-20"``,
    ``"residual-56"`` ... in a depth race (``depth``: the network's, He et al.'s names in Fig. 6)."""
    kind = RESIDUAL if shortcuts else PLAIN
    return kind if depth is None else f"{kind}-{depth}"


@dataclass(frozen=True)
class PlannedRun:
    """A run the race will train: its label, its network and whether its shortcuts are on."""

    label: str
    arch: str
    shortcuts: bool


def planned_runs(config: RaceConfig) -> tuple[PlannedRun, ...]:
    """The runs of ``config`` in their order: per network (shallowest first), residual then plain."""
    runs = []
    for name in config.networks:
        depth = resnet_spec(name).depth if config.depths else None
        runs += [PlannedRun(run_label(depth, on), name, on) for on in (True, False)]
    return tuple(runs)


@dataclass(frozen=True)
class RaceStep:
    """Progress after ``step`` of ``steps`` (1-based), for every network (in the runs' order)."""

    step: int
    steps: int
    lr: float
    nets: tuple[NetStep, ...]
    seconds: float  # since the race started, data loading and model building included

    def net(self, label: str) -> NetStep:
        return next(n for n in self.nets if n.label == label)


@dataclass(frozen=True)
class RunCurve:
    """One network's values, one per completed step; ``arch`` is its member, ``shortcuts`` whether
    they were on (residual) or off (its plain twin)."""

    label: str
    arch: str
    shortcuts: bool
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
class Standing:
    """Who is ahead of two runs by the verdict's two measures (explorer.core.race.verdict): ``by_loss``
    and ``by_accuracy`` name a run's label, or None where the two are level on that measure."""

    by_loss: str | None
    by_accuracy: str | None

    @property
    def measures_agree(self) -> bool:
        return self.by_loss == self.by_accuracy

    @property
    def leader(self) -> str | None:
        """The run ahead: named by both measures, or by one with the other level; None when both are
        level or the two measures name different runs."""
        if self.by_loss is None or self.by_accuracy is None or self.measures_agree:
            return self.by_loss or self.by_accuracy
        return None


@dataclass(frozen=True)
class DepthPair:
    """One kind's shallowest and deepest run of a depth race: their labels, who of the two is ahead,
    and what the depth cost: the deeper's final training loss over the shallower's (``loss_ratio``,
    NaN when either is not finite) and the batch accuracy it lost (``accuracy_drop``, 0.24 for 24
    points; negative when the deeper is ahead)."""

    shallower: str
    deeper: str
    standing: Standing
    loss_ratio: float
    accuracy_drop: float

    def to_dict(self) -> dict[str, Any]:
        return {"shallower": self.shallower, "deeper": self.deeper, "leader": self.standing.leader or LEVEL,
                "measures_agree": self.standing.measures_agree, "loss_ratio": _finite(self.loss_ratio),
                "accuracy_drop": self.accuracy_drop}


@dataclass(frozen=True)
class DepthStanding:
    """A depth race's answer to He et al.'s Fig. 6. ``degradation``: the deeper plain network trains
    worse than the shallower one (the shallower is ahead); ``residual_avoids_it``: the deeper residual
    network is not behind the shallower one; ``shortcuts_shrink_it``: depth costs the residual networks
    less than the plain ones, on both measures (a short race may shrink the gap without closing it)."""

    plain: DepthPair
    residual: DepthPair

    @property
    def degradation(self) -> bool:
        return self.plain.standing.leader == self.plain.shallower

    @property
    def residual_avoids_it(self) -> bool:
        return self.residual.standing.leader != self.residual.shallower

    @property
    def shortcuts_shrink_it(self) -> bool:
        return self.residual.loss_ratio < self.plain.loss_ratio and self.residual.accuracy_drop < self.plain.accuracy_drop

    def to_dict(self) -> dict[str, Any]:
        return {"plain": self.plain.to_dict(), "residual": self.residual.to_dict(), "degradation": self.degradation,
                "residual_avoids_it": self.residual_avoids_it, "shortcuts_shrink_it": self.shortcuts_shrink_it}


@dataclass(frozen=True)
class RaceResult:
    """A finished or cancelled race. ``validation`` is None when the race was cancelled (it is not
    measured then) and holds None for a network when the split has no validation images.
    ``standing``: residual against plain at the deepest network raced (None before any step);
    ``depth``: a depth race's comparison across depths, else None."""

    config: RaceConfig
    device: str
    data: DataInfo
    runs: tuple[RunCurve, ...]
    validation: dict[str, float | None] | None
    verdict: str
    conditions: str
    seconds: float
    cancelled: bool = False
    standing: Standing | None = None
    depth: DepthStanding | None = None

    @property
    def steps_done(self) -> int:
        return len(self.runs[0].loss) if self.runs else 0

    @property
    def leader(self) -> str:
        """``"residual"``, ``"plain"`` or ``"level"`` (also before any step): the JSON's ``leader``."""
        leader = None if self.standing is None else self.standing.leader
        return LEVEL if leader is None else leader.split("-")[0]

    def run(self, label: str) -> RunCurve:
        return next(r for r in self.runs if r.label == label)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def config_dict(result: RaceResult) -> dict[str, Any]:
    """The settings with the device actually used and the data set described."""
    data = result.data
    return {
        **asdict(result.config),
        "size": result.config.image_size,
        "device": result.device,
        "precision": "fp32",  # the race pins it: see explorer.core.race.train.fp32_math
        "dataset": {"name": data.name, "classes": list(data.classes), "train": data.train,
                    "validation": data.validation, "skipped": list(data.skipped)},
    }


def to_json_dict(result: RaceResult) -> dict[str, Any]:
    """The documented JSON object; ``json.dumps(..., allow_nan=False)`` accepts it."""
    document = {
        "config": config_dict(result),
        "runs": [{"label": r.label, "arch": r.arch, "shortcuts": r.shortcuts, **{s: [_finite(v) for v in getattr(r, s)] for s in SERIES}}
                 for r in result.runs],
        "validation": None if result.validation is None else {k: _finite(v) for k, v in result.validation.items()},
        "verdict": result.verdict,
        "leader": result.leader,
        "measures_agree": result.standing is not None and result.standing.measures_agree,
    }
    if result.depth is not None:
        document["depth"] = result.depth.to_dict()
    return {**document, "seconds": result.seconds}


def csv_rows(result: RaceResult) -> list[list[Any]]:
    """Rows under :data:`CSV_FIELDS`: per step (1-based), every run in order; non-finite values empty."""
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
