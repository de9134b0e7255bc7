"""The weights table (explorer/core/loading/sources.py, plain data) against torchvision's own weight enums,
entry by entry: URL, file name, SHA-256 prefix, eval transform and published top-1. Reads
torchvision's metadata only; nothing is downloaded."""

from __future__ import annotations

import pytest
from torchvision.models import get_model_weights

from explorer.core.loading.sources import (
    DEFAULT_SOURCE,
    NAMED_WEIGHTS,
    WEIGHT_SOURCES,
    arch_problem,
    default_weights,
    needs_download,
    source_arch,
    source_problem,
    weight_source,
    weights_for,
    weights_problem,
)
from explorer.core.network.stages import RESNETS


def torchvision_entries() -> dict[str, object]:
    return {f"{arch}-imagenet-{w.name.rsplit('_', 1)[-1].lower()}": w for arch in RESNETS for w in get_model_weights(arch)}


def test_every_torchvision_weight_of_the_family_is_named():
    assert set(NAMED_WEIGHTS) == set(torchvision_entries())
    assert len(NAMED_WEIGHTS) == 17


@pytest.mark.parametrize("name", sorted(torchvision_entries()))
def test_entry_equals_torchvision(name):
    ref, ours = torchvision_entries()[name], NAMED_WEIGHTS[name]
    transforms = ref.transforms()
    assert ours.url == ref.url
    assert ours.filename == ref.url.rsplit("/", 1)[-1]
    assert ours.sha256_prefix and ours.filename.endswith(f"-{ours.sha256_prefix}.pth")  # torch.hub's check_hash rule
    assert (ours.resize, ours.crop) == (transforms.resize_size[0], transforms.crop_size[0])
    assert ours.top1 == ref.meta["_metrics"]["ImageNet-1K"]["acc@1"]
    assert ours.arch == name.rsplit("-imagenet", 1)[0] and str(ours.top1) in ours.label and ref.name in ours.label


def test_short_names_keep_meaning_resnet50s():
    assert WEIGHT_SOURCES["imagenet-v2"] == NAMED_WEIGHTS["resnet50-imagenet-v2"]
    assert WEIGHT_SOURCES["imagenet-v1"] == NAMED_WEIGHTS["resnet50-imagenet-v1"]
    assert DEFAULT_SOURCE == "imagenet-v2" and default_weights("resnet50") == "imagenet-v2"
    assert default_weights("resnet18") == "resnet18-imagenet-v1" and default_weights("resnet152") == "resnet152-imagenet-v2"
    assert default_weights("resnet56") == "random"  # He et al.'s CIFAR networks: none published
    assert weights_for("resnext101_64x4d") == ["resnext101_64x4d-imagenet-v1"]


def test_lookups_and_contradictions():
    assert weight_source("resnet34-imagenet-v1").arch == "resnet34" and weight_source("nope") is None
    assert source_arch("imagenet-v1") == "resnet50" and source_arch("random") is None and source_arch("w.pth") is None
    assert needs_download("resnet152-imagenet-v2") and source_problem("wide_resnet101_2-imagenet-v2") is None
    assert arch_problem("resnet18", "resnet18-imagenet-v1") is None and arch_problem("resnet18", "random") is None
    problem = arch_problem("resnet18", "imagenet-v2")
    assert "ResNet-50" in problem and "ResNet-18" in problem and "resnet18-imagenet-v1" in problem


def test_a_labs_weights_are_checked_once_for_both_labs():
    # The gradient lab's and the theory lab's validators both ask this one function.
    assert weights_problem("resnet18", "he", None) is None and weights_problem("resnet18", "he", "imagenet-v2") is None
    assert "needs a weights source" in weights_problem("resnet18", "weights", None)
    assert "needs a weights source" in weights_problem(None, "weights", "")
    assert weights_problem("resnet18", "weights", "imagenet-v2") == arch_problem("resnet18", "imagenet-v2")
    assert weights_problem(None, "weights", "imagenet-v2") is None and weights_problem("resnet50", "weights", "w.pth") is None
