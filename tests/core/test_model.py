"""Our ResNet-50 against torchvision's reference, and every switch against a hand computation."""

import math

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from explorer.core.network.model import RESNET50_STAGES, Bottleneck, ResNet, ResNet50, SwitchableBatchNorm2d


def random_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict with every tensor random, BN running statistics included (positive variances)."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in torchvision.models.resnet50().state_dict().items():
        if key.endswith("num_batches_tracked"):
            state[key] = value
        elif key.endswith("running_var"):
            state[key] = torch.rand(value.shape, generator=gen) + 0.5
        else:
            state[key] = torch.randn(value.shape, generator=gen) * (0.05 if value.dim() > 1 else 0.2)
    return state


@pytest.fixture(scope="module")
def state():
    return random_state_dict()


def test_state_dict_keys_and_shapes_equal_torchvision():
    ours = ResNet50().state_dict()
    ref = torchvision.models.resnet50().state_dict()
    assert list(ours) == list(ref)
    assert all(ours[k].shape == ref[k].shape for k in ref)


def test_loads_strictly_both_ways(state):
    ours = ResNet50()
    ours.load_state_dict(state, strict=True)
    ref = torchvision.models.resnet50()
    ref.load_state_dict(ours.state_dict(), strict=True)


@pytest.mark.parametrize("train", [False, True])
def test_outputs_equal_torchvision(state, train):
    ours, ref = ResNet50(), torchvision.models.resnet50()
    ours.load_state_dict(state)
    ref.load_state_dict(state)
    ours.train(train)
    ref.train(train)
    x = torch.randn(2, 3, 128, 128, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        diff = (ours(x) - ref(x)).abs().max().item()
    assert diff < 1e-4


def test_stage_structure_is_the_papers():
    model = ResNet50()
    assert [spec.blocks for spec in RESNET50_STAGES] == [3, 4, 6, 3]
    kinds = {name: b.kind for name, b in model.blocks().items()}
    assert len(kinds) == 16
    for spec, seq in model.stage_modules():
        assert [b.kind for b in seq] == ["conv"] + ["identity"] * (spec.blocks - 1)
        assert seq[0].conv2.stride == (spec.stride, spec.stride)  # V1.5: stride on the 3x3
        assert seq[0].conv1.stride == (1, 1)
        assert [seq[0].conv1.out_channels, seq[0].conv2.out_channels, seq[0].conv3.out_channels] == list(spec.filters)


def test_one_activation_module_per_relu_and_each_fires_once():
    model = ResNet50().eval()
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    assert len(relus) == 1 + 16 * 3
    calls = {id(m): 0 for m in relus}

    def hook(module, inputs, output):
        calls[id(module)] += 1

    for m in relus:
        m.register_forward_hook(hook)
    with torch.no_grad():
        model(torch.randn(1, 3, 64, 64))
    assert set(calls.values()) == {1}


def test_configurable_classes_and_input_size():
    model = ResNet50(num_classes=6).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 64, 64)).shape == (2, 6)
    with pytest.raises(ValueError, match="num_classes"):
        ResNet50(num_classes=0)


# -- switches, checked against explicit functional computations -----------------------------------


def _bn(x, bn: nn.BatchNorm2d, batch_stats: bool):
    if batch_stats:
        mean = x.mean(dim=(0, 2, 3), keepdim=True)
        var = x.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    else:
        mean = bn.running_mean.view(1, -1, 1, 1)
        var = bn.running_var.view(1, -1, 1, 1)
    return (x - mean) / torch.sqrt(var + bn.eps) * bn.weight.view(1, -1, 1, 1) + bn.bias.view(1, -1, 1, 1)


def _hand_residual(block: Bottleneck, x, batch_stats=False, norm=True):
    bn = (lambda y, m: _bn(y, m, batch_stats)) if norm else (lambda y, m: y)
    out = F.relu(bn(F.conv2d(x, block.conv1.weight), block.bn1))
    out = F.relu(bn(F.conv2d(out, block.conv2.weight, stride=block.conv2.stride, padding=1), block.bn2))
    return bn(F.conv2d(out, block.conv3.weight), block.bn3)


def _hand_shortcut(block: Bottleneck, x, batch_stats=False, norm=True):
    if block.downsample is None:
        return x
    conv, bnm = block.downsample
    y = F.conv2d(x, conv.weight, stride=conv.stride)
    return _bn(y, bnm, batch_stats) if norm else y


@pytest.fixture
def trained_like(state):
    model = ResNet50()
    model.load_state_dict(state)
    return model.eval()


@pytest.mark.parametrize("name", ["layer2.0", "layer2.1"])  # a convolutional and an identity block
def test_block_switches_match_hand_computation(trained_like, name):
    block = trained_like.blocks()[name]
    x = torch.randn(2, block.conv1.in_channels, 16, 16)
    with torch.no_grad():
        both = F.relu(_hand_residual(block, x) + _hand_shortcut(block, x))
        torch.testing.assert_close(block(x), both, atol=1e-4, rtol=1e-4)

        trained_like.set_shortcuts(False, [name])
        torch.testing.assert_close(block(x), F.relu(_hand_residual(block, x)), atol=1e-4, rtol=1e-4)

        trained_like.set_shortcuts(True, [name])
        trained_like.set_residual(False, [name])
        torch.testing.assert_close(block(x), F.relu(_hand_shortcut(block, x)), atol=1e-4, rtol=1e-4)

        trained_like.set_shortcuts(False, [name])
        with pytest.raises(RuntimeError, match="both"):
            block(x)


def test_normalisation_modes_match_hand_computation(trained_like):
    block = trained_like.blocks()["layer3.0"]
    x = torch.randn(4, block.conv1.in_channels, 8, 8)
    before = {k: v.clone() for k, v in trained_like.state_dict().items()}
    with torch.no_grad():
        trained_like.train()  # modes override train/eval
        trained_like.set_normalization("frozen")
        expect = F.relu(_hand_residual(block, x) + _hand_shortcut(block, x))
        torch.testing.assert_close(block(x), expect, atol=1e-4, rtol=1e-4)

        trained_like.eval()
        trained_like.set_normalization("batch")
        expect = F.relu(_hand_residual(block, x, batch_stats=True) + _hand_shortcut(block, x, batch_stats=True))
        torch.testing.assert_close(block(x), expect, atol=1e-4, rtol=1e-4)

        trained_like.set_normalization("none")
        expect = F.relu(_hand_residual(block, x, norm=False) + _hand_shortcut(block, x, norm=False))
        torch.testing.assert_close(block(x), expect, atol=1e-4, rtol=1e-4)
    after = trained_like.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), "switching modes must not touch parameters or buffers"


def test_standard_mode_is_pytorch_batchnorm():
    ours, ref = SwitchableBatchNorm2d(8), nn.BatchNorm2d(8)
    x = torch.randn(4, 8, 5, 5)
    torch.testing.assert_close(ours(x), ref(x))  # train: batch stats, running stats updated alike
    torch.testing.assert_close(ours.running_mean, ref.running_mean)
    ours.eval(), ref.eval()
    torch.testing.assert_close(ours(x), ref(x))


def test_per_block_switches_touch_only_named_blocks():
    model = ResNet50()
    keys = list(model.state_dict())
    model.set_shortcuts(False, ["layer1.1", "layer3.4"])
    model.set_residual(False, ["layer4.2"])
    model.set_normalization("none", ["layer2.0"])
    switches = model.switches()
    assert [n for n, s in switches.items() if not s["shortcut"]] == ["layer1.1", "layer3.4"]
    assert [n for n, s in switches.items() if not s["residual"]] == ["layer4.2"]
    modes = {n: m.mode for n, m in model.named_modules() if isinstance(m, SwitchableBatchNorm2d)}
    assert {n for n, mode in modes.items() if mode == "none"} == {n for n in modes if n.startswith("layer2.0.")}
    assert list(model.state_dict()) == keys
    model.set_shortcuts(True)
    assert all(s["shortcut"] for s in model.switches().values())


def test_unknown_block_and_mode_are_refused():
    model = ResNet50()
    with pytest.raises(KeyError, match="layer9.9"):
        model.set_shortcuts(False, ["layer9.9"])
    with pytest.raises(ValueError, match="unknown normalisation"):
        model.set_normalization("group")
    with pytest.raises(ValueError, match="unknown initialisation"):
        model.initialize("xavier")


# -- initialisation ---------------------------------------------------------------------------------


def test_he_init_is_kaiming_normal_fan_out():
    model = ResNet50(init="he", seed=0)
    conv = model.layer3[0].conv2  # 256 x 256 x 3 x 3
    fan_out = conv.out_channels * 9
    assert conv.weight.mean().abs().item() < 1e-3
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2.0 / fan_out), rel=0.02)
    assert torch.all(model.bn1.weight == 1) and torch.all(model.bn1.bias == 0)


def test_pytorch_init_is_kaiming_uniform_default():
    model = ResNet50(init="pytorch", seed=0)
    conv = model.layer3[0].conv2
    bound = 1.0 / math.sqrt(conv.in_channels * 9)  # kaiming_uniform(a=sqrt(5)) bound
    assert conv.weight.abs().max().item() <= bound
    assert conv.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.02)


def test_seeded_init_is_reproducible_and_per_block():
    a, b = ResNet50(seed=3), ResNet50(seed=3)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    before = {k: v.clone() for k, v in a.state_dict().items()}
    a.initialize("pytorch", seed=4, blocks=["layer2.1"])
    changed = {k for k, v in a.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(k.startswith("layer2.1.") for k in changed)
    assert "layer2.1.conv2.weight" in changed


def test_pytorch_init_matches_reset_parameters_statistically():
    ours = ResNet50(init="pytorch", seed=1).fc
    ref = nn.Linear(2048, 1000)
    bound = 1 / math.sqrt(2048)
    for a, b in ((ours.weight, ref.weight), (ours.bias, ref.bias)):
        assert a.abs().max().item() <= bound and b.abs().max().item() <= bound
        assert a.std().item() == pytest.approx(b.std().item(), rel=0.05)


def test_seeded_init_ignores_other_use_of_the_global_rng():
    """The GUI initialises on worker threads while others draw from the global generator."""
    import threading

    expected = ResNet50(seed=0).state_dict()
    stop = threading.Event()

    def churn():
        while not stop.is_set():
            torch.manual_seed(123)
            torch.randn(1000)

    thread = threading.Thread(target=churn)
    thread.start()
    try:
        again = ResNet50(seed=0).state_dict()
    finally:
        stop.set()
        thread.join()
    assert all(torch.equal(expected[k], again[k]) for k in expected)


def test_a_build_draws_each_convolutions_weight_once_from_its_initialisation(monkeypatch):
    drawn: list[nn.Conv2d] = []
    default = nn.Conv2d.reset_parameters
    monkeypatch.setattr(nn.Conv2d, "reset_parameters", lambda self: drawn.append(self) or default(self))
    model = ResNet("resnet18", seed=0)
    assert drawn == []  # not nn.Conv2d's own draw: initialize draws them all (He, fan_out)
    for conv in (m for m in model.modules() if isinstance(m, nn.Conv2d)):
        assert "reset_parameters" not in conv.__dict__
        fan_out = conv.out_channels * conv.kernel_size[0] * conv.kernel_size[1]
        assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / fan_out), rel=0.25)
    plain = nn.Conv2d(3, 4, 3)  # a convolution built elsewhere keeps its own draw
    assert drawn == [plain] and "reset_parameters" not in plain.__dict__
