"""Every member of the family against torchvision's, with lively random weights (non-trivial BN
statistics): keys load with strict=True both ways, parameter counts equal, fp32 logits equal, the
summary equals torchinfo layer by layer, the architecture is read back from the state dict alone,
a fine-tuned head loads from a file with its labels and a wrong labels file is refused by name.
Big members run at 64 px and batch 1 to keep the suite fast."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from explorer.core.loading.architecture import infer_architecture
from explorer.core.loading.errors import WeightsError
from explorer.core.loading.pipeline import checkpoint_architecture, load_model
from explorer.core.network.blocks import block_kinds, residual_blocks
from explorer.core.network.model import BasicBlock, Bottleneck, ResNet
from explorer.core.network.stages import RESNET50_STAGES, RESNETS, StageSpec
from explorer.core.network.summary import summarize
from support import assert_summary_equals_torchinfo, enliven

SMALL = ("resnet18", "resnet34", "resnet50", "resnext50_32x4d")  # at 224 px; the others at 64 px


@pytest.mark.parametrize("arch", list(RESNETS))
def test_member_equals_torchvision(arch, tmp_path):
    torch.manual_seed(0)
    size = 224 if arch in SMALL else 64
    ref = enliven(getattr(torchvision.models, arch)(), seed=1)
    state = ref.state_dict()
    ours = ResNet(arch)
    assert list(ours.state_dict()) == list(state)
    ours.load_state_dict(state, strict=True)
    getattr(torchvision.models, arch)().load_state_dict(ours.state_dict(), strict=True)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in ref.parameters())

    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected, got = ref(x), ours.eval()(x)
    assert expected.abs().max() > 1 and expected.std() > 0.1  # lively: not a flat output
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)

    summary = summarize((size, size), 1000, arch)
    assert_summary_equals_torchinfo(summary, ref, size)
    assert [s.params for s in summary.stages[1:]] == [sum(p.numel() for p in getattr(ref, s.module).parameters()) for s in summary.stages[1:]]

    found = infer_architecture(state)
    assert (found.spec, found.num_classes, found.known) == (RESNETS[arch], 1000, True)

    # A fine-tuned head of 5 classes, from a file (fp16 keeps the big members' files small).
    ref.fc = nn.Linear(ref.fc.in_features, 5)
    path = tmp_path / f"{arch}-finetuned.pth"
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in ref.state_dict().items()}, path)
    assert (checkpoint_architecture(path).spec.name, checkpoint_architecture(path).num_classes) == (arch, 5)
    (tmp_path / "labels.txt").write_text("cat\ndog\nfox\nowl\n")  # four names for five classes
    with pytest.raises(WeightsError) as info:
        load_model(str(path))
    message = str(info.value)
    assert "\n" not in message and "labels.txt" in message and "4 class names for a head of 5" in message
    if arch in ("resnet18", "resnext50_32x4d"):
        right = tmp_path / "names.txt"
        right.write_text("cat\ndog\nfox\nowl\nbee\n")
        model, loaded = load_model(str(path), labels=right)
        assert (model.spec.name, model.num_classes, loaded.labels[-1], loaded.arch) == (arch, 5, "bee", arch)


def test_stage_table_of_resnet50_is_unchanged():
    assert RESNET50_STAGES == (
        StageSpec("stage2", "layer1", 3, (64, 64, 256), 1),
        StageSpec("stage3", "layer2", 4, (128, 128, 512), 2),
        StageSpec("stage4", "layer3", 6, (256, 256, 1024), 2),
        StageSpec("stage5", "layer4", 3, (512, 512, 2048), 2),
    )


@pytest.mark.parametrize("arch, blocks, depth", [("resnet18", 8, 18), ("resnet34", 16, 34), ("resnet101", 33, 101), ("resnet152", 50, 152)])
def test_block_lists_and_kinds_follow_the_spec(arch, blocks, depth):
    spec = RESNETS[arch]
    with torch.device("meta"):  # structure only
        model = ResNet(spec)
    assert list(model.blocks()) == list(residual_blocks(spec.stages)) and len(model.blocks()) == blocks == spec.blocks
    assert {n: b.kind for n, b in model.blocks().items()} == block_kinds(spec.stages)
    assert spec.depth == depth and model.spec is spec
    first = model.blocks()["layer1.0"]
    if spec.block == "basic":  # 64 channels at stride 1: ResNet-18's first block needs no projection
        assert isinstance(first, BasicBlock) and first.kind == "identity" and model.layer2[0].conv1.stride == (2, 2)
    else:
        assert isinstance(first, Bottleneck) and first.kind == "conv" and model.layer2[0].conv2.stride == (2, 2)


def test_grouped_and_wide_bottlenecks():
    with torch.device("meta"):
        resnext, wide = ResNet("resnext101_64x4d"), ResNet("wide_resnet50_2")
    assert resnext.layer1[0].conv2.groups == 64 and resnext.layer1[0].conv2.out_channels == 256
    assert wide.layer1[0].conv2.groups == 1 and wide.layer1[0].conv2.out_channels == 128


@pytest.mark.parametrize("arch", ["resnet18", "resnext50_32x4d"])
def test_classifier_runs_the_member_a_file_holds(arch, tmp_path):
    """Basic blocks and grouped convolutions fold their BatchNorm like bottlenecks: the Classifier's
    fast copy gives the plain model's logits."""
    from explorer.core.inference.classifier import Classifier

    model = enliven(ResNet(arch, seed=4), seed=4)
    torch.save(model.state_dict(), tmp_path / "w.pth")
    classifier = Classifier("cpu", "fp32")  # the plain model's logits to 1e-4: the precision is pinned, whatever the CPU
    info = classifier.load(str(tmp_path / "w.pth"))
    assert (info.arch, info.num_classes, info.labels[0]) == (arch, 1000, "tench")
    x = torch.randn(1, 3, 96, 96, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        torch.testing.assert_close(classifier.logits(x), model(x), atol=1e-4, rtol=1e-4)
    classifier.load("random")  # random keeps the loaded network
    assert classifier.weights.arch == arch
