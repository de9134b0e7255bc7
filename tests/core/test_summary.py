"""The summary against torchinfo on torchvision's resnet50, and receptive fields against gradients."""

import pytest
import torch
import torchinfo
import torchvision
from torch import nn

from explorer.core.network.model import ResNet50
from explorer.core.network.summary import count_parameters, summarize


@pytest.fixture(scope="module")
def s224():
    return summarize()


@pytest.fixture(scope="module")
def reference224():
    return torchinfo.summary(torchvision.models.resnet50(), input_size=(1, 3, 224, 224), depth=64, verbose=0)


def test_totals_at_224(s224):
    assert s224.total_params == 25_557_032
    assert s224.trainable_params == 25_557_032
    assert s224.mult_adds == 4_089_238_376


def test_stages_at_224(s224):
    assert [s.name for s in s224.stages] == ["stage1", "stage2", "stage3", "stage4", "stage5"]
    assert [s.output_shape for s in s224.stages] == [[64, 56, 56], [256, 56, 56], [512, 28, 28], [1024, 14, 14], [2048, 7, 7]]
    assert [s.params for s in s224.stages] == [9_536, 215_808, 1_219_584, 7_098_368, 14_964_736]
    assert s224.head.params == 2_049_000 and s224.head.output_shape == [1000]
    kinds = [[b.kind for b in s.blocks] for s in s224.stages]
    assert kinds == [["stem"]] + [["conv"] + ["identity"] * (n - 1) for n in (3, 4, 6, 3)]


def test_every_layer_equals_torchinfo_on_torchvision(s224, reference224):
    """Layer by layer, our numbers equal torchinfo's on the reference (our act1..3 are its relu)."""
    ref = {}
    by_id = {id(m): n for n, m in reference224.summary_list[0].module.named_modules()}
    for info in reference224.summary_list:
        if info.is_leaf_layer and not isinstance(info.module, nn.ReLU):
            ref.setdefault(by_id[info.layer_id], info)
    ours = {n: layer for n, layer in s224.layers().items() if layer.type != "ReLU"}
    assert set(ours) == set(ref)
    for name, layer in ours.items():
        info = ref[name]
        assert layer.params == info.num_params, name
        assert layer.mult_adds == info.macs, name
        assert layer.output_shape == list(info.output_size[1:]), name
        assert layer.input_shape == list(info.input_size[1:]), name
    assert sum(b.params for b in s224.blocks().values()) + s224.head.params == reference224.total_params


def test_block_totals_add_up(s224):
    for stage in s224.stages:
        assert stage.params == sum(b.params for b in stage.blocks)
        for block in stage.blocks:
            assert block.params == sum(layer.params for layer in block.layers)
            assert block.mult_adds == sum(layer.mult_adds for layer in block.layers)
    assert s224.mult_adds == sum(s.mult_adds for s in s224.stages) + s224.head.mult_adds


def test_non_default_input_and_classes_equal_torchinfo():
    ours = summarize((64, 96), num_classes=6)
    ref = torchinfo.summary(torchvision.models.resnet50(num_classes=6), input_size=(1, 3, 64, 96), verbose=0)
    assert ours.total_params == ref.total_params
    assert ours.mult_adds == ref.total_mult_adds
    assert ours.stages[-1].output_shape == [2048, 2, 3]
    assert ours.head.output_shape == [6]


def test_too_small_input_is_refused():
    with pytest.raises(ValueError, match="too small"):
        summarize((16, 16))


def test_shared_modules_are_counted_once():
    shared = nn.Linear(10, 10)
    twice = nn.Sequential(shared, nn.ReLU(), shared)
    assert count_parameters(twice) == 110
    assert sum(layer.num_params for layer in torchinfo.summary(twice, input_size=(1, 10), verbose=0).summary_list[1:]) == 220


def _empirical_receptive_field(block_name: str, size: int) -> tuple[int, int]:
    """Rows and columns of the input that reach the centre output of a block, measured by backprop
    through a linearised copy (positive weights, no ReLU, max-pool as average), so no path is cut."""
    model = ResNet50().eval()
    model.set_normalization("none")
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.constant_(m.weight, 0.01)
    model.maxpool = nn.AvgPool2d(3, stride=2, padding=1)
    for name, m in list(model.named_modules()):
        if isinstance(m, nn.ReLU):
            parent, _, attr = name.rpartition(".")
            setattr(model.get_submodule(parent) if parent else model, attr, nn.Identity())
    captured = {}
    target = model.maxpool if block_name == "stem" else model.get_submodule(block_name)
    target.register_forward_hook(lambda m, i, o: captured.setdefault("out", o))
    x = torch.ones(1, 3, size, size, requires_grad=True)
    model(x)
    out = captured["out"]
    out[0, :, out.shape[2] // 2, out.shape[3] // 2].sum().backward()
    support = x.grad[0].abs().sum(0) > 0
    return int(support.any(1).sum()), int(support.any(0).sum())


@pytest.mark.parametrize("block", ["stem", "layer1.0", "layer1.2", "layer2.0", "layer3.0"])
def test_receptive_field_equals_gradient_support(s224, block):
    expected = s224.blocks()[block].receptive_field
    assert _empirical_receptive_field(block, 192) == (expected, expected)


def test_receptive_field_and_stride_at_the_end(s224):
    last = s224.blocks()["layer4.2"]
    assert (last.receptive_field, last.stride) == (427, 32)
