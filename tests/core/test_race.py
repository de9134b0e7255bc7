"""The training race (explorer.core.race): determinism, identical batches and initial weights, a plain
twin with no shortcut anywhere (checked against a hand-built forward), the first step against
``torch.autograd.grad``, cancellation, image folders with bad files, the validation split, the verdict
with its leader, and the JSON/CSV schema. Tiny sizes (32x32, batch 4, a few steps) keep it fast;
nothing is timed. The default recipe and the depth race: test_race_recipe.py.
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import replace
from importlib.resources import files

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from explorer.core.network.model import ResNet, ResNet50
from explorer.core.race import data as race_data
from explorer.core.race import train
from explorer.core.race.config import RaceConfig, check_data, validate
from explorer.core.race.data import DIGITS_FILE, PARSE_LINES, DataError, RaceData, batches, digits_table, load_digits, load_folder, split_indices
from explorer.core.race.report import (
    CSV_FIELDS,
    PLAIN,
    RESIDUAL,
    DataInfo,
    RaceResult,
    RaceStep,
    RunCurve,
    csv_rows,
    to_json_dict,
)
from explorer.core.race.train import build_lanes, learning_rate, run_race, stem_grad_norm
from explorer.core.race.verdict import race_standing, race_verdict
from support import image_folder

# ResNet-50 at 32 px, the ImageNet member the race was first written for; the default race (ResNet-56)
# and the depth race have tests of their own (test_race_recipe.py).
TINY = RaceConfig(network="resnet50", size=32, steps=3, batch=4, lr=0.01, warmup=5, clip=0.0, device="cpu")


@pytest.fixture(scope="module")
def tiny_run() -> tuple[RaceResult, list[RaceStep], list[DataInfo]]:
    steps: list[RaceStep] = []
    infos: list[DataInfo] = []
    return run_race(TINY, on_step=steps.append, on_data=infos.append), steps, infos


@pytest.fixture(scope="module")
def tiny_result(tiny_run) -> RaceResult:
    return tiny_run[0]


def _forbid_building(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("a model was built")

    monkeypatch.setattr(train, "build_network", refuse)


# -- determinism, batches, weights ----------------------------------------------------------------


def test_same_seed_gives_the_same_numbers_and_another_seed_does_not(tiny_result):
    again = run_race(TINY)
    assert again.runs == tiny_result.runs and again.validation == tiny_result.validation
    other = run_race(replace(TINY, seed=1, steps=1))
    assert other.run(RESIDUAL).loss[0] != tiny_result.run(RESIDUAL).loss[0]


def test_result_shape_and_plain_values(tiny_result):
    assert [r.label for r in tiny_result.runs] == [RESIDUAL, PLAIN]
    for run in tiny_result.runs:
        for series in (run.loss, run.accuracy, run.stem_grad):
            assert len(series) == 3 and all(type(v) is float for v in series)
        assert all(0.0 <= a <= 1.0 for a in run.accuracy)
    assert set(tiny_result.validation) == {RESIDUAL, PLAIN}
    assert tiny_result.data == DataInfo("digits", tuple("0123456789"), 1618, 179)
    assert tiny_result.device == "cpu" and not tiny_result.cancelled and tiny_result.steps_done == 3
    assert "ResNet-50" in tiny_result.conditions and "seed 0" in tiny_result.conditions


def test_both_networks_see_identical_batches_in_the_seeded_order(monkeypatch):
    """Instrumented: every training forward records its input and every loss its labels."""
    events: list[tuple[str, torch.Tensor]] = []
    build = train.build_network

    def instrumented(*args, **kwargs):
        net = build(*args, **kwargs)

        def record(module, inputs):
            if torch.is_grad_enabled():  # training steps only (recalibration and validation run without grad)
                plain = not any(b.shortcut_enabled for b in module.blocks().values())
                events.append((PLAIN if plain else RESIDUAL, inputs[0].clone()))

        net.register_forward_pre_hook(record)  # deep-copied with the model: the plain twin records too
        return net

    cross_entropy = F.cross_entropy

    def spy(logits, target, *args, **kwargs):
        events.append(("labels", target.clone()))
        return cross_entropy(logits, target, *args, **kwargs)

    monkeypatch.setattr(train, "build_network", instrumented)
    monkeypatch.setattr(F, "cross_entropy", spy)
    config = replace(TINY, steps=2)
    run_race(config)
    assert [kind for kind, _ in events] == [RESIDUAL, "labels", PLAIN, "labels"] * 2
    expected = batches(load_digits(config.image_size), config.batch, config.seed)
    for step in range(2):
        x, y = next(expected)
        (_, x_res), (_, y_res), (_, x_plain), (_, y_plain) = events[4 * step:4 * step + 4]
        assert torch.equal(x_res, x) and torch.equal(x_plain, x)
        assert torch.equal(y_res, y) and torch.equal(y_plain, y)


def test_twins_start_from_identical_but_separate_weights():
    residual, plain = (lane.net for lane in build_lanes(TINY, 10, torch.device("cpu")))
    a, b = residual.state_dict(), plain.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert all(a[k].data_ptr() != b[k].data_ptr() for k in a)  # training one cannot move the other
    fresh = ResNet50(num_classes=10, init="he", seed=TINY.seed)  # the seed alone fixes the weights
    assert all(torch.equal(v, fresh.state_dict()[k]) for k, v in a.items())


def _hand_built_plain_forward(net: ResNet, x: torch.Tensor) -> torch.Tensor:
    """The plain network written out: every block is ReLU(BN(conv(...))) two (basic) or three
    (bottleneck) times, nothing added."""

    def cbr(conv, bn, h, relu=True):
        h = F.batch_norm(conv(h), bn.running_mean, bn.running_var, bn.weight, bn.bias, training=False, eps=bn.eps)
        return F.relu(h) if relu else h

    h = F.max_pool2d(cbr(net.conv1, net.bn1, x), 3, stride=2, padding=1)
    for block in net.blocks().values():
        h = cbr(block.conv1, block.bn1, h)
        h = cbr(block.conv2, block.bn2, h)
        if hasattr(block, "conv3"):
            h = cbr(block.conv3, block.bn3, h)
    return net.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))


@pytest.mark.parametrize("network", ["resnet50", "resnet18"])
def test_plain_twin_has_no_shortcut_anywhere(network):
    config = replace(TINY, network=network)
    residual, plain = (lane.net.eval() for lane in build_lanes(config, 10, torch.device("cpu")))
    assert residual.spec.name == network
    assert all(b.shortcut_enabled for b in residual.blocks().values())
    assert not any(b.shortcut_enabled for b in plain.blocks().values())
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(plain(x), _hand_built_plain_forward(plain, x), atol=1e-5)
        assert not torch.allclose(residual(x), _hand_built_plain_forward(residual, x), atol=1e-3)
        # The projections are dead weight in the plain twin and live in the residual network.
        before_plain, before_residual = plain(x), residual(x)
        for net in (plain, residual):
            for block in net.blocks().values():
                if block.downsample is not None:
                    block.downsample[0].weight.normal_()
        assert torch.equal(plain(x), before_plain)
        assert not torch.allclose(residual(x), before_residual)


def test_first_step_equals_autograd_on_an_independent_copy(tiny_result):
    x, y = next(batches(load_digits(TINY.image_size), TINY.batch, TINY.seed))
    for label in (RESIDUAL, PLAIN):
        net = ResNet50(num_classes=10, init="he", seed=TINY.seed).train()
        net.set_shortcuts(label == RESIDUAL)
        logits = net(x)
        loss = F.cross_entropy(logits, y)
        (grad,) = torch.autograd.grad(loss, [net.conv1.weight])
        run = tiny_result.run(label)
        assert run.loss[0] == pytest.approx(loss.item(), rel=1e-5)
        assert run.stem_grad[0] == pytest.approx(grad.double().norm().item(), rel=1e-4)
        assert run.accuracy[0] == (logits.argmax(1) == y).float().mean().item()


def test_any_member_of_the_family_races_and_is_named():
    result = run_race(replace(TINY, network="resnet34", steps=1))
    assert result.conditions.startswith("ResNet-34 residual vs plain")
    assert all(len(run.loss) == 1 and math.isfinite(run.loss[0]) for run in result.runs)


def test_without_normalisation_the_plain_stem_gradient_vanishes():
    result = run_race(replace(TINY, steps=1, norm="none"))
    plain, residual = result.run(PLAIN).stem_grad[0], result.run(RESIDUAL).stem_grad[0]
    assert 0 < plain < 1e-6 * residual


def test_stem_gradient_norm_survives_tiny_values():
    grad = torch.full((64, 3, 7, 7), 3e-21)
    assert stem_grad_norm(grad).item() == pytest.approx(grad.double().norm().item(), rel=1e-5)
    assert stem_grad_norm(torch.zeros(4)).item() == 0.0


def test_warm_up_rises_linearly_then_holds():
    config = replace(TINY, lr=0.06, warmup=2)
    assert [learning_rate(config, s) for s in range(4)] == pytest.approx([0.02, 0.04, 0.06, 0.06])
    assert learning_rate(replace(config, warmup=0), 0) == 0.06


@pytest.fixture
def one_thread_ieee_fp32():
    """The same numbers on every run on a machine: one thread (no reduction split between threads, and
    no thread count left behind by an earlier test) and full-precision fp32 matmuls."""
    threads, matmul = torch.get_num_threads(), torch.get_float32_matmul_precision()
    torch.set_num_threads(1)
    torch.set_float32_matmul_precision("highest")
    yield
    torch.set_num_threads(threads)
    torch.set_float32_matmul_precision(matmul)


def test_a_tiny_overfit_set_loss_falls(tmp_path, one_thread_ieee_fp32):
    folder = image_folder(tmp_path / "data", {"red": 3, "blue": 3})  # 2 per class train, 1 validation
    result = run_race(replace(TINY, data=str(folder), steps=12, batch=4, lr=0.01, warmup=2))
    for label in (RESIDUAL, PLAIN):
        loss = result.run(label).loss
        assert sum(loss[-3:]) / 3 < 0.5 * sum(loss[:3]) / 3, (label, loss)


# -- cancellation -----------------------------------------------------------------------------------


def test_cancel_stops_between_steps_and_returns_what_was_done():
    seen: list[int] = []
    result = run_race(replace(TINY, steps=5), on_step=lambda s: seen.append(s.step), cancel=lambda: len(seen) >= 2)
    assert seen == [1, 2] and result.cancelled and result.steps_done == 2
    assert result.validation is None and "cancelled; 5 planned" in result.verdict
    assert all(len(r.loss) == 2 for r in result.runs)


def test_cancel_before_the_first_step_builds_no_model(monkeypatch):
    _forbid_building(monkeypatch)
    result = run_race(TINY, cancel=lambda: True)
    assert result.cancelled and result.steps_done == 0 and result.verdict.startswith("Cancelled before the first step")


def test_progress_reports_every_step_as_plain_values(tiny_run):
    result, steps, infos = tiny_run
    assert [(s.step, s.steps) for s in steps] == [(1, 3), (2, 3), (3, 3)]
    assert [n.label for n in steps[0].nets] == [RESIDUAL, PLAIN] and steps[0].lr == learning_rate(TINY, 0)
    assert steps[2].seconds >= steps[0].seconds > 0 and type(steps[0].net(PLAIN).loss) is float
    assert [s.net(PLAIN).loss for s in steps] == list(result.run(PLAIN).loss)
    assert infos == [result.data]


# -- data -----------------------------------------------------------------------------------------


def test_folder_with_a_bad_image_refuses_it_by_name_and_trains_on_the_rest(tmp_path):
    folder = image_folder(tmp_path / "data", {"cats": 3, "dogs": 3}, bad={"dogs/broken.jpg": "not an image"})
    result = run_race(replace(TINY, data=str(folder), steps=1, batch=2))
    assert result.data.classes == ("cats", "dogs") and result.data.train + result.data.validation == 6
    (line,) = result.data.skipped
    assert line.startswith(str(folder / "dogs" / "broken.jpg") + ":") and "\n" not in line
    assert result.steps_done == 1


def test_folder_without_two_readable_classes_is_refused_before_building(tmp_path, monkeypatch):
    _forbid_building(monkeypatch)
    folder = image_folder(tmp_path / "data", {"only": 3}, bad={"empty/broken.png": "x"})
    with pytest.raises(DataError, match="at least two class subfolders"):
        run_race(replace(TINY, data=str(folder)))
    with pytest.raises(DataError, match="batch 8 is larger than its 4 training images"):
        run_race(replace(TINY, data=str(image_folder(tmp_path / "two", {"a": 3, "b": 3})), batch=8))
    with pytest.raises(ValueError, match="no such folder"):
        run_race(replace(TINY, data=str(tmp_path / "missing")))


def test_unavailable_device_is_refused_before_building(monkeypatch):
    _forbid_building(monkeypatch)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="not available"):
        run_race(replace(TINY, device="cuda"))


def test_digits_are_standardised_and_split_per_class():
    data = load_digits(32)
    assert data.train_x.shape == (1618, 3, 32, 32) and data.val_x.shape == (179, 3, 32, 32)
    assert abs(data.train_x.mean().item()) < 1e-4 and data.train_x.std().item() == pytest.approx(1.0, abs=1e-3)
    assert torch.equal(data.train_x[:, 0], data.train_x[:, 2])  # grey, repeated over three channels
    assert set(data.val_y.tolist()) == set(range(10)) == set(data.train_y.tolist())


def test_the_digits_table_parsed_in_pieces_is_the_whole_file_parsed_at_once():
    whole = np.loadtxt(gzip.decompress(files("explorer.resources").joinpath(DIGITS_FILE).read_bytes()).decode("ascii").splitlines(),
                       delimiter=",", dtype=np.float32)
    table = digits_table()
    assert table.shape == (1797, 65) and PARSE_LINES < len(table) and np.array_equal(table, whole)


def test_the_digits_are_read_once_and_each_caller_gets_a_table_of_its_own(monkeypatch):
    first = digits_table()
    first[0, 0] = -1.0  # a caller's change stays its own

    def unreadable(*_: object) -> None:
        raise AssertionError("the digits file was read again")

    monkeypatch.setattr(race_data, "files", unreadable)
    second = digits_table()
    assert second[0, 0] != -1.0 and second.shape == first.shape


def test_validation_split_is_disjoint_deterministic_and_covers_every_class():
    labels = torch.tensor([0] * 20 + [1] * 7 + [2] * 2 + [3])
    train_idx, val_idx = split_indices(labels)
    assert not set(train_idx.tolist()) & set(val_idx.tolist())
    assert sorted(train_idx.tolist() + val_idx.tolist()) == list(range(len(labels)))
    assert [int((labels[val_idx] == c).sum()) for c in range(4)] == [2, 1, 1, 0]  # 10%, at least one, none of one
    again = split_indices(labels)
    assert torch.equal(again[0], train_idx) and torch.equal(again[1], val_idx)


def test_folder_split_is_disjoint(tmp_path):
    data = load_folder(image_folder(tmp_path / "data", {"a": 10, "b": 10}), 32)
    train_rows = {tuple(x.flatten().tolist()) for x in data.train_x}
    assert not any(tuple(x.flatten().tolist()) in train_rows for x in data.val_x)
    assert (len(data.train_y), len(data.val_y)) == (18, 2)


def test_batches_are_full_seeded_and_each_epoch_a_permutation():
    ids = torch.arange(10)
    data = RaceData("ids", ("a", "b"), ids.float().reshape(10, 1, 1, 1), ids % 2, ids[:0].float(), ids[:0])
    stream = batches(data, 3, seed=3)
    for _ in range(2):  # two epochs: 3 full batches each, the tenth image left out
        epoch = [next(stream) for _ in range(3)]
        seen = torch.cat([x.flatten() for x, _ in epoch]).long()
        assert all(len(y) == 3 for _, y in epoch) and len(set(seen.tolist())) == 9
        assert all(torch.equal(y, x.flatten().long() % 2) for x, y in epoch)  # labels travel with their images
    assert torch.equal(next(batches(data, 3, seed=3))[0], next(batches(data, 3, seed=3))[0])
    assert not torch.equal(next(batches(data, 3, seed=3))[0], next(batches(data, 3, seed=4))[0])


@pytest.mark.parametrize(
    "change,message",
    [
        ({"steps": 0}, "steps"), ({"batch": 1}, "batch"), ({"size": 16}, "size"), ({"lr": 0.0}, "lr must be above 0"),
        ({"lr": math.nan}, "lr"), ({"norm": "frozen"}, "norm"), ({"network": "resnet51"}, "unknown network 'resnet51'.*resnet18"),
        ({"clip": -1.0}, "clip must be a number from 0"), ({"network": "resnet56", "size": 4}, "size .*at least 8"),
        ({"depths": ("resnet56",)}, "two or more networks"), ({"depths": ("resnet50", "resnext50_32x4d")}, "different depths"),
        ({"depths": ("resnet20", "resnet50"), "size": 16}, "size .*at least 32"),
    ],
)
def test_invalid_settings_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        validate(replace(TINY, **change))


def test_missing_folder_is_named():
    with pytest.raises(ValueError, match="nowhere: no such folder"):
        check_data(replace(TINY, data="nowhere"))


# -- verdict and schema -----------------------------------------------------------------------------


def _curves(residual: list[float], plain: list[float], accuracy: tuple[float, float] = (0.5, 0.1)) -> tuple[RunCurve, RunCurve]:
    n = len(residual)
    return (RunCurve(RESIDUAL, "resnet50", True, tuple(residual), (accuracy[0],) * n, (1.0,) * n),
            RunCurve(PLAIN, "resnet50", False, tuple(plain), (accuracy[1],) * n, (2.0,) * n))


@pytest.mark.parametrize(
    "residual,plain,accuracy,expected,leader,agree",
    [
        ([2.0] * 8 + [0.3, 0.31], [2.0] * 8 + [1.9, 1.92], (0.6, 0.1), ": the residual network is ahead.", RESIDUAL, True),
        ([2.0] * 10, [1.0] * 10, (0.2, 0.7), ": the plain network is ahead, so the plain network is not behind here.", PLAIN, True),
        ([1.0] * 10, [1.02] * 10, (0.5, 0.52), ": the two are level on both, so the plain network is not behind here.", "level", True),
        ([1.0] * 10, [1.02] * 10, (0.5, 0.1), ": the residual network is ahead on accuracy and level on loss.", RESIDUAL, False),
        ([2.0] * 10, [1.0] * 10, (0.6, 0.1), ": the measures disagree: the plain network has the lower loss, the residual one",
         "level", False),
        ([1.0] * 10, [1.0] * 9 + [math.nan], (0.5, 0.1), "the residual one's 1 (medians", RESIDUAL, True),
        ([math.inf] * 10, [math.nan] * 10, (0.1, 0.1), ": neither loss is finite, so neither network is ahead.", "level", True),
    ],
)
def test_verdict_names_who_is_ahead_as_measured(residual, plain, accuracy, expected, leader, agree):
    runs = _curves(residual, plain, accuracy)
    text = race_verdict(runs, {RESIDUAL: 0.9, PLAIN: 0.25}, 10, cancelled=False)
    assert text.startswith("After 10 steps the plain network's training loss is ") and expected in text
    assert "(medians of the last 2 steps), batch accuracy " in text
    assert text.endswith(". Validation accuracy: residual 90%, plain 25%.")
    # The JSON's leader and measures_agree come from the same numbers as the words.
    document = to_json_dict(RaceResult(TINY, "cpu", DataInfo("digits", ("0", "1"), 8, 2), runs, None, text, "", 1.0,
                                       standing=race_standing(runs)))
    assert (document["leader"], document["measures_agree"]) == (leader, agree)


def test_diverged_plain_network_is_behind():
    text = race_verdict(_curves([1.0] * 10, [1.0] * 9 + [math.nan], (0.5, 0.5)), None, 10, cancelled=False)
    assert "plain network's training loss is not finite (it diverged)" in text
    assert text.endswith(": the residual network is ahead on loss and level on accuracy.")


def test_verdict_of_the_example():
    text = race_verdict(_curves([0.31] * 200, [1.92] * 200), None, 200, cancelled=False)
    assert text.startswith("After 200 steps the plain network's training loss is 1.92, the residual one's 0.31")


def _result(residual: list[float], plain: list[float]) -> RaceResult:
    runs = _curves(residual, plain)
    return RaceResult(TINY, "cpu", DataInfo("digits", ("0", "1"), 8, 2), runs, {RESIDUAL: 1.0, PLAIN: None},
                      race_verdict(runs, None, 2, False), "conditions", 1.5, standing=race_standing(runs))


def test_json_is_strict_and_has_the_documented_keys():
    document = to_json_dict(_result([1.0, math.nan], [math.inf, 2.0]))
    text = json.dumps(document, allow_nan=False)
    assert list(json.loads(text)) == ["config", "runs", "validation", "verdict", "leader", "measures_agree", "seconds"]
    assert document["runs"][0] == {"label": RESIDUAL, "arch": "resnet50", "shortcuts": True, "loss": [1.0, None],
                                   "accuracy": [0.5, 0.5], "stem_grad": [1.0, 1.0]}
    assert (document["config"]["size"], document["config"]["precision"]) == (32, "fp32")
    assert document["runs"][1]["loss"] == [None, 2.0] and document["validation"] == {RESIDUAL: 1.0, PLAIN: None}
    assert document["config"]["device"] == "cpu" and document["config"]["dataset"]["train"] == 8


def test_csv_rows_follow_the_json_names():
    rows = csv_rows(_result([1.0, math.nan], [3.0, 2.0]))
    assert CSV_FIELDS == ("step", "label", "loss", "accuracy", "stem_grad")
    assert rows == [[1, RESIDUAL, "1.0", "0.5", "1.0"], [1, PLAIN, "3.0", "0.1", "2.0"],
                    [2, RESIDUAL, "", "0.5", "1.0"], [2, PLAIN, "2.0", "0.1", "2.0"]]
