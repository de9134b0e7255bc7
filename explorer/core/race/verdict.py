"""The race's verdict, computed from the measured numbers only, and the conditions printed with it.
Core layer, pure Python.

He et al. 2015 (Fig. 1 and 4) report the *degradation problem*: the deeper plain network has the
higher training error, which is not overfitting. The verdict therefore compares training losses, names
whichever network is ahead as measured, and says so plainly when the plain network is not behind.
"""

from __future__ import annotations

import math
import statistics

from explorer.core.race.config import NETWORKS, RaceConfig
from explorer.core.race.report import PLAIN, RESIDUAL, DataInfo, RunCurve

# Per-batch losses are noisy, and a residual ResNet-50 at this scale has single batches with a loss of
# 4-10 among ones below 1 (confidently wrong logits); the verdict therefore takes the median of the
# last fifth of the steps, at most this many, and the mean batch accuracy over the same steps.
MAX_WINDOW = 10
# Losses within this fraction of each other count as level: a few batches' noise, not a lead.
LEVEL = 0.05


def window(steps: int) -> int:
    """How many final steps the verdict summarises: a fifth of them, from 1 to :data:`MAX_WINDOW`."""
    return max(1, min(MAX_WINDOW, steps // 5))


def final_loss(curve: RunCurve) -> float:
    """Median training loss over the last :func:`window` steps (NaN when any of them is not finite)."""
    tail = curve.loss[-window(len(curve.loss)):]
    return statistics.median(tail) if all(math.isfinite(v) for v in tail) else math.nan


def final_accuracy(curve: RunCurve) -> float:
    """Mean batch accuracy over the last :func:`window` steps."""
    tail = curve.accuracy[-window(len(curve.accuracy)):]
    return math.fsum(tail) / len(tail)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def _loss(value: float) -> str:
    return f"{value:.3g}" if math.isfinite(value) else "not finite (it diverged)"


def race_verdict(
    runs: tuple[RunCurve, ...], validation: dict[str, float | None] | None, steps: int, cancelled: bool
) -> str:
    """E.g. "after 40 steps the plain network's training loss is 2.45, the residual one's 1.52 (medians
    of the last 8 steps; batch accuracy 11% and 59%): the residual network is ahead. Validation
    accuracy: residual 72%, plain 16%."
    """
    done = len(runs[0].loss) if runs else 0
    if done == 0:
        return "cancelled before the first step: nothing to compare" if cancelled else "no step was run"
    plain_run, residual_run = (next(r for r in runs if r.label == label) for label in (PLAIN, RESIDUAL))
    plain, residual = final_loss(plain_run), final_loss(residual_run)
    w = window(done)
    head = f"after {done} step{'s' if done != 1 else ''}" + (f" (cancelled; {steps} planned)" if cancelled else "")
    summary = f"medians of the last {w} steps; " if w > 1 else ""
    summary += f"batch accuracy {_percent(final_accuracy(plain_run))} and {_percent(final_accuracy(residual_run))}"
    text = f"{head} the plain network's training loss is {_loss(plain)}, the residual one's {_loss(residual)} ({summary}): "
    if not (math.isfinite(plain) or math.isfinite(residual)):
        text += "neither loss is finite, so neither network is ahead"
    elif not math.isfinite(residual) or (math.isfinite(plain) and residual > plain * (1 + LEVEL)):
        text += "the plain network is ahead, so it is not behind here"
    elif not math.isfinite(plain) or plain > residual * (1 + LEVEL):
        text += "the residual network is ahead"
    else:
        text += f"level (within {LEVEL:.0%}), so the plain network is not behind here"
    if validation is not None:
        text += f". Validation accuracy: residual {_percent(validation.get(RESIDUAL))}, plain {_percent(validation.get(PLAIN))}"
    return text + "."


def conditions(config: RaceConfig, device: str, data: DataInfo) -> str:
    """The settings a verdict holds for, in one line."""
    norm = "BatchNorm (batch statistics in training), He init" if config.norm == "batch" else "no normalisation, PyTorch default init"
    warmup = f" (linear warm-up over {config.warmup} steps)" if config.warmup else ""
    return (
        f"{NETWORKS[config.network].title} residual vs plain, {data.name}: {len(data.classes)} classes, "
        f"{data.train} training / {data.validation} validation images at {config.size}x{config.size}; "
        f"{config.steps} steps of batch {config.batch}, SGD lr {config.lr:g}{warmup}, momentum {config.momentum:g}, "
        f"weight decay {config.weight_decay:g}; {norm}; seed {config.seed}; {device}"
    )
