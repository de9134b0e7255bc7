"""The training race: a residual network and its plain twin (the same network with every shortcut off,
He et al. 2015, Sec. 4.1 "plain networks") trained side by side from identical initial weights on
exactly the same batches in the same order, with the same optimiser; or, for a depth race (Fig. 6),
several networks each with its twin, all on the same batches. Core layer, pure PyTorch; the
models never leave this module, only plain values do (:class:`RaceStep`, :class:`RaceResult`).

Training runs in true fp32 whatever the CPU (:func:`fp32_math`): on one with native bf16, PyTorch
may be told to let oneDNN compute fp32 convolutions and matmuls in bf16, and the race's numbers
must not depend on which CPU ran them. A race of CIFAR networks on the CPU runs on one thread
(:func:`race_threads`).

At the end both networks' BatchNorm statistics are re-estimated on the same few training batches
(PreciseBN, Wu & Johnson 2021) and their top-1 accuracy is measured on the held-out split.

Cancellation: ``cancel`` is polled while reading a folder, before the models are built and before
every step. When it returns True the race stops there and :func:`run_race` *returns* a result with
``cancelled=True``, the steps done so far, and no validation (a cancel should not wait for it).
"""

from __future__ import annotations

import copy
import time
from contextlib import contextmanager
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from explorer.core.devices import select_device
from explorer.core.network.model import ResNet
from explorer.core.network.stages import MEMBERS
from explorer.core.race.config import NETWORKS, RaceConfig, check_data, validate
from explorer.core.race.data import DataCancelled, batches, load_data
from explorer.core.race.report import SERIES, DataInfo, NetStep, RaceResult, RaceStep, RunCurve, planned_runs
from explorer.core.race.sgd import MomentumSGD
from explorer.core.race.verdict import conditions, depth_standing, race_standing, race_verdict

OnStep = Callable[[RaceStep], None]
Cancel = Callable[[], bool]
VALIDATION_BATCH = 256  # images per forward pass when measuring validation accuracy
PRECISE_BN_BATCHES = 10  # training batches that re-estimate BN's statistics before validation


def build_network(name: str, num_classes: int, init: str, seed: int) -> ResNet:
    """A fresh network by name, one of :data:`~explorer.core.race.config.NETWORKS`, initialised from
    ``seed`` on the CPU."""
    if name not in NETWORKS:
        raise ValueError(f"unknown network {name!r}; choose from {', '.join(NETWORKS)}")
    return ResNet(name, num_classes=num_classes, init=init, seed=seed)


def learning_rate(config: RaceConfig, step: int) -> float:
    """The learning rate of 0-based ``step``: rising linearly to ``config.lr`` over the first
    ``config.warmup`` steps (lr/(warmup+1), 2 lr/(warmup+1), ...), then constant."""
    return config.lr * min(1.0, (step + 1) / (config.warmup + 1))


def stem_grad_norm(grad: torch.Tensor) -> torch.Tensor:
    """L2 norm of a gradient, scaled by its largest entry first: a plain network without normalisation
    has stem gradients around 1e-20 whose squares underflow float32 (the gradient lab uses float64,
    which MPS lacks; scaling works on every device)."""
    scale = grad.detach().abs().amax()
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    return torch.linalg.vector_norm(grad.detach() / safe) * scale


def race_threads(config: RaceConfig, device: torch.device) -> int | None:
    """The intra-op threads a race uses on the CPU: one for He et al.'s CIFAR networks, whose
    convolutions of 16-64 channels at 16 px are too small to split (measured on the default race,
    AMD EPYC Zen 4, 2 cores, load average 2-4: 17.8 s wall and 11.4 s CPU on one thread, 123 s and
    125 s on torch's two, which mostly wait for each other); None (torch's own) otherwise."""
    if device.type == "cpu" and all(MEMBERS[name].stem == "cifar" for name in config.networks):
        return 1
    return None


@contextmanager
def cpu_threads(count: int | None) -> Iterator[None]:
    """``torch.set_num_threads(count)`` inside (nothing for None), the calling thread's count restored
    afterwards (the window's jobs set their own per worker)."""
    saved = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


@contextmanager
def fp32_math() -> Iterator[None]:
    """Full fp32 for the convolutions and matmuls inside (PyTorch's default, pinned): oneDNN may
    otherwise be allowed to compute fp32 in bf16 on CPUs that have it. The settings are the process's;
    they are restored afterwards."""
    mkldnn = torch.backends.mkldnn
    saved = mkldnn.conv.fp32_precision, mkldnn.matmul.fp32_precision
    mkldnn.conv.fp32_precision = mkldnn.matmul.fp32_precision = "ieee"
    try:
        yield
    finally:
        mkldnn.conv.fp32_precision, mkldnn.matmul.fp32_precision = saved


class Lane:
    """One network of the race with its own optimiser. Internal to the core (and its benchmark)."""

    def __init__(self, label: str, net: ResNet, config: RaceConfig) -> None:
        self.label = label
        self.net = net
        self.clip = config.clip
        self.optimizer = MomentumSGD(net.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)

    def train_step(self, x: torch.Tensor, y: torch.Tensor, lr: float) -> torch.Tensor:
        """One SGD step on the batch; returns ``[loss, accuracy, stem gradient norm]`` as a tensor on
        the device (no synchronisation here: the caller reads both lanes at once)."""
        self.optimizer.lr = lr
        self.net.train()  # BN uses batch statistics (and updates its running ones) while training
        logits = self.net(x)  # (B, classes)
        loss = F.cross_entropy(logits, y)
        self.optimizer.zero_grad()
        loss.backward()
        stem = stem_grad_norm(self.net.conv1.weight.grad)  # before clipping and step(): the loss's own gradient
        if self.clip:
            # A bad batch early on can send one step far (a loss spike of 4-16 on the residual ResNet-56
            # at lr 0.05, measured); clipping bounds the step, not the direction.
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.clip)
        self.optimizer.step()
        accuracy = (logits.detach().argmax(dim=1) == y).float().mean()
        return torch.stack([loss.detach(), accuracy, stem])

    @torch.no_grad()
    def recalibrate(self, xs: list[torch.Tensor]) -> None:
        """Re-estimate every BN layer's running statistics with the final weights, as the plain average
        over the batches ``xs`` (PreciseBN, Wu & Johnson 2021). After a few dozen steps the running
        averages (momentum 0.1) still mix statistics of weights long gone: measured on the default
        race, the residual network's validation accuracy was 30% with them and 72% after this."""
        norms = [m for m in self.net.modules() if isinstance(m, nn.BatchNorm2d)]
        momenta = [m.momentum for m in norms]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative moving average: each batch counts equally
        self.net.train()
        for x in xs:
            self.net(x)
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum

    @torch.no_grad()
    def accuracy(self, x: torch.Tensor, y: torch.Tensor) -> float | None:
        """Top-1 accuracy on ``x`` in eval mode (BN's running statistics); None for no images."""
        if len(y) == 0:
            return None
        self.net.eval()
        correct = sum(
            (self.net(x[i:i + VALIDATION_BATCH]).argmax(dim=1) == y[i:i + VALIDATION_BATCH]).sum()
            for i in range(0, len(y), VALIDATION_BATCH)
        )
        return float(correct) / len(y)


def build_lanes(config: RaceConfig, num_classes: int, device: torch.device) -> list[Lane]:
    """The runs of :func:`~explorer.core.race.report.planned_runs` (per network, by depth, the residual
    network then its plain twin) on ``device``.

    The plain one is a deep copy of the residual one made right after initialisation (so the weights
    are identical by construction) with ``set_shortcuts(False)`` on every block: each block computes
    ReLU(F(x)), and a convolutional block's projection is unused as well.
    """
    lanes = []
    runs = planned_runs(config)
    for residual_run, plain_run in zip(runs[::2], runs[1::2]):
        residual = build_network(residual_run.arch, num_classes, config.init, config.seed)  # on the CPU: device-free init
        if config.norm == "none":
            residual.set_normalization("none")
        plain = copy.deepcopy(residual)
        plain.set_shortcuts(False)
        lanes += [Lane(residual_run.label, residual.to(device), config), Lane(plain_run.label, plain.to(device), config)]
    return lanes


def run_race(
    config: RaceConfig,
    on_step: OnStep | None = None,
    cancel: Cancel | None = None,
    on_data: Callable[[DataInfo], None] | None = None,
) -> RaceResult:
    """Run the race ``config`` describes; see the module docstring.

    Args:
        on_step: called with a :class:`RaceStep` after every step, on the calling thread (a GUI worker
            forwards it with a signal; it must not block for long, the race waits for it).
        cancel: polled between steps; True stops the race and returns a partial result.
        on_data: called once with the :class:`DataInfo` when the images are loaded and checked, before
            any model is built (the CLI names refused files here, a GUI can size its plots).

    Raises:
        ValueError: an invalid config, an unknown or absent device, or data that cannot be raced
            (:class:`~explorer.core.race.data.DataError`), all before any model is built.
        RuntimeError: from torch, e.g. out of memory.
    """
    validate(config)
    check_data(config)
    start = time.perf_counter()
    device = select_device(config.device)

    def stopped() -> bool:
        return cancel is not None and bool(cancel())

    try:
        data = load_data(config.data, config.image_size, cancel)
    except DataCancelled:
        return _result(config, device, DataInfo(config.data, (), 0, 0), {}, None, start, cancelled=True)
    data = data.to(device)
    stream = batches(data, config.batch, config.seed)  # refuses a batch larger than the data, before building
    info = DataInfo(data.name, data.classes, len(data.train_y), len(data.val_y), data.skipped)
    values: dict[str, list[list[float]]] = {run.label: [] for run in planned_runs(config)}
    if on_data is not None:
        on_data(info)
    if stopped():
        return _result(config, device, info, values, None, start, cancelled=True)
    lanes = build_lanes(config, len(data.classes), device)
    with fp32_math(), cpu_threads(race_threads(config, device)):
        for step in range(config.steps):
            if stopped():
                return _result(config, device, info, values, None, start, cancelled=True)
            x, y = next(stream)
            lr = learning_rate(config, step)
            measured = torch.stack([lane.train_step(x, y, lr) for lane in lanes]).tolist()  # one sync per step
            for lane, row in zip(lanes, measured):
                values[lane.label].append(row)
            if on_step is not None:
                nets = tuple(NetStep(lane.label, *row) for lane, row in zip(lanes, measured))
                on_step(RaceStep(step + 1, config.steps, lr, nets, time.perf_counter() - start))
        if config.norm == "batch":
            calibration = [next(stream)[0] for _ in range(PRECISE_BN_BATCHES)]  # the same images for all
            for lane in lanes:
                lane.recalibrate(calibration)
        validation = {lane.label: lane.accuracy(data.val_x, data.val_y) for lane in lanes}
    return _result(config, device, info, values, validation, start, cancelled=False)


def _device_text(config: RaceConfig, device: torch.device) -> str:
    """The device as the conditions name it, with the CPU's thread count ("cpu, 1 thread")."""
    if device.type != "cpu":
        return str(device)
    threads = race_threads(config, device) or torch.get_num_threads()
    return f"cpu, {threads} thread{'s' if threads != 1 else ''}"


def _result(
    config: RaceConfig,
    device: torch.device,
    info: DataInfo,
    values: dict[str, list[list[float]]],
    validation: dict[str, float | None] | None,
    start: float,
    cancelled: bool,
) -> RaceResult:
    runs = tuple(
        RunCurve(run.label, run.arch, run.shortcuts, *(tuple(row[i] for row in values.get(run.label, [])) for i in range(len(SERIES))))
        for run in planned_runs(config)
    )
    return RaceResult(
        config=config,
        device=str(device),
        data=info,
        runs=runs,
        validation=validation,
        verdict=race_verdict(runs, validation, config.steps, cancelled),
        conditions=conditions(config, _device_text(config, device), info),
        seconds=time.perf_counter() - start,
        cancelled=cancelled,
        standing=race_standing(runs),
        depth=depth_standing(runs),
    )
