"""The race's verdict, computed from the measured numbers only, and the conditions printed with it.
Core layer, pure Python.

He et al. 2015 (Fig. 1 and 4) report the *degradation problem*: the deeper plain network has the
higher training error, which is not overfitting. The verdict compares the two networks' training loss
and their training (batch) accuracy, names whichever is ahead as measured, says so when the two
measures disagree, and says plainly when the plain network is not behind.
"""

from __future__ import annotations

import math
import statistics

from explorer.core.network.stages import arch_title
from explorer.core.race.config import RaceConfig
from explorer.core.race.report import PLAIN, RESIDUAL, DataInfo, RunCurve

# Per-batch numbers are noisy, and a residual ResNet-50 at this scale has single batches with a loss
# of 4 to 11 among ones below 1 (confidently wrong logits): the verdict takes the median loss over the
# last fifth of the steps, at most this many, and the mean batch accuracy over the same steps.
MAX_WINDOW = 10
# Differences below these count as level, a few batches' noise rather than a lead: losses within 5% of
# each other, accuracies within 5 percentage points.
LEVEL_LOSS = 0.05
LEVEL_ACCURACY = 0.05


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


def _loss_leader(residual: float, plain: float) -> str | None:
    """The network with the clearly lower loss (a finite loss beats a diverged one), else None."""
    finite_residual, finite_plain = math.isfinite(residual), math.isfinite(plain)
    if not (finite_residual and finite_plain):
        return RESIDUAL if finite_residual else PLAIN if finite_plain else None
    if plain > residual * (1 + LEVEL_LOSS):
        return RESIDUAL
    if residual > plain * (1 + LEVEL_LOSS):
        return PLAIN
    return None


def _accuracy_leader(residual: float, plain: float) -> str | None:
    if abs(residual - plain) <= LEVEL_ACCURACY:
        return None
    return RESIDUAL if residual > plain else PLAIN


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def _loss(value: float) -> str:
    return f"{value:.3g}" if math.isfinite(value) else "not finite (it diverged)"


def _standing(by_loss: str | None, by_accuracy: str | None) -> str:
    """Who is ahead, from the two measures' leaders (None: level on that measure)."""
    if by_loss == by_accuracy:
        if by_loss is None:
            return "the two are level on both, so the plain network is not behind here"
        return f"the {by_loss} network is ahead" + (", so the plain network is not behind here" if by_loss == PLAIN else "")
    if by_loss is None or by_accuracy is None:
        leader, measure = (by_accuracy, "accuracy") if by_loss is None else (by_loss, "loss")
        other = "loss" if measure == "accuracy" else "accuracy"
        text = f"the {leader} network is ahead on {measure} and level on {other}"
        return text + (", so the plain network is not behind here" if leader == PLAIN else "")
    return (f"the measures disagree: the {by_loss} network has the lower loss, the {by_accuracy} one the higher "
            "accuracy, so neither is ahead and the plain network is not behind here")


def race_verdict(
    runs: tuple[RunCurve, ...], validation: dict[str, float | None] | None, steps: int, cancelled: bool
) -> str:
    """E.g. "after 40 steps the plain network's training loss is 2.86, the residual one's 2.16 (medians of
    the last 8 steps), batch accuracy 14% and 60% (means): the residual network is ahead. Validation
    accuracy: residual 72%, plain 15%."
    """
    done = len(runs[0].loss) if runs else 0
    if done == 0:
        return "cancelled before the first step: nothing to compare" if cancelled else "no step was run"
    plain_run, residual_run = (next(r for r in runs if r.label == label) for label in (PLAIN, RESIDUAL))
    plain, residual = final_loss(plain_run), final_loss(residual_run)
    plain_acc, residual_acc = final_accuracy(plain_run), final_accuracy(residual_run)
    w = window(done)
    head = f"after {done} step{'s' if done != 1 else ''}" + (f" (cancelled; {steps} planned)" if cancelled else "")
    text = (
        f"{head} the plain network's training loss is {_loss(plain)}, the residual one's {_loss(residual)}"
        + (f" (medians of the last {w} steps), batch accuracy {_percent(plain_acc)} and {_percent(residual_acc)} (means)"
           if w > 1 else f", batch accuracy {_percent(plain_acc)} and {_percent(residual_acc)}")
        + ": "
    )
    if math.isfinite(plain) or math.isfinite(residual):
        text += _standing(_loss_leader(residual, plain), _accuracy_leader(residual_acc, plain_acc))
    else:
        text += "neither loss is finite, so neither network is ahead"
    if validation is not None:
        text += f". Validation accuracy: residual {_percent(validation.get(RESIDUAL))}, plain {_percent(validation.get(PLAIN))}"
    return text + "."


def conditions(config: RaceConfig, device: str, data: DataInfo) -> str:
    """The settings a verdict holds for, in one line."""
    norm = "BatchNorm (batch statistics in training), He init" if config.norm == "batch" else "no normalisation, PyTorch default init"
    warmup = f" (linear warm-up over {config.warmup} steps)" if config.warmup else ""
    return (
        f"{arch_title(config.network)} residual vs plain, {data.name}: {len(data.classes)} classes, "
        f"{data.train} training / {data.validation} validation images at {config.size}x{config.size}; "
        f"{config.steps} steps of batch {config.batch}, SGD lr {config.lr:g}{warmup}, momentum {config.momentum:g}, "
        f"weight decay {config.weight_decay:g}; {norm}; seed {config.seed}; {device}"
    )
