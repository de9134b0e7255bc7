"""The gradient lab's table as a CSV file: one schema for the ``grads`` command and the window's
export, one row per run and layer with the run's loss and exact conditions, written atomically (a
temporary file beside the target, renamed over it only when complete, so a failure never leaves half
a file). Pure Python; part of explorer.core.gradients.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from explorer.core.files import write_atomically
from explorer.core.gradients.result import GradResult

LAYER_FIELDS = ("run", "shortcuts", "layer", "stage", "shortcut", "grad_norm", "activation_std")
# The run's conditions, repeated on each of its rows so that any row read alone says where it came from.
CONDITION_FIELDS = (
    "loss", "norm", "init", "weights", "inputs", "targets", "batch", "size", "seed", "plain_blocks", "lesion", "device", "arch",
)
CSV_FIELDS = LAYER_FIELDS + CONDITION_FIELDS


def _number(value: float | None) -> str:
    return "" if value is None else repr(value)  # repr: the exact float, read back bit for bit


def _conditions(result: GradResult) -> list[object]:
    c = result.config
    plain = "all" if c["plain_blocks"] is None else ";".join(c["plain_blocks"])
    weights = c["weights"] if c["init"] == "weights" else ""
    return [
        _number(result.loss), c["norm"], c["init"], weights or "", ";".join(c["inputs"]) or "noise", c["targets"],
        c["batch"], c["size"], c["seed"], plain, ";".join(c["lesion"]), result.device, c["arch"],
    ]


def csv_rows(results: Sequence[GradResult]) -> list[list[object]]:
    """The table under :data:`CSV_FIELDS`: exact floats, empty where a layer took no part; lists
    (inputs, plain blocks, lesions) joined with ``;``, ``all`` when every block is plain."""
    rows = []
    for r in results:
        conditions = _conditions(r)
        for layer in r.layers:
            rows.append(
                [r.label, r.shortcuts, layer.name, layer.stage, layer.shortcut, _number(layer.grad_norm), _number(layer.activation_std)]
                + conditions
            )
    return rows


def write_csv(path: str | Path, results: Sequence[GradResult]) -> None:
    """Write the table to ``path`` atomically. Raises OutputError (the target is then untouched)."""
    def write(f: IO) -> None:
        writer = csv.writer(f)
        writer.writerow(CSV_FIELDS)
        writer.writerows(csv_rows(results))

    write_atomically(Path(path), write, text=True)
