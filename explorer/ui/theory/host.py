"""The worker's side of the theory lab's jobs: each view's runs, in turn, on the job's thread, sharing
one progress bar; only the core's frozen results of plain values come back.

UI layer, no Qt: the functions here are the ``fn(context)`` that ``explorer.ui.jobs`` runs; the
models they build live and die on the worker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from explorer.core.progress import Progress
from explorer.core.theory.config import TheoryConfig
from explorer.core.theory.erf import run_erf
from explorer.core.theory.paths import run_paths
from explorer.core.theory.signal import run_signal
from explorer.ui.jobs import JobContext, JobFn

VIEW_RUNS: dict[str, Callable[..., Any]] = {
    "signal": run_signal,  # -> SignalResult
    "paths": run_paths,  # -> PathsResult
    "erf": run_erf,  # -> list[ErfResult], one per stage (the default: all of them)
}


def _part(progress: Progress, index: int, count: int, label: str) -> Progress:
    """Run ``index`` of ``count``'s progress as a share of the whole, named by ``label``."""
    return lambda text, fraction: progress(f"{label}: {text}" if count > 1 else text, (index + fraction) / count)


def _network(result: Any) -> str:
    """The member a result ran (an ERF result is a list, one per stage)."""
    first = result[0] if isinstance(result, list) else result
    return first.config.arch


def view_job(view: str, configs: list[TheoryConfig], device: str) -> JobFn:
    """A job running ``view`` once per config (two side by side: residual and plain, two
    initialisations, trained and random weights), returning the list of results. When the first
    config lets a checkpoint file decide the network, the runs after it take that network."""
    run = VIEW_RUNS[view]

    def job(ctx: JobContext) -> list[Any]:
        results: list[Any] = []
        for index, config in enumerate(configs):
            if results and configs[0].arch is None:
                config = replace(config, arch=_network(results[0]))
            part = _part(ctx.progress, index, len(configs), config.label)
            results.append(run(config, device=device, progress=part, cancel=ctx.cancelled))
        return results

    return job
