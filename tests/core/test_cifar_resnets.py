"""He et al.'s CIFAR-10 ResNets (2015, Sec. 4.2) in the family: each member against an independent
implementation written here from the paper (keys load strict both ways, equal logits, the summary
equal to torchinfo's on it layer by layer, the published parameter counts of Table 6), option A's
zero-padded shortcut against a hand computation, the switches (plain blocks, residual lesions), and
the gradient lab and activation maps on them. Nothing is timed.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from explorer.core.gradients.config import GradConfig
from explorer.core.gradients.run import run_comparison
from explorer.core.insight.activations import block_modules
from explorer.core.network.blocks import block_kinds, residual_blocks
from explorer.core.network.counts import parameter_total
from explorer.core.network.model import ResNet
from explorer.core.network.stages import CIFAR_RESNETS, MEMBERS, RESNETS
from explorer.core.network.summary import summarize
from support import assert_summary_equals_torchinfo, enliven

# He et al. 2015, Table 6 (0.27M ... 1.7M), exactly: 3x3 conv of 16, 3n basic blocks of 16/32/64, fc to 10.
PUBLISHED = {"resnet20": 269_722, "resnet32": 464_154, "resnet44": 658_586, "resnet56": 853_018, "resnet110": 1_727_962}


class PaperBlock(nn.Module):
    """A basic block as Sec. 4.2 describes it: two 3x3 convs with BN, the identity added before the
    last ReLU; where the width doubles the shortcut takes every second position and appends zeros."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
        self.conv2, self.bn2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
        self.stride, self.extra = stride, cout - cin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        identity = x[:, :, ::self.stride, ::self.stride]
        if self.extra:
            identity = torch.cat([identity, identity.new_zeros(identity.shape[0], self.extra, *identity.shape[2:])], dim=1)
        return F.relu(out + identity)


class PaperResNet(nn.Module):
    """ResNet-(6n+2) for 32x32 images, 10 classes; attribute names chosen to match torchvision's keys."""

    def __init__(self, n: int, classes: int = 10) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16)
        cin = 16
        for index, (width, stride) in enumerate(((16, 1), (32, 2), (64, 2))):
            blocks = [PaperBlock(cin, width, stride)] + [PaperBlock(width, width, 1) for _ in range(n - 1)]
            setattr(self, f"layer{index + 1}", nn.Sequential(*blocks))
            cin = width
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


@pytest.mark.parametrize("arch", list(CIFAR_RESNETS))
def test_cifar_member_equals_the_paper_and_an_independent_build(arch):
    spec = CIFAR_RESNETS[arch]
    n = spec.layers[0]
    assert (spec.depth, spec.layers, MEMBERS[arch]) == (6 * n + 2, (n, n, n), spec) and arch not in RESNETS
    ref = enliven(PaperResNet(n), seed=1)
    ours = ResNet(arch)
    assert ours.num_classes == 10 and list(ours.state_dict()) == list(ref.state_dict())
    ours.load_state_dict(ref.state_dict(), strict=True)
    PaperResNet(n).load_state_dict(ours.state_dict(), strict=True)
    params = sum(p.numel() for p in ref.parameters())
    assert params == PUBLISHED[arch] == sum(p.numel() for p in ours.parameters()) == parameter_total(spec, 10)

    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected, got = ref(x), ours.eval()(x)
    assert expected.std() > 0.1  # lively: not a flat output
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)

    assert_summary_equals_torchinfo(summarize((32, 32), 10, arch), ref, 32)  # the paper's ReLUs are functional


def test_the_summary_has_three_stages_and_no_projection():
    summary = summarize((32, 32), 10, "resnet56")
    assert [(s.name, s.module, s.output_shape) for s in summary.stages] == [
        ("stage1", "stem", [16, 32, 32]), ("stage2", "layer1", [16, 32, 32]),
        ("stage3", "layer2", [32, 16, 16]), ("stage4", "layer3", [64, 8, 8]),
    ]
    assert [layer.name for layer in summary.stages[0].blocks[0].layers] == ["conv1", "bn1", "relu"]  # no max-pool
    assert not any(layer.shortcut for layer in summary.layers().values())
    assert set(block_kinds(CIFAR_RESNETS["resnet56"].stages).values()) == {"identity"}
    assert len(residual_blocks(CIFAR_RESNETS["resnet56"].stages)) == 27


def _hand_shortcut(x: torch.Tensor, out_channels: int) -> torch.Tensor:
    """Option A written out position by position: every second row and column, zeros for the new channels."""
    batch, channels, height, width = x.shape
    out = torch.zeros(batch, out_channels, height // 2, width // 2)
    for i in range(height // 2):
        for j in range(width // 2):
            out[:, :channels, i, j] = x[:, :, 2 * i, 2 * j]
    return out


def test_option_a_shortcut_subsamples_and_pads_zeros():
    net = ResNet("resnet20", seed=0).eval()
    block = net.layer2[0]
    assert block.kind == "identity" and block.downsample is None
    assert sum(p.numel() for p in block.parameters()) == 16 * 32 * 9 + 32 * 32 * 9 + 2 * 2 * 32  # two convs and BNs only
    x = torch.randn(2, 16, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = _hand_shortcut(x, 32)
        assert torch.equal(block.shortcut(x), expected)
        assert torch.equal(block(x), F.relu(block.residual(x) + expected))
        block.shortcut_enabled = False  # a plain block
        assert torch.equal(block(x), F.relu(block.residual(x)))
        block.shortcut_enabled, block.residual_enabled = True, False  # a residual lesion: only the shortcut
        assert torch.equal(block(x), F.relu(expected))


def test_switches_and_lesions_work_on_the_whole_network():
    net = ResNet("resnet32", seed=0).eval()
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before = net(x)
        net.set_shortcuts(False)
        plain = net(x)
        h = net.stem(x)
        for block in net.blocks().values():
            h = F.relu(block.residual(h))
        assert torch.allclose(plain, net.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1)), atol=1e-5)
        net.set_shortcuts(True)
        net.set_residual(False, ["layer3.0"])
        assert not torch.allclose(net(x), before) and net.switches()["layer3.0"] == {"shortcut": True, "residual": False}
        with pytest.raises(KeyError, match="layer4.0"):
            net.set_shortcuts(False, ["layer4.0"])  # three stages only


def test_gradient_lab_and_activation_maps_read_the_stem_without_a_max_pool():
    results = run_comparison(GradConfig(arch="resnet20", size=32, num_classes=10, batch=2), "both")
    for result in results:
        main = [layer for layer in result.layers if not layer.shortcut]
        assert len(main) == 20 and main[0].name == "conv1" and main[-1].name == "fc"
        assert all(layer.grad_norm > 0 for layer in main)
    modules = block_modules(ResNet("resnet20"))
    assert list(modules)[:2] == ["stem", "layer1.0"] and isinstance(modules["stem"], nn.ReLU) and len(modules) == 10
