"""Veit's paths (explorer.core.theory.paths) against a brute force on torchvision's networks with the
same weights and images: for each subset S of the blocks, torchvision's forward with every block in S
passing only its branch and every other block only its shortcut (the other part detached, so its
value, and the ReLU's mask, stay), and the input gradient of the cross-entropy against the network's
own top-1. All 256 subsets of ResNet-18's 8 blocks; for ResNet-50's 16 blocks, the subsets the run
samples. Also: the path identity, the distribution, progress and cancel.
"""

from __future__ import annotations

import copy
import math
from itertools import combinations

import pytest
import torch
import torch.nn.functional as F

from explorer.core.progress import Cancelled
from explorer.core.theory import TheoryConfig, path_subsets, run_paths
from support import theory_case, torchvision_blocks, torchvision_branch

SIZE = 64
REL = 1e-4


def path_gradient_norms(model: torch.nn.Module, x: torch.Tensor, subsets: list[frozenset[int]]) -> dict[frozenset[int], float]:
    """|d loss / d x| for each subset, by a forward with detached parts (batch statistics: train mode,
    on a copy so the running statistics stay). In the lab's memory layout: at 64 px ResNet-50's last
    stage normalises over 8 values per channel, which float32 resolves to about 1e-3 of float64's
    answer, so another layout's rounding alone moves a path gradient by up to 2e-4."""
    model = copy.deepcopy(model).train().to(memory_format=torch.channels_last)
    x = x.contiguous(memory_format=torch.channels_last)
    blocks = torchvision_blocks(model)

    def forward(x: torch.Tensor, subset: frozenset[int] | None) -> torch.Tensor:
        h = model.maxpool(model.relu(model.bn1(model.conv1(x))))
        for index, block in enumerate(blocks):
            branch = torchvision_branch(block, h)
            shortcut = h if block.downsample is None else block.downsample(h)
            if subset is not None:
                branch, shortcut = (branch, shortcut.detach()) if index in subset else (branch.detach(), shortcut)
            h = block.relu(branch + shortcut)
        return model.fc(torch.flatten(model.avgpool(h), 1))

    with torch.no_grad():
        targets = forward(x, None).argmax(dim=1)
    norms = {}
    for subset in subsets:
        leaf = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(F.cross_entropy(forward(leaf, subset), targets), leaf)
        norms[subset] = torch.linalg.vector_norm(grad, dtype=torch.float64).item()
    return norms


def config_for(arch: str, case, **changes) -> TheoryConfig:
    return TheoryConfig(arch=arch, init="weights", weights=str(case.weights), inputs=tuple(map(str, case.images)), size=SIZE, **changes)


@pytest.fixture(scope="module")
def resnet18(tmp_path_factory):
    case = theory_case(tmp_path_factory.mktemp("paths18"), "resnet18", SIZE)
    return case, run_paths(config_for("resnet18", case))


def test_every_path_of_resnet18_equals_the_brute_force(resnet18):
    case, result = resnet18
    subsets = [frozenset(s) for k in range(9) for s in combinations(range(8), k)]
    assert len(subsets) == 256
    norms = path_gradient_norms(case.model, case.x, subsets)
    for k in range(9):
        expected = sum(v for s, v in norms.items() if len(s) == k) / math.comb(8, k)
        assert result.gradient_by_length[k] == pytest.approx(expected, rel=REL), k
    assert result.exact and result.blocks == 8 and result.subsets == 256


def test_the_path_gradients_add_up_to_autograds_input_gradient(resnet18):
    _, result = resnet18
    assert result.identity_error is not None and result.identity_error < 1e-4


def test_distribution_and_totals(resnet18):
    _, result = resnet18
    assert result.distribution == tuple(math.comb(8, k) / 256 for k in range(9))
    assert sum(result.total_by_length) == pytest.approx(1.0)
    weighted = [math.comb(8, k) * g for k, g in enumerate(result.gradient_by_length)]
    assert list(result.total_by_length) == pytest.approx([w / sum(weighted) for w in weighted], rel=1e-12)
    report = result.to_dict()
    assert report.keys() == {"config", "blocks", "exact", "distribution", "gradient_by_length", "total_by_length", "identity_error"}


def test_resnet50_samples_and_each_sample_equals_the_brute_force(tmp_path):
    case = theory_case(tmp_path, "resnet50", SIZE, seed=1)
    result = run_paths(config_for("resnet50", case, samples=1, seed=3))
    chosen = path_subsets(16, 1, 3)
    assert [len(group) for group in chosen] == [1] * 17 and all(len(s) == k for k, (s,) in enumerate(chosen))
    assert not result.exact and result.identity_error is None and result.subsets == 17
    norms = path_gradient_norms(case.model, case.x, [s for (s,) in chosen])
    assert list(result.gradient_by_length) == pytest.approx([norms[s] for (s,) in chosen], rel=REL)


def test_sampling_is_seeded_distinct_and_exhaustive_where_a_length_has_few_subsets():
    groups = path_subsets(16, 20, 0)
    assert groups == path_subsets(16, 20, 0) and groups != path_subsets(16, 20, 1)
    assert [len(g) for g in groups] == [1, 16, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 16, 1]
    assert all(len(set(g)) == len(g) and all(len(s) == k for s in g) for k, g in enumerate(groups))
    assert sum(map(len, path_subsets(12, 1, 0))) == 2**12  # up to 12 blocks: every subset


def test_progress_cancel_and_the_plain_network():
    seen: list[float] = []
    run_paths(TheoryConfig(arch="resnet18", size=32, norm="frozen"), progress=lambda text, fraction: seen.append(fraction))
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 256
    calls = iter(range(1000))
    with pytest.raises(Cancelled):
        run_paths(TheoryConfig(arch="resnet18", size=32), cancel=lambda: next(calls) > 20)
    with pytest.raises(ValueError, match="shortcuts must be on"):
        run_paths(TheoryConfig(arch="resnet18", size=32, shortcuts=False))


def test_effective_lengths_are_the_shortest_run_holding_the_share():
    from explorer.core.theory.paths import effective_lengths

    totals = [0.0, 0.05, 0.45, 0.45, 0.05]
    assert effective_lengths(totals) == (2, 3) and effective_lengths(totals, share=0.85) == (2, 3)
    assert effective_lengths(totals, share=0.95) == (1, 3)  # as short as (2, 4): the earlier one
    assert effective_lengths([1.0]) == (0, 0) and effective_lengths([0.5, 0.5], share=1.0) == (0, 1)
