"""The race's default recipe (He et al.'s CIFAR ResNet-56 at 16 px, warm-up, gradient clipping checked
against ``torch.autograd.grad``, fp32 pinned while training) and the depth race (He et al. 2015,
Fig. 6): four runs on the same batches, twins from the same weights, the verdict on degradation
computed from the numbers, and the JSON. Tiny races (batch 4, a few steps); nothing is timed.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from explorer.core.network.model import ResNet
from explorer.core.race import train
from explorer.core.race.config import RaceConfig, min_size
from explorer.core.race.data import batches, load_digits
from explorer.core.race.report import PLAIN, RESIDUAL, RaceStep, RunCurve, planned_runs, to_json_dict
from explorer.core.race.train import Lane, build_lanes, run_race
from explorer.core.race.verdict import depth_standing, race_verdict

SMALL = RaceConfig(network="resnet20", steps=2, batch=4, device="cpu")  # the smallest CIFAR network, at its 16 px


# -- the default recipe, clipping, fp32 ---------------------------------------------------------------


def test_the_default_race_is_resnet56_against_plain_56_at_16_px():
    config = RaceConfig()
    assert (config.network, config.image_size, config.depths, min_size(config)) == ("resnet56", 16, (), 8)
    result = run_race(replace(config, steps=1, batch=4, device="cpu"))
    assert [(r.label, r.arch, r.shortcuts) for r in result.runs] == [(RESIDUAL, "resnet56", True), (PLAIN, "resnet56", False)]
    for words in ("ResNet-56 residual vs plain, digits", "at 16x16", "gradients clipped to norm 1", "fp32"):
        assert words in result.conditions, words


def test_a_clipped_step_moves_the_weights_by_lr_times_the_clipped_gradient():
    config = replace(SMALL, weight_decay=0.0, clip=0.05)
    x, y = next(batches(load_digits(SMALL.image_size), SMALL.batch, SMALL.seed))
    x = x.double()  # in float64 the weights' differences keep their bits (in fp32 a BN weight of 1 loses moves below 1e-7)
    net = ResNet("resnet20", 10, "he", seed=0).double().train()
    reference = copy.deepcopy(net)
    grads = torch.autograd.grad(F.cross_entropy(reference(x), y), list(reference.parameters()))
    norm = torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))
    assert norm > 2 * config.clip  # the clip bites
    before = [p.detach().clone() for p in net.parameters()]
    Lane(RESIDUAL, net, config).train_step(x, y, lr=0.1)
    moves = [old - new.detach() for old, new in zip(before, net.parameters())]
    assert torch.linalg.vector_norm(torch.stack([m.norm() for m in moves])).item() == pytest.approx(0.1 * config.clip, rel=1e-4)
    for move, grad in zip(moves, grads):  # SGD's first step: momentum buffer = gradient
        torch.testing.assert_close(move, 0.1 * grad * config.clip / norm, rtol=1e-6, atol=1e-13)


def test_training_pins_fp32_and_restores_the_setting_afterwards():
    mkldnn = torch.backends.mkldnn
    saved = mkldnn.conv.fp32_precision, mkldnn.matmul.fp32_precision
    mkldnn.conv.fp32_precision = mkldnn.matmul.fp32_precision = "bf16"  # as a CPU with native bf16 may be told
    try:
        seen: list[tuple[str, str]] = []
        run_race(SMALL,
                 on_step=lambda _: seen.append((mkldnn.conv.fp32_precision, mkldnn.matmul.fp32_precision)))
        assert seen == [("ieee", "ieee")] * 2
        assert (mkldnn.conv.fp32_precision, mkldnn.matmul.fp32_precision) == ("bf16", "bf16")
    finally:
        mkldnn.conv.fp32_precision, mkldnn.matmul.fp32_precision = saved


def test_cifar_races_train_on_one_cpu_thread_and_restore_the_count():
    saved = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen: list[int] = []
        result = run_race(SMALL, on_step=lambda _: seen.append(torch.get_num_threads()))
        assert seen == [1, 1] and torch.get_num_threads() == 2 and result.conditions.endswith("; cpu, 1 thread")
        imagenet = run_race(replace(SMALL, network="resnet18", size=32, steps=1), on_step=lambda _: seen.append(torch.get_num_threads()))
        assert seen[-1] == 2 and imagenet.conditions.endswith("; cpu, 2 threads")  # an ImageNet member: torch's own
    finally:
        torch.set_num_threads(saved)


# -- the depth race (He et al. Fig. 6) ----------------------------------------------------------------

DEPTHS = RaceConfig(depths=("resnet56", "resnet20"), steps=2, batch=4, device="cpu")  # given deepest first: raced by depth
DEPTH_RUNS = [("residual-20", "resnet20", True), ("plain-20", "resnet20", False),
              ("residual-56", "resnet56", True), ("plain-56", "resnet56", False)]


def test_a_depth_race_trains_each_network_plain_and_residual_on_the_same_batches(monkeypatch):
    inputs: list[tuple[str, bool, torch.Tensor]] = []
    build = train.build_network

    def instrumented(*args, **kwargs):
        net = build(*args, **kwargs)

        def record(module, args):
            if torch.is_grad_enabled():
                inputs.append((module.spec.name, module.blocks()["layer1.0"].shortcut_enabled, args[0].clone()))

        net.register_forward_pre_hook(record)
        return net

    monkeypatch.setattr(train, "build_network", instrumented)
    steps: list[RaceStep] = []
    result = run_race(DEPTHS, on_step=steps.append)
    assert [(r.label, r.arch, r.shortcuts) for r in result.runs] == DEPTH_RUNS
    assert [(r.label, r.arch, r.shortcuts) for r in planned_runs(DEPTHS)] == DEPTH_RUNS
    assert [n.label for n in steps[0].nets] == [label for label, _, _ in DEPTH_RUNS] and len(steps) == 2
    assert [(arch, on) for arch, on, _ in inputs] == [(arch, on) for _, arch, on in DEPTH_RUNS] * 2
    for step in range(2):
        batch = [x for _, _, x in inputs[4 * step:4 * step + 4]]
        assert all(torch.equal(x, batch[0]) for x in batch)
    assert list(result.validation) == [label for label, _, _ in DEPTH_RUNS]
    assert result.conditions.startswith("ResNet-20, ResNet-56, each residual and plain, digits") and "16x16" in result.conditions
    assert result.verdict.startswith("After 2 steps (training loss and batch accuracy over the last 1 step) plain-56 ")
    document = json.loads(json.dumps(to_json_dict(result), allow_nan=False))
    assert [(r["label"], r["arch"], r["shortcuts"]) for r in document["runs"]] == DEPTH_RUNS
    assert list(document["depth"]) == ["plain", "residual", "degradation", "residual_avoids_it", "shortcuts_shrink_it"]
    assert list(document["depth"]["plain"]) == ["shallower", "deeper", "leader", "measures_agree", "loss_ratio", "accuracy_drop"]
    assert document["depth"]["plain"]["shallower"] == "plain-20" and document["depth"]["residual"]["deeper"] == "residual-56"
    assert document["leader"] in ("residual", "plain", "level")


def test_each_depth_starts_its_twins_from_the_same_weights():
    lanes = build_lanes(DEPTHS, 10, torch.device("cpu"))
    assert [lane.label for lane in lanes] == [label for label, _, _ in DEPTH_RUNS]
    for residual, plain in (lanes[0:2], lanes[2:4]):
        a, b = residual.net.state_dict(), plain.net.state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a)
        assert all(b.shortcut_enabled for b in residual.net.blocks().values())
        assert not any(b.shortcut_enabled for b in plain.net.blocks().values())
    fresh = ResNet("resnet56", 10, "he", seed=DEPTHS.seed)
    assert all(torch.equal(v, fresh.state_dict()[k]) for k, v in lanes[2].net.state_dict().items())


def _depth_curves(**final: tuple[float, float]) -> tuple[RunCurve, ...]:
    """Four runs of 10 steps, each ending at the (loss, accuracy) given by its label (plain_20=...)."""
    runs = []
    for label, arch, on in DEPTH_RUNS:
        loss, accuracy = final[label.replace("-", "_")]
        runs.append(RunCurve(label, arch, on, (2.3,) * 8 + (loss,) * 2, (0.1,) * 8 + (accuracy,) * 2, (1.0,) * 10))
    return tuple(runs)


@pytest.mark.parametrize(
    "final,words,degradation,avoids,shrinks",
    [
        ({"plain_20": (0.9, 0.7), "plain_56": (2.2, 0.1), "residual_20": (0.85, 0.72), "residual_56": (0.83, 0.74)},
         ["plain-56 trains worse than plain-20 (plain-56: loss 2.2, accuracy 10%; plain-20: loss 0.9, accuracy 70%): "
          "the degradation problem.", "residual-56 is level with residual-20", "the residual networks avoid it.",
          "At 56 layers the residual network is ahead"], True, True, True),
        ({"plain_20": (0.9, 0.7), "plain_56": (2.2, 0.1), "residual_20": (0.6, 0.8), "residual_56": (1.5, 0.4)},
         ["the degradation problem.", "residual-56 trains worse than residual-20", "do not avoid it here."], True, False, False),
        ({"plain_20": (0.9, 0.7), "plain_56": (2.2, 0.1), "residual_20": (0.8, 0.77), "residual_56": (0.96, 0.7)},
         ["the degradation problem.", "residual-56 trains worse than residual-20 (residual-56: loss 0.96, accuracy 70%; "
          "residual-20: loss 0.8, accuracy 77%), but depth costs it less than the plain network (loss x1.20 against x2.44, "
          "7 against 60 accuracy points): the shortcuts shrink the gap without closing it here."], True, False, True),
        ({"plain_20": (0.9, 0.7), "plain_56": (0.91, 0.71), "residual_20": (0.6, 0.8), "residual_56": (0.5, 0.9)},
         ["plain-56 is level with plain-20", "no degradation in this race.", "residual-56 trains better than residual-20",
          "the deeper residual network is not behind either."], False, True, True),
    ],
)
def test_depth_verdict_speaks_of_degradation_as_measured(final, words, degradation, avoids, shrinks):
    runs = _depth_curves(**final)
    text = race_verdict(runs, {label: 0.5 for label, _, _ in DEPTH_RUNS}, 10, cancelled=False)
    for part in words:
        assert part in text, (part, text)
    assert text.endswith("Validation accuracy: residual-20 50%, plain-20 50%, residual-56 50%, plain-56 50%.")
    depth = depth_standing(runs)
    assert (depth.degradation, depth.residual_avoids_it, depth.shortcuts_shrink_it) == (degradation, avoids, shrinks)
    assert depth.plain.loss_ratio == pytest.approx(final["plain_56"][0] / final["plain_20"][0])
    assert depth.residual.accuracy_drop == pytest.approx(final["residual_20"][1] - final["residual_56"][1])
