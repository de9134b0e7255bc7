"""Activation capture against torchvision's resnet50 with the same weights (hooks on its blocks),
channel ranking against torch.topk, and the per-image cache."""

import copy
import itertools

import numpy as np
import pytest
import torch
import torchvision

from explorer.core.insight.activations import (
    ActivationCache,
    block_modules,
    capture_activations,
    image_key,
    inference_semantics,
    top_channels,
)
from explorer.core.network.blocks import feature_blocks
from explorer.core.network.model import ResNet50
from support import lively_model


@pytest.fixture(scope="module")
def model():
    return lively_model()


def image(seed: int, size: int = 64) -> torch.Tensor:
    return torch.randn(3, size, size, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def reference(model):
    """An image and the reference block outputs for it."""
    x = image(1)
    return x, torchvision_block_outputs(model, x)


def torchvision_block_outputs(model: ResNet50, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Reference: torchvision's resnet50 with our weights, block outputs taken by its own hooks."""
    ref = torchvision.models.resnet50()
    ref.load_state_dict(model.state_dict())
    ref.eval()
    modules = {"stem": ref.maxpool}
    for stage in ("layer1", "layer2", "layer3", "layer4"):
        for i, block in enumerate(getattr(ref, stage)):
            modules[f"{stage}.{i}"] = block
    out = {}
    for name, m in modules.items():
        m.register_forward_hook(lambda _m, _i, o, name=name: out.__setitem__(name, o[0]))
    with torch.no_grad():
        ref(x.unsqueeze(0))
    return out


def test_block_names_are_stem_then_the_16_blocks(model):
    names = list(block_modules(model))
    assert names == ["stem", *model.blocks()] == list(feature_blocks())
    assert len(names) == 17 and names[1] == "layer1.0" and names[-1] == "layer4.2"


def test_captured_maps_equal_torchvision_block_outputs(model, reference):
    x, ref = reference
    ours = capture_activations(model, x)
    assert list(ours) == list(ref)
    for name, r in ref.items():
        assert isinstance(ours[name], np.ndarray) and ours[name].dtype == np.float32
        assert ours[name].shape == tuple(r.shape), name
        np.testing.assert_allclose(ours[name], r.numpy(), rtol=1e-4, atol=1e-4, err_msg=name)
    assert ours["stem"].shape == (64, 16, 16) and ours["layer4.2"].shape == (2048, 2, 2)


def test_capture_uses_inference_semantics_and_restores_the_model(model):
    model = copy.deepcopy(model)  # this test changes its flags and modes
    model.train()
    model.set_normalization("batch", ["layer2.1"])
    x = image(2)
    with inference_semantics(model):
        expected = capture_activations(model, x)
        eval_logits = model(x.unsqueeze(0))
    maps = capture_activations(model, x)
    # Eval mode with running statistics, whatever the model's own flags ...
    for name in expected:
        np.testing.assert_array_equal(maps[name], expected[name])
    # ... which come back afterwards, and no hook stays behind.
    assert model.training and model.layer2[1].bn1.mode == "batch" and model.layer2[0].bn1.mode == "standard"
    assert all(not m._forward_hooks for m in model.modules())
    with torch.no_grad():
        assert not torch.allclose(model(x.unsqueeze(0)), eval_logits)  # train-mode BN really differs


def test_top_channels_sorted_by_mean_like_torch_topk(model):
    act = capture_activations(model, image(3))["layer3.1"]
    best = top_channels(act, k=10)
    means = torch.from_numpy(act).double().mean(dim=(1, 2))
    ref = torch.topk(means, 10)
    assert [c.channel for c in best] == ref.indices.tolist()
    np.testing.assert_allclose([c.mean for c in best], ref.values.numpy(), rtol=1e-9)
    for c in best:
        np.testing.assert_array_equal(c.map, act[c.channel])
    assert all(a.mean >= b.mean for a, b in itertools.pairwise(best))


def test_top_channels_ties_keep_channel_order_and_k_is_capped():
    act = np.zeros((5, 2, 2), np.float32)
    act[3] = 1.0
    assert [c.channel for c in top_channels(act, k=10)] == [3, 0, 1, 2, 4]


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.float32), np.zeros((1, 2, 3, 4), np.float32)])
def test_top_channels_refuses_non_chw(bad):
    with pytest.raises(ValueError, match="C, H, W"):
        top_channels(bad)


def test_top_channels_refuses_k_below_one():
    with pytest.raises(ValueError, match="k must be"):
        top_channels(np.zeros((2, 2, 2), np.float32), k=0)


def test_cache_runs_one_forward_per_image_and_evicts_the_oldest(model):
    cache = ActivationCache(model, max_images=2)
    a, b, c = image(10), image(11), image(12)
    first = cache.top_channels(a, "layer1.0", k=4)
    for block in block_modules(model):  # browsing every block of the same image: no new forward
        cache.top_channels(a, block, k=4)
    assert cache.forwards == 1
    assert [m.channel for m in cache.top_channels(a.clone(), "layer1.0", k=4)] == [m.channel for m in first]
    assert cache.forwards == 1  # equal pixels, equal key
    cache.activations(b)
    cache.activations(a)  # a becomes the most recent; b is now the oldest
    cache.activations(c)
    assert cache.forwards == 3 and len(cache) == 2
    cache.activations(a)
    assert cache.forwards == 3
    cache.activations(b)
    assert cache.forwards == 4
    cache.clear()
    assert len(cache) == 0


def test_cache_key_overrides_the_hash(model):
    cache = ActivationCache(model)
    cache.activations(image(20), key="photo.jpg")
    cache.activations(image(21), key="photo.jpg")
    assert cache.forwards == 1
    assert image_key(image(20)) != image_key(image(21))


def test_cache_norms_equal_the_reference_norms(model, reference):
    x, ref = reference
    norms = ActivationCache(model).norms(x)
    for name, r in ref.items():
        assert norms[name] == pytest.approx(torch.linalg.vector_norm(r.double()).item(), rel=1e-4)


def test_cache_refuses_unknown_blocks_bad_images_and_sizes(model):
    cache = ActivationCache(model)
    with pytest.raises(KeyError, match=r"layer5\.0"):
        cache.top_channels(image(5), "layer5.0")
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        cache.activations(torch.zeros(2, 3, 32, 32))
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        cache.activations(torch.zeros(1, 32, 32))
    with pytest.raises(ValueError, match="max_images"):
        ActivationCache(model, max_images=0)
