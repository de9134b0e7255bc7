"""The effective receptive field (explorer.core.theory.erf) against ``torch.autograd.grad`` through a
forward hook on torchvision's ResNet-18 and ResNet-50 with the same weights and images, every stage;
zero outside the theoretical receptive field (frozen statistics, and no normalisation), not under batch
statistics; ``radius_95`` against a search over radii.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from explorer.core.progress import Cancelled
from explorer.core.theory import ERF_STAGES, TheoryConfig, run_erf
from explorer.core.theory.erf import radius_holding
from support import theory_case

SIZE = 64


def reference_map(model: torch.nn.Module, x: torch.Tensor, stage: str) -> np.ndarray:
    """|d (sum over batch and channels of the centre unit) / d x|, summed over channels and batch, / max."""
    model = copy.deepcopy(model).eval()
    module = model.maxpool if stage == "stem" else getattr(model, stage)
    captured: list[torch.Tensor] = []
    handle = module.register_forward_hook(lambda m, i, out: captured.append(out))
    leaf = x.clone().requires_grad_(True)
    model(leaf)
    handle.remove()
    out = captured[0]
    (grad,) = torch.autograd.grad(out[:, :, out.shape[2] // 2, out.shape[3] // 2].sum(), leaf)
    weights = grad.abs().sum(dim=(0, 1)).double().numpy()
    return weights / weights.max()


def outside_box(result) -> np.ndarray:
    top, left, bottom, right = result.box()
    rows, cols = np.indices(result.map.shape)
    return (rows < top) | (rows > bottom) | (cols < left) | (cols > right)


@pytest.mark.parametrize("arch", ["resnet18", "resnet50"])
def test_maps_equal_autograd_on_torchvision_and_vanish_outside_the_field(tmp_path, arch):
    case = theory_case(tmp_path, arch, SIZE)
    config = TheoryConfig(arch=arch, init="weights", weights=str(case.weights), norm="frozen", inputs=tuple(map(str, case.images)), size=SIZE)
    results = run_erf(config)
    assert [r.stage for r in results] == list(ERF_STAGES)
    for result in results:
        np.testing.assert_allclose(result.map, reference_map(case.model, case.x, result.stage), rtol=1e-4, atol=1e-6, err_msg=result.stage)
        assert result.map.max() == 1.0 and result.size == (SIZE, SIZE)
        assert not result.map[outside_box(result)].any(), result.stage
        assert result.map[~outside_box(result)].any()
    stem, layer1 = results[0], results[1]
    assert (stem.receptive_field, stem.stride, stem.unit) == (11, 4, (8, 8))  # 7x7/2 conv, 3x3/2 pool: 16x16 out
    assert layer1.receptive_field > stem.receptive_field and outside_box(layer1).any()  # still inside the image
    report = results[-1].to_dict()
    assert report.keys() == {"config", "stage", "size", "unit", "receptive_field", "map", "radius_95"}
    assert len(report["map"]) == SIZE and len(report["map"][0]) == SIZE


def test_without_normalisation_the_map_also_vanishes_outside_but_batch_statistics_reach_everywhere():
    unnormalised = run_erf(TheoryConfig(arch="resnet18", norm="none", size=SIZE), ("layer1",))[0]
    assert not unnormalised.map[outside_box(unnormalised)].any()
    batch = run_erf(TheoryConfig(arch="resnet18", norm="batch", size=SIZE), ("layer1",))[0]
    assert batch.map[outside_box(batch)].any()


def brute_radius(weights: np.ndarray, mass: float) -> float:
    """The least radius, among the distances that occur, whose disc around the centroid holds ``mass``."""
    rows, cols = np.indices(weights.shape)
    cy, cx = (rows * weights).sum() / weights.sum(), (cols * weights).sum() / weights.sum()
    distance = np.hypot(rows - cy, cols - cx)
    for radius in np.unique(distance):
        if weights[distance <= radius].sum() >= mass * weights.sum() * (1 - 1e-12):
            return float(radius)
    raise AssertionError("no radius holds the mass")


def test_radius_95_is_the_least_disc_holding_95_percent():
    rng = np.random.default_rng(0)
    for weights in (rng.random((9, 13)), np.pad(np.ones((3, 3)), 5), np.eye(7)):
        radius, centroid = radius_holding(weights)
        assert radius == pytest.approx(brute_radius(weights, 0.95), abs=1e-9)
        assert centroid == pytest.approx(((np.indices(weights.shape)[0] * weights).sum() / weights.sum(),
                                          (np.indices(weights.shape)[1] * weights).sum() / weights.sum()))
    assert radius_holding(np.zeros((4, 6))) == (0.0, (1.5, 2.5))
    single = np.zeros((5, 5))
    single[1, 3] = 2.0
    assert radius_holding(single) == (0.0, (1.0, 3.0))


def test_unknown_stage_progress_and_cancel():
    with pytest.raises(ValueError, match="unknown stage"):
        run_erf(TheoryConfig(arch="resnet18", size=32), ("layer5",))
    seen: list[float] = []
    run_erf(TheoryConfig(arch="resnet18", size=32), progress=lambda text, fraction: seen.append(fraction))
    assert seen == sorted(seen) and seen[-1] == 1.0
    with pytest.raises(Cancelled):
        run_erf(TheoryConfig(arch="resnet18", size=32), cancel=lambda: True)
