"""Grad-CAM against a direct implementation (stage outputs chained by hand, torch.autograd.grad,
gradient-weighted channel sum, ReLU, bilinear upsampling), against CAM (Zhou et al. 2016) at stage
5, and the colour map and blend against their closed forms. The per-block Grad-CAM masses are checked
against one forward and one torch.autograd.grad per block, written without the core's hooks."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image

from explorer.core.images import preprocess
from explorer.core.insight.activations import block_modules, capture_activations
from explorer.core.insight.gradcam import COLORMAPS, CamShares, GradCam, cam_mass_shares, colorize, grad_cam, network_view, overlay
from explorer.core.network.model import ResNet50
from support import lively_model

SIZE = 64


@pytest.fixture(scope="module")
def model():
    return lively_model()


@pytest.fixture(scope="module")
def x():
    return torch.randn(3, SIZE, SIZE, generator=torch.Generator().manual_seed(7))


def direct_grad_cam(model: ResNet50, x: torch.Tensor, stage: int, c: int) -> torch.Tensor:
    """Reference written from the paper: chain the stages by hand, differentiate the class score
    with respect to the stage output, weight channels by the mean gradient, ReLU, upsample."""
    x = x.unsqueeze(0)
    outputs = [model.maxpool(model.relu(model.bn1(model.conv1(x))))]
    for layer in (model.layer1, model.layer2, model.layer3, model.layer4):
        outputs.append(layer(outputs[-1]))
    logits = model.fc(torch.flatten(model.avgpool(outputs[-1]), 1))
    a = outputs[stage - 1]
    (g,) = torch.autograd.grad(logits[0, c], a)
    cam = torch.einsum("bc,bchw->bhw", g.mean(dim=(2, 3)), a).clamp(min=0)
    up = F.interpolate(cam[:, None], size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    return (up / up.max()).detach()


def logits_of(model, x):
    with torch.no_grad():
        return model(x.unsqueeze(0))[0]


@pytest.mark.parametrize(("stage", "rank"), [(1, 0), (2, 0), (3, 0), (4, 0), (5, 0), (3, 2), (5, 4)])
def test_equals_direct_implementation(model, x, stage, rank):
    c = int(logits_of(model, x).topk(5).indices[rank])
    result = grad_cam(model, x, stage=stage, class_index=c)
    ref = direct_grad_cam(model, x, stage, c)
    assert result.heatmap.shape == (SIZE, SIZE) and result.heatmap.dtype == np.float32
    np.testing.assert_allclose(result.heatmap, ref.numpy(), atol=2e-5)
    assert result.heatmap.min() >= 0 and result.heatmap.max() == pytest.approx(1.0)
    assert result.stage == stage and result.class_index == c


def test_stage5_equals_class_activation_mapping(model):
    # At stage 5 the head is avgpool + fc, so the gradient is fc.weight[c] / (h*w) everywhere and
    # Grad-CAM reduces to CAM: ReLU(sum_k w_ck A_k), computed here without any autograd.
    x = torch.randn(3, 96, 96, generator=torch.Generator().manual_seed(8))
    result = grad_cam(model, x)
    a = torch.from_numpy(capture_activations(model, x)["layer4.2"]).double()  # (2048, 3, 3)
    w = model.fc.weight.detach()[result.class_index].double()
    cam = torch.einsum("k,khw->hw", w, a).clamp(min=0)
    up = F.interpolate(cam[None, None], size=(96, 96), mode="bilinear", align_corners=False)[0, 0]
    np.testing.assert_allclose(result.heatmap, (up / up.max()).numpy(), atol=2e-5)


def test_default_class_is_top1_and_top5_are_the_softmax_top5(model, x):
    probs = logits_of(model, x).softmax(0)
    result = grad_cam(model, x)
    ref = probs.topk(5)
    assert result.class_index == int(ref.indices[0])
    assert [i for i, _ in result.top] == ref.indices.tolist()
    np.testing.assert_allclose([p for _, p in result.top], ref.values.numpy(), rtol=1e-5)
    assert result.class_prob == pytest.approx(float(ref.values[0]), rel=1e-5)


def test_classes_and_stages_give_different_maps(model, x):
    top = logits_of(model, x).topk(2).indices.tolist()
    first, second = (grad_cam(model, x, class_index=c).heatmap for c in top)
    assert not np.allclose(first, second)
    assert not np.allclose(grad_cam(model, x, stage=3).heatmap, first)


def test_leaves_the_model_untouched_and_works_under_inference_mode(model):
    model = copy.deepcopy(model)  # this test changes it
    model.train()
    model.set_normalization("batch", ["stem"])
    x = torch.randn(3, SIZE, SIZE, generator=torch.Generator().manual_seed(9))
    with torch.inference_mode():
        inside = grad_cam(model, x, stage=4)
    assert model.training and model.bn1.mode == "batch"
    assert all(p.grad is None for p in model.parameters())
    assert all(not m._forward_hooks for m in model.modules())
    model.eval()
    model.set_normalization("standard")
    ref = direct_grad_cam(model, x, 4, inside.class_index)
    np.testing.assert_allclose(inside.heatmap, ref.numpy(), atol=2e-5)


def test_frozen_parameters_still_give_the_same_map(model, x):
    expected = grad_cam(model, x, stage=3).heatmap
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        np.testing.assert_array_equal(grad_cam(model, x, stage=3).heatmap, expected)
    finally:
        for p in model.parameters():
            p.requires_grad_(True)


def test_no_positive_evidence_gives_zeros(model):
    model = copy.deepcopy(model)  # this test changes it
    with torch.no_grad():
        model.fc.weight.zero_()  # every gradient is zero: nothing to localise
    result = grad_cam(model, torch.zeros(3, 32, 32))
    assert isinstance(result, GradCam)
    assert not result.heatmap.any() and np.isfinite(result.heatmap).all()


@pytest.mark.parametrize("stage", [0, 6, -1])
def test_refuses_unknown_stage(model, x, stage):
    with pytest.raises(ValueError, match=r"stage must be 1\.\.5"):
        grad_cam(model, x, stage=stage)


@pytest.mark.parametrize("c", [-1, 1000])
def test_refuses_class_out_of_range(model, x, c):
    with pytest.raises(ValueError, match=r"class index must be 0\.\.999"):
        grad_cam(model, x, class_index=c)


def test_refuses_a_batch(model):
    with pytest.raises(ValueError, match="one image"):
        grad_cam(model, torch.zeros(2, 3, 32, 32))


def block_mass(model: ResNet50, x: torch.Tensor, block: str, c: int) -> float:
    """Reference for one block: its own forward with a hook that keeps only that block's output, the
    class score differentiated with respect to it, then eq. 1-2 of Selvaraju et al. summed over positions."""
    kept = []
    handle = block_modules(model)[block].register_forward_hook(lambda _m, _i, out: kept.append(out))
    try:
        logits = model(x.unsqueeze(0).requires_grad_(True))
    finally:
        handle.remove()
    (a,) = kept
    (g,) = torch.autograd.grad(logits[0, c], a)
    alpha = g[0].mean(dim=(1, 2))  # (C,)
    return float(torch.einsum("c,chw->hw", alpha.double(), a[0].detach().double()).clamp(min=0).sum())


def test_cam_masses_equal_one_autograd_grad_per_block(model):
    x = torch.randn(3, 32, 32, generator=torch.Generator().manual_seed(10))
    top = logits_of(model, x).topk(5).indices.tolist()
    assert cam_mass_shares(model, x).class_index == top[0]  # the default class
    c = top[2]
    result = cam_mass_shares(model, x, c)
    assert isinstance(result, CamShares) and result.class_index == c
    assert result.class_prob == pytest.approx(float(logits_of(model, x).softmax(0)[c]), rel=1e-5)
    names = list(block_modules(model))
    assert list(result.masses) == names and list(result.shares) == names and len(names) == 17
    expected = {name: block_mass(model, x, name, c) for name in names}
    assert all(p.grad is None for p in model.parameters())  # neither side writes a parameter gradient
    assert result.masses == pytest.approx(expected, rel=1e-4, abs=1e-6)
    assert sum(expected.values()) > 0 and len(set(result.masses.values())) > 1
    assert sum(result.shares.values()) == pytest.approx(1.0)
    total = sum(expected.values())
    assert result.shares == pytest.approx({name: m / total for name, m in expected.items()}, rel=1e-4, abs=1e-6)


def test_cam_shares_leave_the_model_untouched(model):
    model = copy.deepcopy(model)  # this test changes it
    model.train()
    model.set_normalization("batch", ["stem"])
    model.set_shortcuts(False, ["layer2.1"])
    switches, state = model.switches(), copy.deepcopy(model.state_dict())
    x = torch.randn(3, 32, 32, generator=torch.Generator().manual_seed(11))
    with torch.inference_mode():
        inside = cam_mass_shares(model, x)
    assert model.training and model.bn1.mode == "batch" and model.switches() == switches
    assert all(p.grad is None for p in model.parameters())
    assert all(not m._forward_hooks for m in model.modules())
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    model.eval()
    model.set_normalization("standard")
    assert inside.masses["layer2.2"] == pytest.approx(block_mass(model, x, "layer2.2", inside.class_index), rel=1e-4)


def test_cam_shares_without_positive_evidence_are_zero(model):
    model = copy.deepcopy(model)  # this test changes it
    with torch.no_grad():
        model.fc.weight.zero_()
    result = cam_mass_shares(model, torch.zeros(3, 32, 32))
    assert set(result.masses.values()) == {0.0} and set(result.shares.values()) == {0.0}


@pytest.mark.parametrize("c", [-1, 1000])
def test_cam_shares_refuse_a_class_out_of_range(model, x, c):
    with pytest.raises(ValueError, match=r"class index must be 0\.\.999"):
        cam_mass_shares(model, x, class_index=c)


def test_cam_shares_refuse_a_batch(model):
    with pytest.raises(ValueError, match="one image"):
        cam_mass_shares(model, torch.zeros(2, 3, 32, 32))


def jet_closed_form(v: np.ndarray) -> np.ndarray:
    """matplotlib's jet written as its usual clipped-ramp formula."""
    r = np.clip(np.minimum(4 * v - 1.5, -4 * v + 4.5), 0, 1)
    g = np.clip(np.minimum(4 * v - 0.5, -4 * v + 3.5), 0, 1)
    b = np.clip(np.minimum(4 * v + 0.5, -4 * v + 2.5), 0, 1)
    return np.stack([r, g, b], axis=-1) * 255


def test_jet_equals_its_closed_form():
    v = np.linspace(0, 1, 257)
    np.testing.assert_allclose(colorize(v, "jet").astype(float), jet_closed_form(v), atol=0.51)


@pytest.mark.parametrize("name", COLORMAPS)
def test_colour_maps_clip_and_keep_shape(name):
    v = np.array([[-1.0, 0.0], [1.0, 7.0]])
    rgb = colorize(v, name)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    assert (rgb[0, 0] == rgb[0, 1]).all() and (rgb[1, 0] == rgb[1, 1]).all()
    assert not (rgb[0, 0] == rgb[1, 0]).all()


def test_gray_is_the_identity_ramp():
    v = np.linspace(0, 1, 11)
    np.testing.assert_array_equal(colorize(v, "gray")[:, 0], np.round(v * 255).astype(np.uint8))


def test_unknown_colour_map_is_refused():
    with pytest.raises(ValueError, match="unknown colour map 'rainbow'"):
        colorize(np.zeros(3), "rainbow")


def test_overlay_blends_linearly():
    img = Image.fromarray(np.full((8, 8, 3), 200, np.uint8))
    heat = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    colour = colorize(heat).astype(float)
    assert (np.asarray(overlay(img, heat, opacity=0.0)) == 200).all()
    np.testing.assert_array_equal(np.asarray(overlay(img, heat, opacity=1.0)), colour)
    half = np.asarray(overlay(img, heat, opacity=0.25, colormap="jet")).astype(float)
    np.testing.assert_allclose(half, 0.75 * 200 + 0.25 * colour, atol=0.51)


def test_overlay_resizes_the_heat_map_and_converts_modes():
    img = Image.new("L", (40, 20), 10)
    out = overlay(img, np.ones((5, 10), np.float32), opacity=1.0, colormap="gray")
    assert out.mode == "RGB" and out.size == (40, 20)
    assert (np.asarray(out) == 255).all()


@pytest.mark.parametrize("opacity", [-0.1, 1.5])
def test_overlay_refuses_opacity_outside_0_1(opacity):
    with pytest.raises(ValueError, match="opacity"):
        overlay(Image.new("RGB", (4, 4)), np.zeros((4, 4)), opacity=opacity)


def test_overlay_refuses_a_non_2d_heat_map():
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        overlay(Image.new("RGB", (4, 4)), np.zeros((1, 4, 4)))


def test_network_view_is_torchvisions_resize_and_crop():
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 256, (90, 130, 3), dtype=np.uint8))
    ref = torchvision.transforms.Compose([torchvision.transforms.Resize(70), torchvision.transforms.CenterCrop(64)])(photo)
    view = network_view(preprocess(photo, resize=70, crop=64))
    assert view.mode == "RGB" and view.size == (64, 64)
    np.testing.assert_array_equal(np.asarray(view), np.asarray(ref))
