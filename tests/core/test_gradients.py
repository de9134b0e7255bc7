"""Gradient lab (explorer.core.gradients) against references: torchvision's ResNet-50 and
``torch.autograd.grad`` on an independent copy for the norms, torchvision's module order for the
layer names, plus the documented properties (vanishing without normalisation, finite under batch
statistics, per-block switches local, determinism, progress and cancellation). Small inputs keep it fast.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
import torchvision
import torchvision.transforms as T
from PIL import Image
from torch import nn

from explorer.core.gradients import (
    PRESETS,
    Cancelled,
    GradConfig,
    GradResult,
    build_model,
    gradient_layers,
    main_path_layers,
    run_comparison,
    run_gradients,
)
from explorer.core.gradients.verdict import trend_verdict, versus_clause
from explorer.core.network.model import ResNet50

SMALL = GradConfig(size=64, batch=2, seed=0)


@pytest.fixture(scope="module")
def init_step_runs() -> list[GradResult]:
    return run_comparison(replace(PRESETS["init-step"].config, size=64), "both")


def _norms(result: GradResult) -> dict[str, float | None]:
    return {layer.name: layer.grad_norm for layer in result.layers}


def _stds(result: GradResult) -> dict[str, float | None]:
    return {layer.name: layer.activation_std for layer in result.layers}


def _reference(
    model: nn.Module, config: GradConfig, top1: bool = False, x: torch.Tensor | None = None
) -> tuple[float, dict[str, float], dict[str, float]]:
    """Loss, weight-gradient norms (torch.autograd.grad, float64) and BN-output stds, computed directly
    on ``model`` with the documented seeding (one generator: noise, then labels)."""
    g = torch.Generator().manual_seed(config.seed)
    if x is None:
        x = torch.randn(config.batch, 3, config.size, config.size, generator=g)
    stds: dict[str, float] = {}
    hooks = []
    for name, m in model.named_modules():
        if isinstance(m, nn.BatchNorm2d):
            conv = name.replace("bn", "conv") if "downsample" not in name else name[:-1] + "0"
            hooks.append(m.register_forward_hook(lambda m, i, o, conv=conv: stds.__setitem__(conv, o.std().item())))
    logits = model(x)
    stds["fc"] = logits.std().item()
    for h in hooks:
        h.remove()
    targets = logits.argmax(1) if top1 else torch.randint(config.num_classes, (x.shape[0],), generator=g)
    loss = F.cross_entropy(logits, targets)
    weighted = {n: m.weight for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}
    grads = torch.autograd.grad(loss, list(weighted.values()), allow_unused=True)
    norms = {n: g.double().norm().item() for n, g in zip(weighted, grads) if g is not None}
    return loss.item(), norms, stds


def _assert_matches(result: GradResult, loss: float, norms: dict[str, float], stds: dict[str, float]) -> None:
    assert result.loss == pytest.approx(loss, rel=1e-5)
    ours = {k: v for k, v in _norms(result).items() if v is not None}
    assert ours.keys() == norms.keys()
    for name, value in norms.items():
        assert ours[name] == pytest.approx(value, rel=1e-4, abs=1e-30), name
    for name, value in stds.items():
        assert _stds(result)[name] == pytest.approx(value, rel=1e-4), name


# -- structure --------------------------------------------------------------------------------------


def test_layer_names_and_order_match_torchvision():
    tv = torchvision.models.resnet50()
    expected = [n for n, m in tv.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear)) and "downsample" not in n]
    assert main_path_layers(ResNet50()) == expected
    assert len(expected) == 50


def test_result_rows_are_main_path_with_projections_after_their_block(init_step_runs):
    result = init_step_runs[0]
    names = [layer.name for layer in result.layers]
    assert [n for n in names if "downsample" not in n] == main_path_layers(ResNet50())
    projections = [n for n in names if "downsample" in n]
    assert projections == [f"layer{i}.0.downsample.0" for i in range(1, 5)]
    for p in projections:
        assert names[names.index(p) - 1] == p.replace("downsample.0", "conv3")
    assert all(layer.shortcut == ("downsample" in layer.name) for layer in result.layers)
    stages = {layer.name: layer.stage for layer in result.layers}
    assert (stages["conv1"], stages["layer1.2.conv3"], stages["layer4.0.downsample.0"], stages["fc"]) == (
        "stage1", "stage2", "stage5", "head")


def test_build_model_equals_the_constructors_seeded_init():
    for init in ("he", "pytorch"):
        built = build_model(GradConfig(init=init, seed=4, num_classes=10)).state_dict()
        expected = ResNet50(num_classes=10, init=init, seed=4).state_dict()
        assert built.keys() == expected.keys()
        assert all(torch.equal(built[k], expected[k]) for k in built), init


def test_gradient_layers_pair_each_conv_with_its_batchnorm():
    model = ResNet50()
    for name, weighted, out, _ in gradient_layers(model):
        expected = model.fc if name == "fc" else model.get_submodule(
            name[:-1] + "1" if name.endswith("downsample.0") else name.replace("conv", "bn"))
        assert out is expected and weighted is model.get_submodule(name)


# -- against references -----------------------------------------------------------------------------


def test_residual_norms_equal_torchvision_autograd_grad(init_step_runs):
    """Shortcuts on, batch statistics, He init: torchvision's own ResNet-50 in train mode, loaded with
    the same weights, is a fully independent implementation of the same computation."""
    tv = torchvision.models.resnet50()
    tv.load_state_dict(ResNet50(init="he", seed=0).state_dict())
    tv.train()
    _assert_matches(init_step_runs[0], *_reference(tv, replace(SMALL, batch=2)))


@pytest.mark.parametrize(
    "config",
    [
        replace(SMALL, shortcuts=False, norm="none", init="pytorch"),
        replace(SMALL, shortcuts=False, plain_blocks=("layer2.0", "layer3.3"), lesion=("layer1.1",), norm="frozen", seed=3),
        replace(SMALL, norm="batch", targets="top1", batch=3, size=48, seed=5),
    ],
    ids=["plain-none-pytorch", "partial-lesion-frozen", "top1"],
)
def test_norms_equal_autograd_grad_on_independent_copy(config: GradConfig):
    copy = ResNet50(init=config.init, seed=config.seed)
    if not config.shortcuts:
        copy.set_shortcuts(False, config.plain_blocks)
    if config.lesion:
        copy.set_residual(False, config.lesion)
    copy.set_normalization(config.norm)
    result = run_gradients(config)
    _assert_matches(result, *_reference(copy, config, top1=config.targets == "top1"))


def test_loaded_weights_and_images_equal_reference(tmp_path):
    """A checkpoint file and Pillow images: the reference loads the same state dict into its own
    copy and prepares the images with torchvision's transforms (Resize(size*256/224), CenterCrop)."""
    trained = ResNet50(init="pytorch", seed=11)
    with torch.no_grad():  # running statistics that differ from 0/1, so "frozen" matters
        for m in trained.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 2.0)
    checkpoint = tmp_path / "trained.pth"
    torch.save(trained.state_dict(), checkpoint)
    paths = []
    for i in range(2):
        path = tmp_path / f"photo{i}.png"
        pixels = torch.randint(0, 256, (70, 90, 3), generator=torch.Generator().manual_seed(i), dtype=torch.uint8)
        Image.fromarray(pixels.numpy()).save(path)
        paths.append(str(path))
    config = GradConfig(init="weights", weights=str(checkpoint), norm="frozen", targets="top1", inputs=tuple(paths), size=48)
    result = run_gradients(config)
    assert result.config["batch"] == 2 and result.config["inputs"] == paths

    prepare = T.Compose([T.Resize(round(48 * 256 / 224)), T.CenterCrop(48), T.ToTensor(),
                         T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    x = torch.stack([prepare(Image.open(p).convert("RGB")) for p in paths])
    copy = ResNet50()
    copy.load_state_dict(torch.load(checkpoint, weights_only=True))
    copy.set_normalization("frozen")
    _assert_matches(result, *_reference(copy, config, top1=True, x=x))


def test_unreadable_weights_file_is_a_value_error_naming_it(tmp_path):
    bad = tmp_path / "broken.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="broken.pth"):
        run_gradients(replace(SMALL, init="weights", weights=str(bad)))


# -- documented properties --------------------------------------------------------------------------


def test_no_norm_preset_plain_stem_gradient_vanishes():
    """The README's claim for the preset as shipped (224x224, batch 2, seed 0)."""
    config = PRESETS["no-norm"].config
    assert (config.norm, config.init, config.batch, config.seed) == ("none", "pytorch", 2, 0)
    residual, plain = run_comparison(config, "both")
    assert plain.layers[0].name == residual.layers[0].name == "conv1"
    assert 0 < plain.layers[0].grad_norm < 1e-6 * residual.layers[0].grad_norm
    assert "smaller than the residual network's" in plain.verdict


def test_batch_statistics_give_finite_positive_norms(init_step_runs):
    for result in init_step_runs:
        for layer in result.layers:
            if layer.shortcut and not result.shortcuts:
                assert layer.grad_norm is None and layer.activation_std is None, layer.name
                continue
            assert math.isfinite(layer.grad_norm) and layer.grad_norm > 0, layer.name
            assert math.isfinite(layer.activation_std) and layer.activation_std > 0, layer.name


def test_verdict_follows_the_numbers(init_step_runs):
    for result in init_step_runs:
        fc, stem = _norms(result)["fc"], _norms(result)["conv1"]
        word = "grows" if stem >= fc else "shrinks"
        assert result.verdict.startswith(f"{result.label}: gradient {word} 10^{abs(math.log10(stem / fc)):.1f}")


@pytest.mark.parametrize(
    "fc,stem,expected",
    [(1.0, 1e17, "grows 10^17.0"), (1.0, 1e-17, "shrinks 10^17.0"), (2.0, 0.0, "exactly zero at the stem"),
     (1.0, math.inf, "not finite"), (None, 1.0, "no gradient at the fc")],
)
def test_verdict_wording(fc, stem, expected):
    assert expected in trend_verdict("plain", fc, stem)


def test_versus_clause_wording():
    assert versus_clause(1e-20, 1e-2) == "; stem gradient 10^18.0 smaller than the residual network's"
    assert versus_clause(1e3, 1e1) == "; stem gradient 10^2.0 larger than the residual network's"
    assert versus_clause(0.0, 1.0) == versus_clause(None, 1.0) == ""


def test_same_config_same_numbers_other_seed_other_numbers():
    config = replace(SMALL, size=32, norm="none")
    a, b = run_gradients(config), run_gradients(config)
    assert a.to_dict() == b.to_dict()
    assert run_gradients(replace(config, seed=1)).layers[0].grad_norm != a.layers[0].grad_norm


def test_switching_one_block_changes_only_that_block():
    base = GradConfig(size=32, norm="none", init="pytorch")
    switched = replace(base, shortcuts=False, plain_blocks=("layer3.1",))
    before, after = build_model(base).switches(), build_model(switched).switches()
    assert {b for b in before if before[b] != after[b]} == {"layer3.1"}
    assert after["layer3.1"] == {"shortcut": False, "residual": True}
    # Forward: every layer up to the switched block's own convs sees identical inputs, every
    # main-path layer after it a different one.
    on, off = run_gradients(base), run_gradients(switched)
    names = [layer.name for layer in on.layers]
    cut = names.index("layer3.1.conv3") + 1
    for layer_on, layer_off in zip(on.layers[:cut], off.layers[:cut]):
        assert layer_on.activation_std == layer_off.activation_std, layer_on.name
    for layer_on, layer_off in zip(on.layers[cut:], off.layers[cut:]):
        if not layer_on.shortcut:
            assert layer_on.activation_std != layer_off.activation_std, layer_on.name


def test_plain_convolutional_block_drops_only_its_projection():
    result = run_gradients(replace(SMALL, size=32, shortcuts=False, plain_blocks=("layer2.0",)))
    missing = {layer.name for layer in result.layers if layer.grad_norm is None}
    assert missing == {"layer2.0.downsample.0"}


def test_lesion_removes_the_branch_and_keeps_the_rest():
    result = run_gradients(replace(SMALL, size=32, lesion=("layer3.4",)))
    missing = {layer.name for layer in result.layers if layer.grad_norm is None or layer.activation_std is None}
    assert missing == {"layer3.4.conv1", "layer3.4.conv2", "layer3.4.conv3"}
    assert result.config["lesion"] == ["layer3.4"]


# -- progress, cancellation, bad input --------------------------------------------------------------


def test_progress_covers_every_stage_forward_and_backward():
    seen: list[tuple[str, float]] = []
    run_comparison(replace(SMALL, size=32), "both", progress=lambda text, f: seen.append((text, f)))
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and 0 < fractions[0]
    texts = [t for t, _ in seen]
    for label in ("residual", "plain"):
        for stage in ("stage1", "stage2", "stage3", "stage4", "stage5", "head"):
            assert f"{label}: forward {stage}" in texts and f"{label}: backward {stage}" in texts
    assert texts.index("plain: backward head") < texts.index("plain: backward stage1")


@pytest.mark.parametrize("stop_after", ["forward stage3", "backward stage4"])
def test_cancel_stops_between_stages(stop_after: str):
    seen: list[str] = []
    with pytest.raises(Cancelled):
        run_gradients(replace(SMALL, size=32), progress=lambda text, f: seen.append(text),
                      cancel=lambda: bool(seen) and seen[-1].endswith(stop_after))
    assert seen[-1] == f"residual: {stop_after}"


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"norm": "layer"}, "norm must be one of"),
        ({"init": "xavier"}, "init must be one of"),
        ({"targets": "all"}, "targets must be one of"),
        ({"init": "weights"}, "needs a weights source"),
        ({"batch": 0}, "batch must be at least 1"),
        ({"lesion": ("layer5.0",)}, "valid names are layer1.0"),
        ({"shortcuts": False, "plain_blocks": ("layer1.9",)}, "unknown block"),
        ({"shortcuts": False, "lesion": ("layer2.1",)}, "both shortcut and residual"),
    ],
)
def test_bad_config_is_a_value_error(changes: dict, message: str):
    with pytest.raises(ValueError, match=message):
        run_gradients(replace(SMALL, **changes))


def test_bad_shortcut_choice_is_a_value_error():
    with pytest.raises(ValueError, match="shortcuts must be one of"):
        run_comparison(SMALL, "sideways")


def test_comparison_runs_equal_separate_runs(init_step_runs):
    """Both variants share one model: the plain run must not inherit the residual run's gradients."""
    config = replace(PRESETS["init-step"].config, size=64, shortcuts=False)
    alone = run_gradients(config).to_dict()
    shared = init_step_runs[1].to_dict()
    assert shared["verdict"].startswith(alone["verdict"])
    assert {k: v for k, v in shared.items() if k != "verdict"} == {k: v for k, v in alone.items() if k != "verdict"}


def test_unknown_or_absent_device_is_a_value_error():
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        run_gradients(SMALL, device="gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            run_gradients(SMALL, device="cuda")
