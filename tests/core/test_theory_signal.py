"""Signal propagation (explorer.core.theory.signal) against forward hooks on torchvision's ResNet-18
and ResNet-50 with the same weights and images, under batch and frozen statistics, the plain network
against torchvision's blocks without their addition; and the initialisations that start each
branch at zero (explorer.core.network.model) against their definitions and torchvision's
``zero_init_residual``. Small inputs (64 px, batch 2) keep it fast.
"""

from __future__ import annotations

import copy
import math
from dataclasses import replace

import pytest
import torch
import torchvision

from explorer.core.network.model import INITIALIZATIONS, ResNet
from explorer.core.progress import Cancelled
from explorer.core.theory import INITS, TheoryConfig, run_signal
from support import theory_case, torchvision_blocks, torchvision_branch

SIZE = 64
REL = 1e-4


def reference(model: torch.nn.Module, x: torch.Tensor, norm: str, plain: bool = False) -> list[tuple[float, float, float | None]]:
    """(mean_sq, variance, branch variance) of the stem and every block, from forward hooks on a
    torchvision ResNet (a copy: train mode would update its running statistics); ``plain`` replaces
    each block's output by ReLU(branch) (no shortcut)."""
    model = copy.deepcopy(model).to(memory_format=torch.channels_last)  # the lab's layout: a plain
    x = x.contiguous(memory_format=torch.channels_last)  # 50-layer net amplifies another's rounding past 1e-4
    rows: list[tuple[float, float, float | None]] = []
    branch: dict[torch.nn.Module, float] = {}

    def stats(y: torch.Tensor) -> tuple[float, float]:
        y = y.double()
        return ((y.mean(dim=(0, 2, 3)) ** 2).mean().item(), y.var(dim=(0, 2, 3), unbiased=False).mean().item())

    def on_block(block: torch.nn.Module, args: tuple[torch.Tensor], out: torch.Tensor) -> torch.Tensor | None:
        if plain:
            out = block.relu(torchvision_branch(block, args[0]))
        rows.append((*stats(out), branch[block]))
        return out if plain else None

    handles = [model.maxpool.register_forward_hook(lambda m, i, out: rows.append((*stats(out), None)))]
    for block in torchvision_blocks(model):
        last_bn = block.bn3 if hasattr(block, "bn3") else block.bn2
        handles.append(last_bn.register_forward_hook(lambda m, i, out, block=block: branch.__setitem__(block, stats(out)[1])))
        handles.append(block.register_forward_hook(on_block))
    model.train(norm == "batch")  # train mode normalises with the batch's statistics
    with torch.no_grad():
        model(x)
    return rows


def assert_rows_match(result, expected) -> None:
    assert [b.name for b in result.blocks][:2] == ["stem", "layer1.0"] and len(result.blocks) == len(expected)
    for block, (mean_sq, variance, branch) in zip(result.blocks, expected):
        assert block.mean_sq == pytest.approx(mean_sq, rel=REL), block.name
        assert block.variance == pytest.approx(variance, rel=REL), block.name
        if branch is None:
            assert block.residual_variance is None
        else:
            assert block.residual_variance == pytest.approx(branch, rel=REL), block.name


@pytest.fixture(scope="module", params=["resnet18", "resnet50"])
def case(request, tmp_path_factory):
    return request.param, theory_case(tmp_path_factory.mktemp(request.param), request.param, SIZE)


@pytest.mark.parametrize("norm", ["batch", "frozen"])
def test_statistics_equal_forward_hooks_on_torchvision(case, norm):
    arch, c = case
    config = TheoryConfig(arch=arch, init="weights", weights=str(c.weights), norm=norm, inputs=tuple(map(str, c.images)), size=SIZE)
    result = run_signal(config)
    assert_rows_match(result, reference(c.model, c.x, norm))
    report = result.to_dict()
    assert report.keys() == {"config", "blocks"}
    assert all(row.keys() == {"name", "mean_sq", "variance", "residual_variance"} for row in report["blocks"])
    assert report["config"]["batch"] == 2 and report["config"]["device"] == "cpu"


def test_plain_network_equals_torchvision_blocks_without_their_addition(case):
    arch, c = case
    config = TheoryConfig(arch=arch, init="weights", weights=str(c.weights), inputs=tuple(map(str, c.images)), size=SIZE, shortcuts=False)
    residual, plain = run_signal(replace(config, shortcuts=True)), run_signal(config)
    assert_rows_match(plain, reference(c.model, c.x, "batch", plain=True))
    assert plain.blocks[0] == residual.blocks[0]  # the stem is the same network
    assert plain.label.endswith("plain") and not residual.label.endswith("plain")


def test_progress_ends_at_one_and_cancel_stops_the_run():
    seen: list[float] = []
    run_signal(TheoryConfig(arch="resnet18", size=32), progress=lambda text, fraction: seen.append(fraction))
    assert seen == sorted(seen) and seen[-1] == 1.0
    with pytest.raises(Cancelled):
        run_signal(TheoryConfig(arch="resnet18", size=32), cancel=lambda: True)


# -- the initialisations ------------------------------------------------------------------------------


def test_the_lab_offers_every_initialisation_of_the_model_and_loaded_weights():
    assert INITS == (*INITIALIZATIONS, "weights")


@pytest.mark.parametrize("arch", ["resnet18", "resnet50"])
def test_zero_residual_is_torchvisions_zero_init_residual(arch):
    model = ResNet(arch, init="zero-residual", seed=0)
    ours = model.state_dict()
    theirs = getattr(torchvision.models, arch)(zero_init_residual=True).state_dict()
    assert ours.keys() == theirs.keys()
    zeros = lambda state: {k for k, v in state.items() if k.endswith(".weight") and not v.any()}  # noqa: E731
    assert zeros(ours) == zeros(theirs) and len(zeros(ours)) == len(model.blocks())
    he = ResNet(arch, init="he", seed=0).state_dict()
    assert all(torch.equal(ours[k], he[k]) for k in ours if k not in zeros(ours))


@pytest.mark.parametrize("arch", ["resnet18", "resnet50"])
def test_fixup_scales_the_branches_and_zeroes_their_last_layer_and_the_fc(arch):
    fixup, he = ResNet(arch, init="fixup", seed=0), ResNet(arch, init="he", seed=0)
    blocks = he.blocks()
    m = 2 if arch == "resnet18" else 3
    scale = len(blocks) ** (-1 / (2 * m - 2))  # Zhang et al. 2019: L^(-1/(2m-2))
    for name in blocks:
        convs = [f"{name}.conv{i}.weight" for i in range(1, m + 1)]
        for key in convs[:-1]:
            torch.testing.assert_close(fixup.state_dict()[key], he.state_dict()[key] * scale, rtol=1e-6, atol=0)
        assert not fixup.state_dict()[convs[-1]].any()
    assert not fixup.fc.weight.any() and not fixup.fc.bias.any()
    torch.testing.assert_close(fixup.conv1.weight, he.conv1.weight, rtol=0, atol=0)
    assert fixup.state_dict().keys() == he.state_dict().keys()
    # Every branch adds nothing at first: without normalisation each block passes its shortcut on.
    fixup.set_normalization("none")
    x = torch.randn(2, 3, 32, 32)
    h = fixup.maxpool(fixup.relu(fixup.conv1(x)))
    block = fixup.layer1[0]
    torch.testing.assert_close(block(h), block.out_act(block.shortcut(h)))


def test_skipinit_adds_a_learnable_zero_scalar_per_branch_and_removes_it_again():
    model = ResNet("resnet18", init="skipinit", seed=0)
    gains = {n: p for n, p in model.named_parameters() if n.endswith("skip_gain")}
    assert set(gains) == {f"{b}.skip_gain" for b in model.blocks()} and all(p.item() == 0.0 and p.requires_grad for p in gains.values())
    x = torch.randn(2, 64, 8, 8)
    block = model.layer1[0]
    torch.testing.assert_close(block(x), torch.relu(x))  # F(x) * 0 + x through the last ReLU
    block.skip_gain.data.fill_(0.5)
    torch.testing.assert_close(block(x), torch.relu(0.5 * torchvision_branch_of(block, x) + x))
    block(x).sum().backward()
    assert block.skip_gain.grad is not None and math.isfinite(block.skip_gain.grad.item())
    model.initialize("he", seed=0)
    assert not any(n.endswith("skip_gain") for n, _ in model.named_parameters())
    assert model.state_dict().keys() == ResNet("resnet18").state_dict().keys()


def torchvision_branch_of(block, x: torch.Tensor) -> torch.Tensor:
    """Our BasicBlock's branch, written out from its layers (without the scalar)."""
    return block.bn2(block.conv2(block.act1(block.bn1(block.conv1(x)))))


def test_branches_that_start_at_zero_carry_no_variance_at_first():
    for init, norm in (("zero-residual", "batch"), ("fixup", "none")):
        result = run_signal(TheoryConfig(arch="resnet18", init=init, norm=norm, size=32))
        assert all(b.residual_variance == 0.0 for b in result.blocks[1:]), init
    skipinit = run_signal(TheoryConfig(arch="resnet18", init="skipinit", size=64))  # 2x2 positions at layer4: eps stays small
    # Before the scalar the branch still computes: the BN output has unit variance per channel.
    assert all(b.residual_variance == pytest.approx(1.0, rel=1e-3) for b in skipinit.blocks[1:])


def test_fixup_without_normalisation_only():
    from explorer.core.theory import validate

    with pytest.raises(ValueError, match="use norm none"):
        validate(TheoryConfig(init="fixup", norm="batch"))
