"""The race's verdict, computed from the measured numbers only, and the conditions printed with it.
Core layer, pure Python.

He et al. 2015 (Fig. 1, 4 and 6) report the *degradation problem*: the deeper plain network has the
higher training error, which is not overfitting. The verdict compares the two networks' training loss
and their training (batch) accuracy, names whichever is ahead as measured, says so when the two
measures disagree, and says plainly when the plain network is not behind. A race of several depths
compares, in each kind, the deepest network with the shallowest: whether the deeper plain one trains
worse (the degradation problem) and whether the deeper residual one does not.
"""

from __future__ import annotations

import math
import statistics

from explorer.core.network.stages import arch_title
from explorer.core.race.config import RaceConfig
from explorer.core.race.report import PLAIN, RESIDUAL, DataInfo, DepthPair, DepthStanding, RunCurve, Standing

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


def standing(first: RunCurve, second: RunCurve) -> Standing:
    """Who of two runs is ahead on each measure (their labels; None where level)."""
    loss_a, loss_b = final_loss(first), final_loss(second)
    acc_a, acc_b = final_accuracy(first), final_accuracy(second)
    return Standing(_lower_loss(first.label, loss_a, second.label, loss_b), _higher_accuracy(first.label, acc_a, second.label, acc_b))


def _lower_loss(a: str, loss_a: float, b: str, loss_b: float) -> str | None:
    """The run with the clearly lower loss (a finite loss beats a diverged one), else None."""
    finite_a, finite_b = math.isfinite(loss_a), math.isfinite(loss_b)
    if not (finite_a and finite_b):
        return a if finite_a else b if finite_b else None
    if loss_b > loss_a * (1 + LEVEL_LOSS):
        return a
    if loss_a > loss_b * (1 + LEVEL_LOSS):
        return b
    return None


def _higher_accuracy(a: str, acc_a: float, b: str, acc_b: float) -> str | None:
    if abs(acc_a - acc_b) <= LEVEL_ACCURACY:
        return None
    return a if acc_a > acc_b else b


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def _loss(value: float) -> str:
    return f"{value:.3g}" if math.isfinite(value) else "not finite (it diverged)"


def _standing_text(by_loss: str | None, by_accuracy: str | None) -> str:
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


def _head(done: int, steps: int, cancelled: bool) -> str:
    return f"After {done} step{'s' if done != 1 else ''}" + (f" (cancelled; {steps} planned)" if cancelled else "")


def race_verdict(
    runs: tuple[RunCurve, ...], validation: dict[str, float | None] | None, steps: int, cancelled: bool
) -> str:
    """E.g. "After 40 steps the plain network's training loss is 2.86, the residual one's 2.16 (medians of
    the last 8 steps), batch accuracy 14% and 60% (means): the residual network is ahead. Validation
    accuracy: residual 72%, plain 15%." A race of several depths: :func:`depth_verdict`.
    """
    done = len(runs[0].loss) if runs else 0
    if done == 0:
        return "Cancelled before the first step: nothing to compare." if cancelled else "No step was run."
    if len(runs) > 2:
        return depth_verdict(runs, validation, steps, cancelled)
    plain_run, residual_run = (next(r for r in runs if r.label == label) for label in (PLAIN, RESIDUAL))
    plain, residual = final_loss(plain_run), final_loss(residual_run)
    plain_acc, residual_acc = final_accuracy(plain_run), final_accuracy(residual_run)
    w = window(done)
    text = (
        f"{_head(done, steps, cancelled)} the plain network's training loss is {_loss(plain)}, the residual one's {_loss(residual)}"
        + (f" (medians of the last {w} steps), batch accuracy {_percent(plain_acc)} and {_percent(residual_acc)} (means)"
           if w > 1 else f", batch accuracy {_percent(plain_acc)} and {_percent(residual_acc)}")
        + ": "
    )
    if math.isfinite(plain) or math.isfinite(residual):
        ahead = standing(residual_run, plain_run)
        text += _standing_text(ahead.by_loss, ahead.by_accuracy)
    else:
        text += "neither loss is finite, so neither network is ahead"
    if validation is not None:
        text += f". Validation accuracy: residual {_percent(validation.get(RESIDUAL))}, plain {_percent(validation.get(PLAIN))}"
    return text + "."


def race_standing(runs: tuple[RunCurve, ...]) -> Standing | None:
    """Residual against plain at the deepest network raced (the last pair of runs); None before any step."""
    if not runs or not runs[0].loss:
        return None
    deepest = runs[-1].arch
    residual, plain = (next(r for r in runs if r.arch == deepest and r.shortcuts == on) for on in (True, False))
    return standing(residual, plain)


def depth_standing(runs: tuple[RunCurve, ...]) -> DepthStanding | None:
    """The shallowest against the deepest network of each kind, for a race of several depths (runs
    ordered by depth, as :func:`explorer.core.race.train.run_race` returns them); None otherwise."""
    if len(runs) <= 2 or not runs[0].loss:
        return None

    def pair(kind: list[RunCurve]) -> DepthPair:
        low, high = kind[0], kind[-1]
        losses = final_loss(low), final_loss(high)
        ratio = losses[1] / losses[0] if all(math.isfinite(v) and v > 0 for v in losses) else math.nan
        return DepthPair(low.label, high.label, standing(low, high), ratio, final_accuracy(low) - final_accuracy(high))

    return DepthStanding(pair([r for r in runs if not r.shortcuts]), pair([r for r in runs if r.shortcuts]))


def _pair(first: RunCurve, second: RunCurve) -> str:
    """E.g. "plain-56: loss 2.2, accuracy 12%; plain-20: loss 0.9, accuracy 71%"."""
    return "; ".join(f"{r.label}: loss {_loss(final_loss(r))}, accuracy {_percent(final_accuracy(r))}" for r in (first, second))


def _compared(deeper: RunCurve, shallower: RunCurve, ahead: Standing) -> str:
    """E.g. "plain-56 trains worse than plain-20 (training loss 2.2 against 0.9, ...)"."""
    if ahead.leader == shallower.label:
        relation = "trains worse than"
    elif ahead.leader == deeper.label:
        relation = "trains better than"
    elif ahead.measures_agree:
        relation = "is level with"
    else:
        relation = "is neither ahead of nor behind (the measures disagree)"
    return f"{deeper.label} {relation} {shallower.label} ({_pair(deeper, shallower)})"


def depth_verdict(
    runs: tuple[RunCurve, ...], validation: dict[str, float | None] | None, steps: int, cancelled: bool
) -> str:
    """He et al.'s Fig. 6 as measured, e.g. "After 40 steps plain-56 trains worse than plain-20 (...):
    the degradation problem. residual-56 is level with residual-20 (...): the residual networks avoid it.
    At 56 layers the residual network is ahead. Validation accuracy: ..."."""
    depth = depth_standing(runs)
    if depth is None:
        return "No step was run."
    by_label = {r.label: r for r in runs}
    plain_low, plain_high = by_label[depth.plain.shallower], by_label[depth.plain.deeper]
    residual_low, residual_high = by_label[depth.residual.shallower], by_label[depth.residual.deeper]
    w = window(len(runs[0].loss))
    text = f"{_head(len(runs[0].loss), steps, cancelled)} (training loss and batch accuracy over the last {w} step{'s' if w != 1 else ''}) "
    text += _compared(plain_high, plain_low, depth.plain.standing)
    text += ": the degradation problem. " if depth.degradation else ": no degradation in this race. "
    text += _compared(residual_high, residual_low, depth.residual.standing)
    if depth.residual_avoids_it:
        text += ": the residual networks avoid it. " if depth.degradation else ": the deeper residual network is not behind either. "
    elif depth.shortcuts_shrink_it:
        text += (f", but depth costs it less than the plain network (loss x{depth.residual.loss_ratio:.2f} against "
                 f"x{depth.plain.loss_ratio:.2f}, {100 * depth.residual.accuracy_drop:.0f} against "
                 f"{100 * depth.plain.accuracy_drop:.0f} accuracy points): the shortcuts shrink the gap without closing it here. ")
    else:
        text += ": the residual networks do not avoid it here. " if depth.degradation else ": the deeper residual network is behind. "
    ahead = race_standing(runs)
    deepest = plain_high.label.split("-")[1]
    if ahead is not None and ahead.leader is not None:
        text += f"At {deepest} layers the {ahead.leader.split('-')[0]} network is ahead"
    else:
        text += f"At {deepest} layers neither network is ahead on both measures"
    text += f" ({_pair(residual_high, plain_high)})"
    if validation is not None:
        text += ". Validation accuracy: " + ", ".join(f"{label} {_percent(v)}" for label, v in validation.items())
    return text + "."


def conditions(config: RaceConfig, device: str, data: DataInfo) -> str:
    """The settings a verdict holds for, in one line."""
    norm = "BatchNorm (batch statistics in training), He init" if config.norm == "batch" else "no normalisation, PyTorch default init"
    warmup = f" (linear warm-up over {config.warmup} steps)" if config.warmup else ""
    clip = f", gradients clipped to norm {config.clip:g}" if config.clip else ""
    titles = [arch_title(n) for n in config.networks]
    networks = f"{titles[0]} residual vs plain" if len(titles) == 1 else f"{', '.join(titles)}, each residual and plain"
    size = config.image_size
    return (
        f"{networks}, {data.name}: {len(data.classes)} classes, "
        f"{data.train} training / {data.validation} validation images at {size}x{size}; "
        f"{config.steps} steps of batch {config.batch}, SGD lr {config.lr:g}{warmup}, momentum {config.momentum:g}, "
        f"weight decay {config.weight_decay:g}{clip}; {norm}; fp32; seed {config.seed}; {device}"
    )
